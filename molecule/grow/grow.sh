#!/bin/bash
# The grow scenario's steps: for each stage inventory (stages/), run site.yml while a
# client polls the site (reads and writes, bounded), run it again and require changed=0,
# run it in --check --diff mode (must not fail) while the shared checks and the grow checks
# (earlier rows and uploads survive) run.
# The first step is also the single-host scenario on a bare image: the project arrives as
# a release archive (.tar.gz), and before its checks a second release (a changed
# stylesheet) is deployed with site.yml, which every later step keeps serving: the checks
# require its stylesheet, the previous release kept beside it, and the certificate names.
# Standalone: NTIER_STATE=/tmp/x NTIER_GROW_STAGES="1-single 2-split-db" bash grow.sh
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$DIR/../.." && pwd)
STAGES=${NTIER_GROW_STAGES:-"1-single 2-split-db 3-media 4-balanced 5-scale-out 6-scale-in"}
export NTIER_TOP=$TOP NTIER_STATE=${NTIER_STATE:-$TOP/.cache/grow}
# plain logs (Molecule forces colours on): the recap lines are parsed below; each log ends
# with its slowest tasks (profile_tasks)
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export ANSIBLE_COLLECTIONS_PATH=$TOP/collections ANSIBLE_PIPELINING=1 ANSIBLE_FORKS=10 ANSIBLE_NOCOLOR=1 \
  ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s" ANSIBLE_INTERPRETER_PYTHON=auto_silent \
  ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_HOST_KEY_CHECKING=False \
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
mkdir -p "$NTIER_STATE/inventory/host_vars"
summary=() done_stages=()
# Each stage's inventory as a real one looks: every host with its address written down
# (a templated ansible_host would follow inventory_hostname into delegated tasks).
cp -r "$DIR/stages/group_vars" "$NTIER_STATE/inventory/"
# the first release: a release archive of the demo project; the second: a directory
tar -C "$TOP/demo/project" --exclude=__pycache__ -czf "$NTIER_STATE/demo-1.tar.gz" .
rm -rf "$NTIER_STATE/demo-2"; cp -r "$TOP/demo/project" "$NTIER_STATE/demo-2"
echo "/* second release */" >> "$NTIER_STATE/demo-2/notes/static/notes/style.css"
# ... a git work tree, with what a developer's checkout holds and its VCS ignores: none of
# it may reach the hosts (test_stack)
printf '.env\n*.sqlite3\n/media/\n' > "$NTIER_STATE/demo-2/.gitignore"
echo "DJANGO_SECRET_KEY=a-developer-s-own" > "$NTIER_STATE/demo-2/.env"
echo "local data" > "$NTIER_STATE/demo-2/db.sqlite3"
mkdir -p "$NTIER_STATE/demo-2/media"; echo "a local upload" > "$NTIER_STATE/demo-2/media/local.txt"
git -C "$NTIER_STATE/demo-2" init -q
export NTIER_SOURCE=$NTIER_STATE/demo-1.tar.gz NTIER_CERT_NAMES="demo.example.test 192.0.2.10"
for host in $(sed -n 's/^ *- name: \(ntier-grow-[a-z0-9]*\)$/\1/p' "$DIR/molecule.yml"); do
  printf 'ansible_host: %s\n' "$("$TOP/tools/podman-ip.sh" "$host")" > "$NTIER_STATE/inventory/host_vars/$host.yml"
done

for stage in $STAGES; do
  inv=$NTIER_STATE/inventory/$stage.yml
  cp "$DIR/stages/$stage.yml" "$inv"
  log=$NTIER_STATE/$stage
  if [ "$stage" = 2-split-db ]; then
    # A run that fails after the database moved and before any web node used the new copy
    # (a requirement pip cannot find): the old database must take writes again, the move
    # be forgotten, and the next run move it again with what was written meanwhile.
    echo "=== $stage: a run that fails after the database moved"
    rm -rf "$NTIER_STATE/demo-broken"; cp -r "$NTIER_SOURCE" "$NTIER_STATE/demo-broken"
    echo "./vendor/not-there-1.0-py3-none-any.whl" >> "$NTIER_STATE/demo-broken/requirements.txt"
    if NTIER_SOURCE=$NTIER_STATE/demo-broken ansible-playbook -i "$inv" "$TOP/site.yml" > "$log.failed.log" 2>&1; then
      echo "=== $stage: the run with a broken requirement did not fail"; exit 1
    fi
    NTIER_INVENTORY=$inv NTIER_STAGE=$stage NTIER_FAILED_RUN=1 NTIER_SECRETS_DIR=$NTIER_STATE/secrets \
      NTIER_EARLIER_STAGES="${done_stages[*]}" python3 -m pytest -q -rs -p no:cacheprovider \
      "$TOP/tests/integration/test_grow.py" -k after_the_move > "$log.failed.verify.log" 2>&1 || {
        tail -30 "$log.failed.log"; cat "$log.failed.verify.log"; echo "=== $stage: after the failed run FAILED"; exit 1; }
    cat "$log.failed.verify.log"
    summary+=("$stage: after a run that failed once the database moved: $(tail -1 "$log.failed.verify.log" | tr -d '=' | xargs)")
  fi
  echo "=== $stage: converge"
  poller=
  # once an earlier step has seeded the site, a client polls it during the run
  [ ! -f "$NTIER_STATE/seeded.json" ] || { python3 "$TOP/tests/grow/poll.py" "$inv" "$log.poll.json" & poller=$!; }
  # what HAProxy drains meanwhile (test_grow: a node that leaves is drained first)
  bash "$TOP/tests/lb/watch.sh" start ntier-grow-lb1 "$log.drained"
  if ! ansible-playbook -i "$inv" "$TOP/site.yml" > "$log.converge.log" 2>&1; then
    [ -z "$poller" ] || kill "$poller" 2>/dev/null || true
    bash "$TOP/tests/lb/watch.sh" stop ntier-grow-lb1 "$log.drained"
    tail -60 "$log.converge.log"; echo "=== $stage: converge FAILED"; exit 1
  fi
  bash "$TOP/tests/lb/watch.sh" stop ntier-grow-lb1 "$log.drained"
  [ -z "$poller" ] || { kill -INT "$poller" 2>/dev/null || true; wait "$poller" || true; }
  echo "=== $stage: idempotence"
  ansible-playbook -i "$inv" "$TOP/site.yml" > "$log.idempotence.log" 2>&1 || { tail -40 "$log.idempotence.log"; exit 1; }
  # every host of the recap must say changed=0 (and there must be a recap)
  recap=$(sed 's/\x1b\[[0-9;]*m//g' "$log.idempotence.log" | grep -E '^\S+\s+: ok=' || true)
  if [ -z "$recap" ] || grep -vq 'changed=0 ' <<<"$recap"; then
    grep -B3 -E '^changed:' "$log.idempotence.log" | head -60
    echo "$recap"
    echo "=== $stage: second run changed something (or no recap)"; exit 1
  fi
  if [ "$NTIER_SOURCE" != "$NTIER_STATE/demo-2" ]; then
    echo "=== $stage: a second release"
    export NTIER_SOURCE=$NTIER_STATE/demo-2 NTIER_STATIC_MARKER="second release"
    ansible-playbook -i "$inv" "$TOP/site.yml" > "$log.release2.log" 2>&1 || { tail -60 "$log.release2.log"; exit 1; }
  fi
  # The --check --diff run and the checks side by side: the check-mode run changes nothing
  # and both spend most of their time waiting on the hosts (about 20 s saved per step).
  echo "=== $stage: check mode, and verify"
  ansible-playbook --check --diff -i "$inv" "$TOP/site.yml" > "$log.check.log" 2>&1 &
  checker=$!
  verified=0
  # testssl.sh against the public endpoint: on one server (nginx) and behind HAProxy
  tls_scan=; case $stage in 1-single|4-balanced) tls_scan=1;; esac
  export NTIER_TLS_SCAN=$tls_scan NTIER_INVENTORY=$inv NTIER_STAGE=$stage NTIER_POLL=$log.poll.json \
    NTIER_SECRETS_DIR=$NTIER_STATE/secrets NTIER_EARLIER_STAGES="${done_stages[*]}" NTIER_DRAINED=$log.drained
  # the checks that stop a service or a host (the firewall table, PostgreSQL, the media
  # host) run at the balanced step only, after the check-mode run (they would fail it)
  NTIER_QUICK=1 python3 -m pytest -q -rs -p no:cacheprovider "$TOP/tests/integration/test_stack.py" "$TOP/tests/integration/test_grow.py" \
    > "$log.verify.log" 2>&1 || verified=$?
  wait "$checker" || { tail -40 "$log.check.log"; echo "=== $stage: check mode FAILED"; exit 1; }
  cat "$log.verify.log"
  [ "$verified" -eq 0 ] || { echo "=== $stage: verify FAILED"; exit 1; }
  # which checks ran at this step (pytest's last line: passed, skipped)
  summary+=("$stage: checks $(tail -1 "$log.verify.log" | tr -d '=' | xargs)")
  if [ "$stage" = 4-balanced ]; then
    NTIER_HEAVY_ONLY=1 python3 -m pytest -q -rs -p no:cacheprovider "$TOP/tests/integration/test_stack.py" \
      > "$log.heavy.log" 2>&1 || verified=$?
    cat "$log.heavy.log"
    [ "$verified" -eq 0 ] || { echo "=== $stage: verify (services and hosts down) FAILED"; exit 1; }
    summary+=("$stage: checks with services and hosts down $(tail -1 "$log.heavy.log" | tr -d '=' | xargs)")
  fi
  done_stages+=("$stage")
  [ -z "$poller" ] || summary+=("$stage: $(python3 "$TOP/tests/grow/poll.py" --report "$log.poll.json")")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
