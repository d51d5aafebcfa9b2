#!/bin/bash
# The deploy scenario's steps on the balanced topology (a load balancer, two web nodes, a
# data host with the database, cache and media store). site.yml deploys v1; then, with a
# client polling the site through the load balancer during each run (bounded: poll.py):
#   1 deploy v2 (new static file, new migration)   zero failed requests, every node on v2
#   2 deploy v2 again                              changed=0, no process restarted
#   3 rollback                                     zero failed requests, every node on v1
#   4 deploy a release that cannot boot            stops at the canary, zero failed
#                                                  requests, every node on v1
#   5 bad input: a missing source, a failing migration, a release name reused for other
#     code, a requirement the hosts' Python cannot install: each stops before any switch,
#     says why, every node still on v1
#   6 SECRET_KEY rotation                          zero failed requests, the session survives
#   7 a certificate of the user's own, then its    zero failed requests, HAProxy serves
#     renewal (a new key too), with site.yml       each; the key is root's alone, in no log
# Standalone: NTIER_STATE=/tmp/x bash molecule/deploy/deploy.sh
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$DIR/../.." && pwd)
export NTIER_TOP=$TOP NTIER_STATE=${NTIER_STATE:-$TOP/.cache/deploy}
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export ANSIBLE_COLLECTIONS_PATH=$TOP/collections ANSIBLE_PIPELINING=1 ANSIBLE_FORKS=10 ANSIBLE_NOCOLOR=1 \
  ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s" ANSIBLE_INTERPRETER_PYTHON=auto_silent \
  ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_HOST_KEY_CHECKING=False
inv=$NTIER_STATE/inventory/hosts.yml
mkdir -p "$NTIER_STATE/inventory/host_vars"
cp "$DIR/inventory.yml" "$inv"
for host in $(sed -n 's/^ *- name: \(ntier-deploy-[a-z0-9]*\)$/\1/p' "$DIR/molecule.yml"); do
  printf 'ansible_host: %s\n' "$("$TOP/tools/podman-ip.sh" "$host")" > "$NTIER_STATE/inventory/host_vars/$host.yml"
done
bash "$TOP/tests/deploy/versions.sh" "$NTIER_STATE/versions"
summary=() failures=0
fail() { echo "=== FAILED: $*"; failures=$((failures + 1)); }

# What every web node's processes run: "host release" lines (its own health endpoint).
releases() {
  ansible web -i "$inv" -o 2>/dev/null -m ansible.builtin.command -a \
    "python3 -c 'import json,urllib.request as u; r=u.Request(\"http://127.0.0.1/-/health/\", headers={\"Host\": \"demo.example.test\"}); print(json.load(u.urlopen(r, timeout=5))[\"release\"])'" \
    | sed -n 's/^\(\S*\) | CHANGED | rc=0 | (stdout) \(\S*\)$/\1 \2/p' | sort
}
# Every web node answers with release $1 (and there are two of them).
on_release() {
  local got; got=$(releases)
  echo "$got"
  [ "$(grep -c " $1\$" <<<"$got")" -eq 2 ]
}
# Every web node is UP (not drained, health checks passing) in every site backend of the LB.
all_up() {
  local out
  out=$(python3 "$TOP/tests/lb/haproxy_state.py" status ntier-deploy-lb1)
  echo "$out" | grep -o 'ntier-deploy-web[0-9] [A-Z]*' | sort -u
  [ "$(grep -o 'ntier-deploy-web[0-9] UP' <<<"$out" | sort -u | wc -l)" -eq 2 ] && ! grep -q 'ntier-deploy-web[0-9] [^U]' <<<"$out"
}
links() { ansible web -i "$inv" -o 2>/dev/null -m ansible.builtin.command -a "readlink /srv/django/demo/current /srv/django/demo/previous" | sed 's/ | CHANGED | rc=0 | (stdout)//; s/\\n/ /g' | sort; }
pids() { ansible web -i "$inv" -o 2>/dev/null -m ansible.builtin.command -a "systemctl show -p MainPID --value gunicorn-demo.service" | sort; }
# What HAProxy drained during a run (tests/lb/watch.sh): "EPOCH site_demo/NODE" lines.
lb_watch() { bash "$TOP/tests/lb/watch.sh" "$1" ntier-deploy-lb1 "$NTIER_STATE/$2.drained"; }
drained() { grep -q " site_demo/$2\$" "$NTIER_STATE/$1.drained"; }
first_drain() { awk 'NR == 1 || $1 < t { t = $1 } END { print t }' "$NTIER_STATE/$1.drained"; }
psql_demo() { podman exec ntier-deploy-data1 runuser -u postgres -- psql -d demo -tA -F ' ' -c "$1"; }
recap_unchanged() {
  local recap; recap=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^\S+\s+: ok=' || true)
  [ -n "$recap" ] && ! grep -vq 'changed=0 ' <<<"$recap"
}
# run NAME PLAYBOOK [ARGS...]: the playbook with a client polling the site meanwhile;
# sets $rc and $took, and adds the client's numbers to the summary
run() {
  local name=$1 playbook=$2; shift 2
  local log=$NTIER_STATE/$name
  python3 "$TOP/tests/grow/poll.py" "$inv" "$log.poll.json" & local poller=$!
  sleep 2
  local start=$SECONDS
  rc=0; ansible-playbook -i "$inv" "$TOP/playbooks/$playbook" "$@" > "$log.log" 2>&1 || rc=$?
  took=$((SECONDS - start))
  kill -INT "$poller" 2>/dev/null || true; wait "$poller" || true
  local report; report=$(python3 "$TOP/tests/grow/poll.py" --report "$log.poll.json")
  summary+=("$name: rc=$rc in ${took} s; $report")
  echo "=== $name: rc=$rc in ${took} s; $report"
  python3 "$TOP/tests/grow/poll.py" --check "$log.poll.json" || fail "$name: the client saw failed requests"
}

echo "=== 0: site.yml deploys v1"
ansible-playbook -i "$inv" "$TOP/site.yml" > "$NTIER_STATE/0-site.log" 2>&1 || { tail -60 "$NTIER_STATE/0-site.log"; exit 1; }
v1=$(releases | awk 'NR == 1 { print $2 }')
on_release "$v1" || { echo "=== nodes not on one release after site.yml"; exit 1; }
css1=$(python3 "$TOP/tests/deploy/client.py" "$inv" stylesheet)
echo "v1 is $v1 (stylesheet $css1)"
all_up || { echo "=== web nodes not UP in HAProxy after site.yml"; exit 1; }

echo "=== 1: deploy v2"
lb_watch start 1-deploy
run 1-deploy deploy.yml -e ntier_test_source="$NTIER_STATE/versions/v2"
lb_watch stop 1-deploy
[ "$rc" -eq 0 ] || { tail -60 "$NTIER_STATE/1-deploy.log"; exit 1; }
v2=$(releases | awk 'NR == 1 { print $2 }')
[ "$v2" != "$v1" ] && on_release "$v2" || fail "1: every node on a new release"
# v2's migration leaves a row each time it runs: it ran once, before the first node left
# the rotation to switch (HAProxy drained it)
read -r runs migrated < <(psql_demo "SELECT count(*), extract(epoch FROM min(created)) FROM notes_note WHERE text LIKE 'migration 0002 ran on %'")
echo "migration runs: $runs at $migrated; first drain at $(first_drain 1-deploy)"
[ "$runs" = 1 ] || fail "1: the migrations ran exactly once ($runs)"
awk -v m="$migrated" -v d="$(first_drain 1-deploy)" 'BEGIN { exit !(m != "" && d != "" && m < d) }' \
  || fail "1: the migrations ran before the first switch"
css2=$(python3 "$TOP/tests/deploy/client.py" "$inv" stylesheet)
[ "$css2" != "$css1" ] || fail "1: v2 links its new stylesheet ($css2)"
all_up || fail "1: every node back in rotation"
drained 1-deploy ntier-deploy-web1 && drained 1-deploy ntier-deploy-web2 || fail "1: HAProxy drained each node"

echo "=== 2: deploy v2 again"
before=$(pids)
ansible-playbook -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source="$NTIER_STATE/versions/v2" > "$NTIER_STATE/2-again.log" 2>&1 \
  || { tail -40 "$NTIER_STATE/2-again.log"; exit 1; }
recap_unchanged "$NTIER_STATE/2-again.log" || { grep -B3 '^changed:' "$NTIER_STATE/2-again.log" | head -40; fail "2: changed=0"; }
[ "$before" = "$(pids)" ] || fail "2: no process restarted ($before / $(pids))"
ansible-playbook --check --diff -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source="$NTIER_STATE/versions/v2" \
  > "$NTIER_STATE/2-check.log" 2>&1 || { tail -30 "$NTIER_STATE/2-check.log"; fail "2: --check --diff passes"; }

echo "=== 3: rollback"
run 3-rollback rollback.yml
[ "$rc" -eq 0 ] || { tail -60 "$NTIER_STATE/3-rollback.log"; exit 1; }
on_release "$v1" || fail "3: every node back on v1"
# v1's pages link v1's files again (each release keeps its own static manifest)
[ "$(python3 "$TOP/tests/deploy/client.py" "$inv" stylesheet)" = "$css1" ] || fail "3: v1 links its own stylesheet again"
[ "$(python3 "$TOP/tests/deploy/client.py" "$inv" get "$css1")" = 200 ] || fail "3: v1's stylesheet is served"
all_up || fail "3: every node back in rotation"
links3=$(links); echo "$links3"

echo "=== 4: deploy a release whose canary fails"
web2_pid=$(pids | grep ntier-deploy-web2 || true)
lb_watch start 4-canary
run 4-canary deploy.yml -e ntier_test_source="$NTIER_STATE/versions/broken" -e ntier_deploy_health_retries=3
lb_watch stop 4-canary
[ "$rc" -ne 0 ] || fail "4: the deploy failed"
grep -q 'The switch of ntier-deploy-web1 failed' "$NTIER_STATE/4-canary.log" || fail "4: the canary (web1) failed, and said so"
# the deploy stopped after the canary's batch: web2 never left the rotation, its processes
# were not restarted
drained 4-canary ntier-deploy-web1 || fail "4: the canary was drained"
! drained 4-canary ntier-deploy-web2 && [ "$(pids | grep ntier-deploy-web2 || true)" = "$web2_pid" ] && [ -n "$web2_pid" ] || fail "4: web2 was not touched"
on_release "$v1" || fail "4: every node still on v1"
all_up || fail "4: every node back in rotation (the canary too)"
# the canary went back to exactly what it ran: current and previous as before the deploy
[ "$(links)" = "$links3" ] || fail "4: current and previous as before ($(links))"

echo "=== 5: bad input"
rc=0; ansible-playbook -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source=/nonexistent/project > "$NTIER_STATE/5-source.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -qF "'/nonexistent/project' does not exist on the controller" "$NTIER_STATE/5-source.log" || fail "5: a missing source is refused"
rc=0; ansible-playbook -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source="$NTIER_STATE/versions/badmig" -e ntier_test_version=r1 \
  > "$NTIER_STATE/5-migration.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'this migration fails, on purpose' "$NTIER_STATE/5-migration.log" || fail "5: a failing migration stops the deploy"
rc=0; ansible-playbook -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source="$NTIER_STATE/versions/v2" -e ntier_test_version=r1 \
  > "$NTIER_STATE/5-reuse.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'already exists on ntier-deploy-web[12], *built from different code' "$NTIER_STATE/5-reuse.log" \
  || fail "5: a release name reused for other code is refused"
# (the yaml callback wraps long messages: whitespace runs are one space for these greps)
rc=0; ansible-playbook -i "$inv" "$TOP/playbooks/deploy.yml" -e ntier_test_source="$NTIER_STATE/versions/newpy" \
  > "$NTIER_STATE/5-python.log" 2>&1 || rc=$?
# (only the role's own message counts: pip's failure is in the log too)
python_msg=$(tr -s ' \n' '  ' < "$NTIER_STATE/5-python.log")
python_msg=${python_msg#*The virtualenv of project demo could not be built}
python_msg=${python_msg%%Nothing was switched.*}
[ "$rc" -ne 0 ] && grep -qiE 'requirement django(<7\.0,>=6\.0|>=6\.0,<7\.0)' <<<"$python_msg" \
  && grep -qF 'deploy to Debian 13 hosts' <<<"$python_msg" \
  || fail "5: a requirement the hosts' Python cannot install stops the build, naming it and the fix ($python_msg)"
on_release "$v1" || fail "5: every node still on v1"
# another secrets directory (another checkout, home or -i spelling) would hand the running
# site new passwords and keys: refused, naming both directories
rc=0; ansible-playbook -i "$inv" "$TOP/site.yml" -e ntier_secrets_dir="$NTIER_STATE/other-secrets" \
  > "$NTIER_STATE/5-secrets.log" 2>&1 || rc=$?
secrets_msg=$(tr -s ' \n' '  ' < "$NTIER_STATE/5-secrets.log")
[ "$rc" -ne 0 ] && grep -qF "ntier-deploy-data1 was deployed with the secrets in $NTIER_STATE/secrets on" <<<"$secrets_msg" \
  && grep -qF "but this run uses $NTIER_STATE/other-secrets" <<<"$secrets_msg" \
  || fail "5: a run with another deployment's secrets directory is refused"
# the data host rebuilt under the same name (here: its record gone, as after a reinstall):
# the ledger says it holds the database and the uploads, so the run refuses
fact=/etc/ansible/facts.d/ntier_django.fact
podman exec ntier-deploy-data1 mv "$fact" /root/ntier_django.fact.saved
rc=0; ansible-playbook -i "$inv" "$TOP/site.yml" > "$NTIER_STATE/5-rebuilt.log" 2>&1 || rc=$?
podman exec ntier-deploy-data1 mv /root/ntier_django.fact.saved "$fact"
rebuilt_msg=$(tr -s ' \n' '  ' < "$NTIER_STATE/5-rebuilt.log")
[ "$rc" -ne 0 ] && grep -qF "The database of the last deployment lives on ntier-deploy-data1, but ntier-deploy-data1 records none" <<<"$rebuilt_msg" \
  && grep -qF "ntier_data_empty_ok: [media]" <<<"$rebuilt_msg" \
  || fail "5: a data host that lost its data (its record) is refused"
! grep -q "changed=[1-9]" "$NTIER_STATE/5-rebuilt.log" || fail "5: the refused run changed nothing"

echo "=== 6: SECRET_KEY rotation"
cookies=$NTIER_STATE/6-cookies.txt
visits() { python3 "$TOP/tests/deploy/client.py" "$inv" visits "$cookies"; }
first=$(visits); echo "visits before: $first"
token=$(python3 "$TOP/tests/deploy/client.py" "$inv" sign)
[ "$(python3 "$TOP/tests/deploy/client.py" "$inv" check "$token-x")" = 400 ] || fail "6: a forged token is refused"
# the inventory points at other code meanwhile: a rotation must not ship it
run 6-rotate rotate-secret-key.yml -e ntier_test_source="$NTIER_STATE/versions/v2"
[ "$rc" -eq 0 ] || { tail -60 "$NTIER_STATE/6-rotate.log"; exit 1; }
after=$(visits); echo "visits after: $after"
[ "$after" -eq $((first + 1)) ] || fail "6: the session survived the rotation ($first then $after)"
# a token signed with the old key still checks (SECRET_KEY_FALLBACKS), a new one too
[ "$(python3 "$TOP/tests/deploy/client.py" "$inv" check "$token")" = 200 ] || fail "6: a token signed before the rotation still checks"
token2=$(python3 "$TOP/tests/deploy/client.py" "$inv" sign)
[ "$token2" != "$token" ] && [ "$(python3 "$TOP/tests/deploy/client.py" "$inv" check "$token2")" = 200 ] || fail "6: a new token checks"
# the nodes sign with the new key: every node's secrets file holds the controller's new key
key=$(cat "$NTIER_STATE/secrets/demo/secret_key")
ansible web -i "$inv" -o 2>/dev/null -m ansible.builtin.command -a "cat /srv/django/demo/config/secrets.json" --become > "$NTIER_STATE/6-secrets.out" || true
[ "$(grep -cF -- "\"secret_key\": \"$key\"" "$NTIER_STATE/6-secrets.out")" -eq 2 ] || fail "6: every node signs with the new key"
rm -f "$NTIER_STATE/6-secrets.out"
on_release "$v1" || fail "6: a rotation ships no code (every node still on v1)"
all_up || fail "6: every node back in rotation"
[ "${#key}" -ge 50 ] && ! grep -rqF -- "$key" "$NTIER_STATE"/*.log || fail "6: a new key, and not in any log"
grep -qF -- "$key" "$NTIER_STATE/secrets/demo/secret_key_fallbacks" && fail "6: the new key is not a fallback"
[ -s "$NTIER_STATE/secrets/demo/secret_key_fallbacks" ] || fail "6: the old key is kept as a fallback"

echo "=== 7: a certificate of the user's own, then its renewal"
lb=$(sed -n 's/^ansible_host: //p' "$NTIER_STATE/inventory/host_vars/ntier-deploy-lb1.yml")
served() { openssl s_client -connect "$lb:443" -servername demo.example.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256; }
selfsigned=$(served)
# the first run also changes a setting PostgreSQL reloads (work_mem), the second puts it
# back: neither restarts the server (only settings that need it restart it)
postmaster() { podman exec ntier-deploy-data1 sh -c 'head -1 /var/lib/postgresql/*/main/postmaster.pid'; }
pg_pid=$(postmaster)
for n in 1 2; do
  crt=$NTIER_STATE/own$n.crt key=$NTIER_STATE/own$n.key
  # as a user's CA would issue it: a key of its own, the site's name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=demo.example.test" \
    -addext "subjectAltName=DNS:demo.example.test" -keyout "$key" -out "$crt" 2>/dev/null
  settings=(); [ "$n" = 2 ] || settings=(-e '{"database_extra_settings": {"work_mem": "12MB"}}')
  run "7-certificate$n" site.yml -e ntier_test_certificate="$crt" -e ntier_test_certificate_key="$key" "${settings[@]}"
  [ "$rc" -eq 0 ] || { tail -60 "$NTIER_STATE/7-certificate$n.log"; exit 1; }
  want=12MB; [ "$n" = 1 ] || want=4MB
  [ "$(psql_demo 'SHOW work_mem')" = "$want" ] && [ "$(postmaster)" = "$pg_pid" ] \
    || fail "7: work_mem $want, applied by a reload, PostgreSQL not restarted ($(psql_demo 'SHOW work_mem'), pid $(postmaster) was $pg_pid)"
  got=$(served); echo "served: $got"
  [ -n "$got" ] && [ "$got" = "$(openssl x509 -in "$crt" -noout -fingerprint -sha256)" ] \
    && [ "$got" != "$selfsigned" ] || fail "7: HAProxy serves certificate $n"
  ! grep -rqF -- "$(sed -n 2p "$key")" "$NTIER_STATE"/*.log || fail "7: the key is in no log"
done
[ "$(ansible lb -i "$inv" -o 2>/dev/null -m ansible.builtin.command -a "stat -c '%U %a' /etc/ssl/ntier/demo.key" \
  | sed 's/.*(stdout) //')" = "root 600" ] || fail "7: the key on the load balancer is root's alone (0600)"
on_release "$v1" || fail "7: every node still on v1"
all_up || fail "7: every node back in rotation"

echo "=== summary"
printf '%s\n' "${summary[@]}"
[ "$failures" -eq 0 ] || { echo "=== $failures check(s) failed"; exit 1; }
