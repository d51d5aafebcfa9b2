#!/bin/bash
# Deploy under load: the balanced topology on hosts of its own (a load balancer, two web
# nodes, a data host), then ROUNDS rounds of "deploy.yml of v2" and "rollback.yml", each
# while wrk loads the home page (a database read) through the load balancer. For each run:
# requests sent, failed (non-2xx/3xx answers and socket errors), p99 latency, and the
# deploy's duration split into the build (every node, in parallel, with the first plays:
# until HAProxy drains the first node) and the switch per web node (how long HAProxy kept
# each node drained; tests/lb/watch.sh samples it). Writes results/deploy.{md,csv,png}.
# About 12 minutes; the hosts are removed at the end (KEEP=1 keeps them). wrk is bounded
# (10 s runs, at most 60 per deploy) and targets only the load balancer started here.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/benchmarks/results
NET=ntier-bdeploy
HOSTS="ntier-bdeploy-lb1 ntier-bdeploy-web1 ntier-bdeploy-web2 ntier-bdeploy-data1"
STATE=$TOP/.cache/bdeploy
SUITE=${NTIER_SUITE:-bookworm}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-8}
cd "$TOP"
mkdir -p "$OUT"

. "$TOP/benchmarks/hosts.sh"
start --wrk "$@"
bash tests/deploy/versions.sh "$STATE/versions"
cat >> "$STATE/group_vars/all.yml" <<VARS
ntier_test_source: $TOP/demo/project
ntier_test_version: ""
ntier_projects:
  - {name: demo, source: "{{ ntier_test_source }}", version: "{{ ntier_test_version }}", settings_module: demosite.settings.production, wsgi_module: demosite.wsgi, server_names: [demo.example.test]}
VARS
cat > "$STATE/hosts.yml" <<INV
all:
  children:
    lb: {hosts: {ntier-bdeploy-lb1: }}
    web:
      hosts:
        ntier-bdeploy-web1:
        ntier-bdeploy-web2:
    db: {hosts: {ntier-bdeploy-data1: }}
    cache: {hosts: {ntier-bdeploy-data1: }}
    media: {hosts: {ntier-bdeploy-data1: }}
INV
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
echo "== site.yml (v1)"
ansible-playbook -i "$STATE/hosts.yml" site.yml > "$STATE/site.log" 2>&1 || { tail -40 "$STATE/site.log"; exit 1; }
LB=$(tools/podman-ip.sh ntier-bdeploy-lb1)

# load NAME: wrk in 10 s runs against the load balancer until $STATE/NAME.done exists
load() {
  local n=0
  while [ ! -e "$STATE/$1.done" ] && [ $n -lt 60 ]; do
    wrk -t2 -c"$CONNECTIONS" -d10s --latency --timeout 5s -H "Host: demo.example.test" "https://$LB/" > "$STATE/$1.wrk.$n" 2>&1 || true
    n=$((n + 1))
  done
}
echo "run,playbook,requests,failed,p99_ms,duration_s,build_s,switch_per_node_s" > "$OUT/deploy.csv"
run() {
  local name=$1 playbook=$2; shift 2
  load "$name" & local loader=$!
  sleep 3
  # what HAProxy drains meanwhile (tests/lb/watch.sh): the phases are read from it
  bash tests/lb/watch.sh start ntier-bdeploy-lb1 "$STATE/$name.drained"
  local start; start=$(date +%s.%N)
  ansible-playbook -i "$STATE/hosts.yml" "playbooks/$playbook" "$@" > "$STATE/$name.log" 2>&1 || { touch "$STATE/$name.done"; wait "$loader"; tail -40 "$STATE/$name.log"; exit 1; }
  local end; end=$(date +%s.%N)
  bash tests/lb/watch.sh stop ntier-bdeploy-lb1 "$STATE/$name.drained"
  touch "$STATE/$name.done"; wait "$loader"
  python3 - "$STATE" "$name" "$playbook" "$start" "$end" >> "$OUT/deploy.csv" <<'PY'
import collections, glob, re, sys
state, name, playbook = sys.argv[1:4]
start, end = float(sys.argv[4]), float(sys.argv[5])
requests = failed = 0
p99 = 0.0
for path in glob.glob(f"{state}/{name}.wrk.*"):
    text = open(path).read()
    m = re.search(r"(\d+) requests in", text)
    requests += int(m.group(1)) if m else 0
    for pat in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        for g in re.findall(pat, text):
            failed += sum(int(x) for x in (g if isinstance(g, tuple) else (g,)))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    if m:
        p99 = max(p99, float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)])
# the phases, from what HAProxy did: the build (with the first plays) lasts until the first
# node is drained; each node's switch from its first drained sample to its last (0.2 s apart)
drained = collections.defaultdict(list)
for line in open(f"{state}/{name}.drained"):
    epoch, server = line.split()
    drained[server.split("/")[1]].append(float(epoch))
total = end - start
build = (min(min(v) for v in drained.values()) - start) if drained else total
switch_per_node = (sum(max(v) - min(v) + 0.2 for v in drained.values()) / len(drained)) if drained else 0.0
print(f"{name},{playbook},{requests},{failed},{p99:.1f},{total:.1f},{build:.1f},{switch_per_node:.1f}")
PY
  tail -1 "$OUT/deploy.csv"
}
for r in $(seq 1 "$ROUNDS"); do
  run "deploy-$r" deploy.yml -e ntier_test_source="$STATE/versions/v2" -e ntier_test_version="v2-$r"
  run "rollback-$r" rollback.yml
done
python - "$OUT" "$CONNECTIONS" <<'PY'
import csv, sys
out, conns = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{out}/deploy.csv")))
with open(f"{out}/deploy.md", "w") as f:
    f.write("# Deploy under load (balanced topology: 1 load balancer, 2 web nodes)\n\n"
            f"wrk -t2 -c{conns} against the home page through HAProxy during each run, in 10 s runs; "
            "p99 is the highest of the runs' p99.\n\n"
            "| run | requests | failed | p99 (ms) | duration (s) | build, all nodes (s) | switch per web node (s) |\n"
            "|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['run']} | {r['requests']} | {r['failed']} | {r['p99_ms']} | {r['duration_s']} | {r['build_s']} | {r['switch_per_node_s']} |\n")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    names = [r["run"] for r in rows]
    a.bar(names, [float(r["build_s"]) for r in rows], label="build (all nodes)")
    a.bar(names, [float(r["switch_per_node_s"]) * 2 for r in rows], bottom=[float(r["build_s"]) for r in rows], label="switch (2 nodes)")
    a.set_ylabel("seconds"); a.legend(); a.tick_params(axis="x", rotation=30)
    b.bar(names, [float(r["p99_ms"]) for r in rows]); b.set_ylabel("p99 latency during the run (ms)"); b.tick_params(axis="x", rotation=30)
    fig.tight_layout(); fig.savefig(f"{out}/deploy.png", dpi=100)
except ImportError:
    pass
print(open(f"{out}/deploy.md").read())
PY
