#!/bin/bash
# The database path of a replicated database: server CPU per request for a page that reads
# the database, through the web node's local HAProxy and the primary's PgBouncer (what
# three db hosts get) against the direct connection one db host gets (TLS to the server
# itself), side by side in one run, on the same hosts. Hosts of this script's own
# (ntier-bdb-*: a web node with the cache and the files, three database hosts), deployed
# with site.yml, then benchmarks/dbpool.py. CPU is summed over all four hosts. Writes
# results/dbpool.{md,json}. About 8 minutes; the hosts are removed at the end (KEEP=1
# keeps them; "benchmarks/dbpool.sh down" removes kept ones). wrk is bounded (12 s per
# case) and targets only the hosts started here.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
NET=ntier-bdb
P=ntier-bdb
HOSTS="$P-web1 $P-db1 $P-db2 $P-db3"
STATE=$TOP/.cache/bdb
SUITE=${NTIER_SUITE:-bookworm}
cd "$TOP"
mkdir -p "$OUT"

. "$TOP/benchmarks/hosts.sh"
start --wrk "$@"
cat >> "$STATE/group_vars/all.yml" <<VARS
ntier_projects:
  - {name: demo, source: "$TOP/demo/project", settings_module: demosite.settings.production, wsgi_module: demosite.wsgi, server_names: [demo.example.test]}
VARS
cat > "$STATE/hosts.yml" <<INV
all:
  children:
    web: {hosts: {$P-web1: }}
    cache: {hosts: {$P-web1: }}
    media: {hosts: {$P-web1: }}
    db:
      hosts:
        $P-db1:
        $P-db2:
        $P-db3:
INV
echo "== site.yml (a web node, three database hosts)"
ansible-playbook -i "$STATE/hosts.yml" site.yml > "$STATE/site.log" 2>&1 || { tail -40 "$STATE/site.log"; exit 1; }
args=()
for h in $HOSTS; do args+=(--container "$h"); done
python benchmarks/dbpool.py "${args[@]}" --app-container "$P-web1" --project demo --out "$OUT"
echo "results in $OUT"
