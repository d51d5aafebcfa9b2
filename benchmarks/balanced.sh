#!/bin/bash
# Served stack on the balanced topology: the hosts of inventories/balanced on hosts of this
# script's own (ntier-bbal-*: a load balancer, two web nodes, a database host, a media
# host; the cache on web1), deployed with site.yml, then benchmarks/served.py through
# HAProxy (TLS) against the baselines on the same hosts in the same run: a bare gunicorn on
# web1 and a bare nginx on the media host. CPU is summed over all five hosts. Writes
# results/served-balanced.{md,csv,json,png}. About 6 minutes; the hosts are removed at the
# end (KEEP=1 keeps them; "benchmarks/balanced.sh down" removes kept ones). wrk is bounded
# (12 s per case) and targets only the hosts started here.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
NET=ntier-bbal
P=ntier-bbal
HOSTS="$P-lb1 $P-web1 $P-web2 $P-db1 $P-media1"
STATE=$TOP/.cache/bbal
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
    lb: {hosts: {$P-lb1: }}
    web:
      hosts:
        $P-web1:
        $P-web2:
    db: {hosts: {$P-db1: }}
    cache: {hosts: {$P-web1: }}
    media: {hosts: {$P-media1: }}
INV
echo "== site.yml (balanced topology, 5 hosts)"
ansible-playbook -i "$STATE/hosts.yml" site.yml > "$STATE/site.log" 2>&1 || { tail -40 "$STATE/site.log"; exit 1; }
args=()
for h in $HOSTS; do args+=(--container "$h"); done
python benchmarks/served.py --topology balanced --front "$(tools/podman-ip.sh "$P-lb1")" "${args[@]}" \
  --app-container "$P-web1" --files-container "$P-media1" --files-root /srv/media/demo \
  --server-name demo.example.test --project demo --out "$OUT"
echo "results in $OUT"
