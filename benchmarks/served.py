#!/usr/bin/env python3
"""Served-stack benchmark: what each request costs the server, through the deployed stack
and against bare baselines on the same host, measured side by side in one run.

For each case it runs wrk (bounded: one run of --duration seconds per case, to the test
host only) and reads the CPU time the whole test host (a podman container: every server
process in it) used meanwhile, from its cgroup. CPU per request is the figure to compare:
requests per second move with other load on the machine, CPU per request does not.

Usage: benchmarks/served.py --container ntier-bench --address 10.77.x.y \
           --server-name demo.example.test --project demo --out benchmarks/results
"""
import argparse
import csv
import json
import re
import subprocess
import time
from pathlib import Path


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


class Host:
    def __init__(self, container):
        self.container = container
        pid = sh("podman", "inspect", container, "--format", "{{.State.Pid}}").strip()
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):
                self.cpu_file = Path(f"/sys/fs/cgroup/{controllers}{path}/cpuacct.usage")
                break
            if controllers == "":  # cgroup v2
                self.cpu_file = Path(f"/sys/fs/cgroup{path}/cpu.stat")
        if not self.cpu_file.exists():
            # systemd inside the container moves its init into a child cgroup: go up to the container
            self.cpu_file = self.cpu_file.parent.parent / self.cpu_file.name

    def cpu_ns(self):
        text = self.cpu_file.read_text()
        if self.cpu_file.name == "cpu.stat":
            return int(re.search(r"usage_usec (\d+)", text).group(1)) * 1000
        return int(text)

    def run(self, command):
        return sh("podman", "exec", self.container, "bash", "-c", command)


def wrk(url, duration, connections, headers=()):
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for h in headers:
        args += ["-H", h]
    out = sh(*args, url)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
    }


def measure(host, name, url, args, headers=()):
    wrk(url, 2, args.connections, headers)  # warm up: caches, connections, workers
    before = host.cpu_ns()
    result = wrk(url, args.duration, args.connections, headers)
    used = host.cpu_ns() - before
    result.update(case=name, url=url, cpu_ms_per_request=used / 1e6 / max(result["requests"], 1))
    print(f"{name:34s} {result['rps']:9.0f} req/s  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
          f"  cpu {result['cpu_ms_per_request']:.4f} ms/req  errors {result['errors']}", flush=True)
    return result


BARE_NGINX = """
worker_processes auto;
pid /tmp/bench-nginx.pid;
error_log /tmp/bench-nginx.error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    server {
        listen 8080;
        location /static/ { alias STATIC/; }
        location /media/ { alias MEDIA/; }
    }
}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--container", required=True)
    ap.add_argument("--address", required=True)
    ap.add_argument("--server-name", required=True)
    ap.add_argument("--project", default="demo")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    host = Host(args.container)
    root = f"/srv/django/{args.project}"
    a, name = args.address, args.server_name
    site = [f"Host: {name}"]

    # what the pages link to: a hashed static file, and an upload to serve
    home = host.run(f"curl -sk --resolve {name}:443:127.0.0.1 https://{name}/")
    static = re.search(r'href="(/static/[^"]+\.css)"', home).group(1)
    host.run(f"mkdir -p {root}/media/bench && head -c 10240 /dev/urandom > {root}/media/bench/file.bin"
             f" && chown -R {args.project}: {root}/media/bench")
    media = "/media/bench/file.bin"

    workers = host.run(f"systemctl show -p ExecStart --value gunicorn-{args.project}.service")
    workers = re.search(r"--workers (\d+)", workers).group(1)
    # bare baselines on the same host: gunicorn with the same project, settings and workers,
    # no proxy in front; nginx with a minimal configuration on the same files, no TLS
    host.run(f"set -a; . {root}/config/env; cd {root}/current && runuser -u {args.project} -- "
             f"{root}/current/venv/bin/gunicorn --workers {workers} --bind 0.0.0.0:8001 --daemon "
             f"--pid /tmp/bench-gunicorn.pid $(systemctl show -p ExecStart --value gunicorn-{args.project}.service"
             f" | grep -o '[^ ]*:application')")
    Path("/tmp/bench-nginx.conf").write_text(
        BARE_NGINX.replace("STATIC", f"{root}/static").replace("MEDIA", f"{root}/media"))
    sh("podman", "cp", "/tmp/bench-nginx.conf", f"{args.container}:/tmp/bench-nginx.conf")
    host.run("nginx -c /tmp/bench-nginx.conf")
    time.sleep(2)
    bare = [f"Host: {name}", "X-Forwarded-Proto: https"]
    try:
        results = [
            measure(host, "stack: health", f"https://{a}/-/health/", args, site),
            measure(host, "bare gunicorn: health", f"http://{a}:8001/-/health/", args),
            measure(host, "stack: database page", f"https://{a}/notes/", args, site),
            measure(host, "bare gunicorn: database page", f"http://{a}:8001/notes/", args, bare),
            measure(host, "stack: cached page", f"https://{a}/cached/", args, site),
            measure(host, "stack: static file", f"https://{a}{static}", args, site),
            measure(host, "bare nginx: static file", f"http://{a}:8080{static}", args),
            measure(host, "stack: media file", f"https://{a}{media}", args, site),
            measure(host, "bare nginx: media file", f"http://{a}:8080{media}", args),
        ]
    finally:
        host.run("kill $(cat /tmp/bench-gunicorn.pid) 2>/dev/null; nginx -c /tmp/bench-nginx.conf -s quit 2>/dev/null;"
                 f" rm -rf {root}/media/bench; true")
    by = {r["case"]: r for r in results}
    ratios = [
        ("health endpoint: stack / bare gunicorn", "stack: health", "bare gunicorn: health", 1.15),
        ("database page: stack / bare gunicorn", "stack: database page", "bare gunicorn: database page", None),
        ("cached page / health endpoint (stack)", "stack: cached page", "stack: health", 1.2),
        ("static file: stack / bare nginx", "stack: static file", "bare nginx: static file", 1.5),
        ("media file: stack / bare nginx", "stack: media file", "bare nginx: media file", None),
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "served.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "url", "requests", "rps", "p50_ms", "p99_ms", "errors", "cpu_ms_per_request"])
        w.writeheader()
        w.writerows(results)
    lines = ["# Served stack: server CPU per request", "",
             f"wrk -t2 -c{args.connections} -d{args.duration}s per case, after a 2 s warm-up; CPU of the whole test host "
             "(all its processes) from its cgroup. Stack = HTTPS through nginx to gunicorn (or nginx alone for files).", "",
             "| case | req/s | p50 ms | p99 ms | errors | server CPU ms/request |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['cpu_ms_per_request']:.4f} |" for r in results]
    lines += ["", "| ratio (CPU per request) | measured | target | |", "|---|---|---|---|"]
    summary = []
    for label, num, den, target in ratios:
        ratio = by[num]["cpu_ms_per_request"] / by[den]["cpu_ms_per_request"]
        verdict = "" if target is None else ("within" if ratio <= target else "**short of target**")
        lines.append(f"| {label} | {ratio:.2f}x | {'' if target is None else f'{target}x'} | {verdict} |")
        summary.append({"ratio": label, "value": round(ratio, 3), "target": target})
    (out / "served.md").write_text("\n".join(lines) + "\n")
    (out / "served.json").write_text(json.dumps({"results": results, "ratios": summary}, indent=2))
    plot(results, out / "served.png")
    print("\n".join(lines))


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4.5))
    names = [r["case"] for r in results]
    values = [r["cpu_ms_per_request"] for r in results]
    colors = ["tab:blue" if n.startswith("stack") else "tab:gray" for n in names]
    ax.barh(names[::-1], values[::-1], color=colors[::-1])
    ax.set_xlabel("server CPU per request (ms, log scale)")
    ax.set_xscale("log")
    ax.set_title("ntier.django single topology: stack (blue) vs bare baselines (grey)")
    for i, v in enumerate(values[::-1]):
        ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
