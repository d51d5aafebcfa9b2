#!/bin/bash
# Converge time against the host count: the scaling path on hosts of its own (1 host:
# single; 3 hosts: database and media on their own hosts; 5 hosts: a load balancer and a
# second web node). For each: the converge that reaches it (from nothing for 1 host, grown
# from the previous step for 3 and 5), then a warm re-converge (changed=0) and an
# `ansible -m ping` round of the same hosts, side by side, medians of 3. Writes
# results/growth.{md,csv,png}. About 15 minutes; the hosts are removed at the end (KEEP=1
# keeps them). Traffic goes only to these hosts.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
NET=ntier-bgrow
HOSTS="ntier-bgrow-web1 ntier-bgrow-db1 ntier-bgrow-media1 ntier-bgrow-lb1 ntier-bgrow-web2"
STATE=$TOP/.cache/bgrow
SUITE=${NTIER_SUITE:-bookworm}
cd "$TOP"
mkdir -p "$OUT"

. "$TOP/benchmarks/hosts.sh"
start "$@"
cat >> "$STATE/group_vars/all.yml" <<VARS
ntier_projects:
  - {name: demo, source: $TOP/demo/project, settings_module: demosite.settings.production, wsgi_module: demosite.wsgi, server_names: [demo.example.test]}
VARS
w1=ntier-bgrow-web1
cat > "$STATE/1.yml" <<INV
all: {children: {db: {hosts: {$w1: }}, cache: {hosts: {$w1: }}, media: {hosts: {$w1: }}, web: {hosts: {$w1: }}}}
INV
cat > "$STATE/3.yml" <<INV
all: {children: {db: {hosts: {ntier-bgrow-db1: }}, cache: {hosts: {$w1: }}, media: {hosts: {ntier-bgrow-media1: }}, web: {hosts: {$w1: }}}}
INV
cat > "$STATE/5.yml" <<INV
all:
  children:
    lb: {hosts: {ntier-bgrow-lb1: }}
    db: {hosts: {ntier-bgrow-db1: }}
    cache: {hosts: {$w1: }}
    media: {hosts: {ntier-bgrow-media1: }}
    web:
      hosts:
        $w1:
        ntier-bgrow-web2:
INV
timeit() { local s; s=$(date +%s.%N); "$@" >/dev/null; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}'; }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
echo "hosts,converge,warm_median,ping_median,warm_over_ping" > "$OUT/growth.csv"
for n in 1 3 5; do
  echo "== $n hosts"
  cold=$(timeit ansible-playbook site.yml -i "$STATE/$n.yml")
  warm=() ping=()
  for _ in 1 2 3; do
    ping+=("$(timeit ansible all -i "$STATE/$n.yml" -m ansible.builtin.ping)")
    warm+=("$(timeit ansible-playbook site.yml -i "$STATE/$n.yml")")
  done
  mw=$(median "${warm[@]}") mp=$(median "${ping[@]}")
  echo "$n,$cold,$mw,$mp,$(awk -v a="$mw" -v b="$mp" 'BEGIN {printf "%.1f", a / b}')" >> "$OUT/growth.csv"
done
python - "$OUT" <<'PY'
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/growth.csv")))
with open(f"{out}/growth.md", "w") as f:
    f.write("# Converge time against the host count\n\n| hosts | converge to this step (s) | warm re-converge (s) | ping round (s) | warm / ping |\n|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['hosts']} | {r['converge']} | {r['warm_median']} | {r['ping_median']} | {r['warm_over_ping']}x |\n")
    f.write("\nTarget: a warm re-converge of the largest topology within 3x of a ping round of the same hosts.\n")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = [int(r["hosts"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [float(r["warm_median"]) for r in rows], "o-", label="warm re-converge (changed=0)")
    ax.plot(x, [float(r["ping_median"]) for r in rows], "s-", label="ansible -m ping round")
    ax.set_xlabel("hosts"); ax.set_ylabel("seconds"); ax.set_xticks(x); ax.legend(); ax.grid(alpha=0.3)
    fig.tight_layout(); fig.savefig(f"{out}/growth.png", dpi=100)
except ImportError:
    pass
print(open(f"{out}/growth.md").read())
PY
