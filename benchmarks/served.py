#!/usr/bin/env python3
"""Served-stack benchmark: what each request costs the servers, through the deployed stack
and against bare baselines on the same hosts, measured side by side in one run.

For each case it runs wrk (bounded: one run of --duration seconds per case, to the test
hosts only) and reads the CPU time every test host (a podman container: every server
process in it) used meanwhile, from their cgroups. CPU per request is the figure to
compare: requests per second move with other load on the machine, CPU per request does not.

The stack is reached at --front (nginx on the single topology, HAProxy on the balanced
one). The baselines run beside it: a bare gunicorn with the same project, settings and
workers on --app-container, and a minimal nginx on the same files on --files-container.

Usage: benchmarks/served.py --topology single --front 10.77.x.y --container ntier-bench \
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

    def address(self):
        return sh(str(Path(__file__).resolve().parents[1] / "tools" / "podman-ip.sh"), self.container).strip()

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


def measure(hosts, name, url, args, headers=()):
    wrk(url, 2, args.connections, headers)  # warm up: caches, connections, workers
    before = [h.cpu_ns() for h in hosts]
    result = wrk(url, args.duration, args.connections, headers)
    used = [h.cpu_ns() - b for h, b in zip(hosts, before)]
    n = max(result["requests"], 1)
    result.update(case=name, url=url, cpu_ms_per_request=sum(used) / 1e6 / n,
                  cpu_ms_per_request_by_host={h.container: round(u / 1e6 / n, 4) for h, u in zip(hosts, used)})
    by_host = "  ".join(f"{h}={v:.3f}" for h, v in result["cpu_ms_per_request_by_host"].items()) if len(hosts) > 1 else ""
    print(f"{name:30s} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:7.2f} ms"
          f"  cpu {result['cpu_ms_per_request']:.4f} ms/req  errors {result['errors']}  {by_host}", flush=True)
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
    ap.add_argument("--topology", default="single", help="names the results: served-<topology>.*")
    ap.add_argument("--front", required=True, help="address the stack answers HTTPS on")
    ap.add_argument("--container", action="append", required=True,
                    help="a test host whose CPU counts (repeat for every host of the topology)")
    ap.add_argument("--app-container", help="where the bare gunicorn runs (default: the first --container)")
    ap.add_argument("--files-container", help="where the bare nginx runs (default: --app-container)")
    ap.add_argument("--files-root", help="directory with static/ and media/ on --files-container "
                                         "(default: /srv/django/<project>)")
    ap.add_argument("--server-name", required=True)
    ap.add_argument("--project", default="demo")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    hosts = [Host(c) for c in args.container]
    by_name = {h.container: h for h in hosts}
    app = by_name.get(args.app_container or args.container[0]) or Host(args.app_container)
    files = by_name.get(args.files_container or app.container) or Host(args.files_container)
    root = f"/srv/django/{args.project}"
    files_root = args.files_root or root
    a, name = args.front, args.server_name
    site = [f"Host: {name}"]

    # what the pages link to: a hashed static file, and an upload to serve
    home = sh("curl", "-sk", "--resolve", f"{name}:443:{a}", f"https://{name}/")
    static = re.search(r'href="(/static/[^"]+\.css)"', home).group(1)
    files.run(f"mkdir -p {files_root}/media/bench && head -c 10240 /dev/urandom > {files_root}/media/bench/file.bin"
              f" && chown -R --reference={files_root}/media {files_root}/media/bench")
    media = "/media/bench/file.bin"

    unit = app.run(f"systemctl show -p ExecStart --value gunicorn-{args.project}.service")
    workers = re.search(r"--workers (\d+)", unit).group(1)
    wsgi_app = re.search(r"\S+:application", unit).group(0)
    # bare baselines: gunicorn with the same project, settings and workers, no proxy in
    # front; nginx with a minimal configuration on the same files, no TLS
    app.run(f"set -a; . {root}/config/env; cd {root}/current && runuser -u {args.project} -- "
            f"{root}/current/venv/bin/gunicorn --workers {workers} --bind 0.0.0.0:8001 --daemon "
            f"--pid /tmp/bench-gunicorn.pid {wsgi_app}")
    Path("/tmp/bench-nginx.conf").write_text(
        BARE_NGINX.replace("STATIC", f"{files_root}/static").replace("MEDIA", f"{files_root}/media"))
    sh("podman", "cp", "/tmp/bench-nginx.conf", f"{files.container}:/tmp/bench-nginx.conf")
    files.run("nginx -c /tmp/bench-nginx.conf")
    time.sleep(2)
    bare = [f"Host: {name}", "X-Forwarded-Proto: https"]
    g, n = f"http://{app.address()}:8001", f"http://{files.address()}:8080"
    try:
        results = [
            measure(hosts, "stack: health", f"https://{a}/-/health/", args, site),
            measure(hosts, "bare gunicorn: health", f"{g}/-/health/", args),
            measure(hosts, "stack: database page", f"https://{a}/notes/", args, site),
            measure(hosts, "bare gunicorn: database page", f"{g}/notes/", args, bare),
            measure(hosts, "stack: cached page", f"https://{a}/cached/", args, site),
            measure(hosts, "stack: static file", f"https://{a}{static}", args, site),
            measure(hosts, "bare nginx: static file", f"{n}{static}", args),
            measure(hosts, "stack: media file", f"https://{a}{media}", args, site),
            measure(hosts, "bare nginx: media file", f"{n}{media}", args),
        ]
    finally:
        app.run("kill $(cat /tmp/bench-gunicorn.pid) 2>/dev/null; true")
        files.run(f"nginx -c /tmp/bench-nginx.conf -s quit 2>/dev/null; rm -rf {files_root}/media/bench; true")
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
    stem = f"served-{args.topology}"
    with open(out / f"{stem}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "url", "requests", "rps", "p50_ms", "p99_ms", "errors", "cpu_ms_per_request"],
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(results)
    path = {"single": "HTTPS at nginx, which proxies to gunicorn and serves the files",
            "balanced": "HTTPS at HAProxy, to nginx and gunicorn on the web nodes; files from the media host's nginx"}
    lines = [f"# Served stack ({args.topology} topology): server CPU per request", "",
             f"wrk -t2 -c{args.connections} -d{args.duration}s per case, after a 2 s warm-up. Server CPU: every process "
             f"of the {len(hosts)} test host(s) ({', '.join(args.container)}), from their cgroups. "
             f"Stack: {path.get(args.topology, args.topology)}. Baselines: bare gunicorn on {app.container}, "
             f"bare nginx on {files.container} (plain HTTP).", "",
             "| case | req/s | p50 ms | p99 ms | errors | server CPU ms/request |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['cpu_ms_per_request']:.4f} |" for r in results]
    if len(hosts) > 1:
        lines += ["", "Where the CPU goes (ms per request, by host):", "",
                  "| case | " + " | ".join(args.container) + " |", "|---" * (len(hosts) + 1) + "|"]
        lines += [f"| {r['case']} | " + " | ".join(f"{r['cpu_ms_per_request_by_host'][c]:.4f}" for c in args.container) + " |"
                  for r in results]
    lines += ["", "| ratio (CPU per request) | measured | target | |", "|---|---|---|---|"]
    summary = []
    for label, num, den, target in ratios:
        ratio = by[num]["cpu_ms_per_request"] / by[den]["cpu_ms_per_request"]
        verdict = "" if target is None else ("within" if ratio <= target else "**short of target**")
        lines.append(f"| {label} | {ratio:.2f}x | {'' if target is None else f'{target}x'} | {verdict} |")
        summary.append({"ratio": label, "value": round(ratio, 3), "target": target})
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (out / f"{stem}.json").write_text(json.dumps(
        {"topology": args.topology, "hosts": args.container, "results": results, "ratios": summary}, indent=2))
    plot(results, args.topology, out / f"{stem}.png")
    print("\n".join(lines))


def plot(results, topology, path):
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
    ax.set_title(f"ntier.django {topology} topology: stack (blue) vs bare baselines (grey)")
    for i, v in enumerate(values[::-1]):
        ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
