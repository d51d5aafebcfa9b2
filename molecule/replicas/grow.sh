#!/bin/bash
# The replicas scenario's converge: a running split-db deployment (the first database host
# only) grows in place into the Patroni cluster of all three, under a polling client.
#   1. site.yml with the first db host alone in 'db' (the scenario's other groups as they
#      are); a client writes notes through the site for a while; the rows are counted and
#      summed on that host;
#   2. site.yml with the scenario's own inventory (three db hosts) while the client polls;
#      what it saw is printed (the write outage), the rows are checked on every member by
#      test_replicas (NTIER_GROWN: this script's record);
#   3. the same run again must change nothing; a higher max_connections reaches every
#      member (Patroni keeps it in etcd), and changes nothing the second time; a --check
#      --diff run must pass.
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$DIR/../.." && pwd)
INV=$MOLECULE_EPHEMERAL_DIRECTORY/inventory
STATE=$MOLECULE_EPHEMERAL_DIRECTORY/grow
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0 NTIER_STATE=$STATE
rm -rf "$STATE"; mkdir -p "$STATE/split"
# the split-db inventory: Molecule's own variables, the first db host alone in 'db'
ln -s "$INV/group_vars" "$STATE/split/group_vars"
ln -s "$INV/host_vars" "$STATE/split/host_vars"
ansible-inventory -i "$INV" --list | python3 -c '
import json, sys
groups = json.load(sys.stdin)
tiers = {t: groups.get(t, {}).get("hosts", []) for t in ("web", "cache", "media", "db", "lb")}
tiers["db"] = tiers["db"][:1]
print(json.dumps({"all": {"children": {t: {"hosts": {h: None for h in hosts}} for t, hosts in tiers.items() if hosts}}}))
' > "$STATE/split/hosts.yml"
db1=$(python3 -c 'import json,sys; print(next(iter(json.load(open(sys.argv[1]))["all"]["children"]["db"]["hosts"])))' "$STATE/split/hosts.yml")
run() {  # run NAME INVENTORY [ARGS]: site.yml, its log kept, its end shown when it fails
  local name=$1 inv=$2; shift 2
  ansible-playbook -i "$inv" "$TOP/playbooks/site.yml" "$@" > "$STATE/$name.log" 2>&1 || {
    tail -60 "$STATE/$name.log"; echo "=== $name FAILED"; exit 1; }
}
rows() {  # the notes so far on a host: count and checksum up to the highest id
  ansible "$1" -i "$INV" -o -m ansible.builtin.command -a "runuser -u postgres -- psql -d demo -tAc \"SELECT json_build_object('max_id', max(id), 'count', count(*), 'sum', md5(string_agg(id || ':' || text, ',' ORDER BY id))) FROM notes_note\"" \
    | sed -n 's/.*(stdout) //p'
}

echo "=== split-db: site.yml with $db1 alone in 'db'"
run split "$STATE/split"
python3 "$TOP/tests/grow/poll.py" "$STATE/split" "$STATE/seed.poll.json" & poller=$!
sleep 15; kill -INT "$poller"; wait "$poller" || true
rows "$db1" > "$STATE/before.json"
echo "rows on $db1 before the cluster: $(cat "$STATE/before.json")"

echo "=== grow: site.yml with every db host (the cluster), a client polling"
python3 "$TOP/tests/grow/poll.py" "$INV" "$STATE/grow.poll.json" & poller=$!
run grow "$INV"
kill -INT "$poller"; wait "$poller" || true
echo "client during the growth: $(python3 "$TOP/tests/grow/poll.py" --report "$STATE/grow.poll.json")"

echo "=== idempotence"
run idempotence "$INV"
recap=$(grep -E '^\S+\s+: ok=' "$STATE/idempotence.log" || true)
if [ -z "$recap" ] || grep -vq 'changed=0 ' <<<"$recap"; then
  grep -B3 -E '^changed:' "$STATE/idempotence.log" | head -60; echo "$recap"
  echo "=== the second run changed something (or no recap)"; exit 1
fi
echo "=== max_connections of the running cluster"
# Patroni keeps it in etcd: a new value (what more web nodes would need) reaches every member
db=$(ansible-inventory -i "$INV" --list | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["db"]["hosts"]))')
shown() { ansible "$1" -i "$INV" -o -m ansible.builtin.command -a "runuser -u postgres -- psql -tAc 'SHOW max_connections'" | sed -n 's/.*(stdout) //p'; }
more=$(( $(shown "$db1") + 10 ))
run max-connections "$INV" -e ntier_db_max_connections=$more
for h in $db; do
  [ "$(shown "$h")" = "$more" ] || { echo "=== $h: max_connections $(shown "$h"), not $more"; exit 1; }
done
run max-connections-again "$INV" -e ntier_db_max_connections=$more
recap=$(grep -E '^\S+\s+: ok=' "$STATE/max-connections-again.log" || true)
[ -n "$recap" ] && ! grep -vq 'changed=0 ' <<<"$recap" || { echo "$recap"; echo "=== the second run with it changed something"; exit 1; }
echo "max_connections: $more on every member"
echo "=== check mode"
run check "$INV" --check --diff -e ntier_db_max_connections=$more
echo "=== grown"
