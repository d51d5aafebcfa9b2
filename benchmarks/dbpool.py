#!/usr/bin/env python3
"""Database-path benchmark: server CPU per request for a page that reads the database,
through the web node's local HAProxy and PgBouncer (a replicated database's path) against
the direct connection of a single database host, side by side in one run on the same hosts.

Three bare gunicorns of the deployed release run on the web node, each with the project's
own settings and workers, and differ only in how Django reaches PostgreSQL:
  pooled   the deployed settings: 127.0.0.1:5000 (local HAProxy, the primary's PgBouncer)
           and reads from 127.0.0.1:5001 (a replica's PgBouncer)
  proxied  NTIER_DB_DIRECT=1: the primary through 127.0.0.1:5002 (local HAProxy, the
           primary's PostgreSQL itself); reads still from a replica's PgBouncer
  direct   the primary's address, port 5432, TLS verified (sslmode verify-full): what one
           database host gets, no proxy, no replica
CPU is read from every test host's cgroup (benchmarks/served.py's Host) during a bounded
wrk run per case (to the web node only); CPU per request is the figure to compare.

Usage: benchmarks/dbpool.py --container ntier-bdb-web1 --container ntier-bdb-db1 ... \
           --app-container ntier-bdb-web1 --project demo --out benchmarks/results
"""
import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from served import Host, measure  # noqa: E402 - the served-stack benchmark's measuring tools

DIRECT = """from ntier_settings import *  # noqa: F401,F403 - the deployed settings, then the direct way
DATABASES["default"].update(HOST={host!r}, PORT="5432")
DATABASES["default"]["OPTIONS"]["sslmode"] = "verify-full"
DATABASES.pop("replica", None)
DATABASE_ROUTERS = []
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--container", action="append", required=True, help="a test host whose CPU counts (repeat)")
    ap.add_argument("--app-container", required=True, help="the web node")
    ap.add_argument("--project", default="demo")
    ap.add_argument("--server-name", default="demo.example.test")
    ap.add_argument("--duration", type=int, default=12)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    hosts = [Host(c) for c in args.container]
    app = next(h for h in hosts if h.container == args.app_container)
    root = f"/srv/django/{args.project}"
    # the primary: the member whose Patroni answers /primary
    primary = next(h for h in hosts if h is not app and h.run(
        "curl -s -o /dev/null -w '%{http_code}' http://$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1):8008/primary") == "200")
    primary_address = primary.address()
    unit = app.run(f"systemctl show -p ExecStart --value gunicorn-{args.project}.service")
    workers = re.search(r"--workers (\d+)", unit).group(1)
    wsgi_app = re.search(r"\S+:application", unit).group(0)
    app.run(f"mkdir -p /tmp/bench-direct && cat > /tmp/bench-direct/bench_direct.py <<'PY'\n"
            f"{DIRECT.format(host=primary_address)}PY\nchmod -R a+rX /tmp/bench-direct")
    cases = [("pooled", 8001, ""), ("proxied", 8002, "NTIER_DB_DIRECT=1"),
             ("direct", 8003, "DJANGO_SETTINGS_MODULE=bench_direct PYTHONPATH=/tmp/bench-direct:$PYTHONPATH")]
    for name, port, env in cases:
        # (runuser keeps the environment)
        app.run(f"set -a; . {root}/config/env; {env or 'true'}; set +a; cd {root}/current && runuser -u {args.project} -- "
                f"{root}/current/venv/bin/gunicorn --workers {workers} --bind 0.0.0.0:{port} --daemon"
                f" --pid /tmp/bench-gunicorn-{port}.pid {wsgi_app}")
    time.sleep(3)
    headers = [f"Host: {args.server_name}", "X-Forwarded-Proto: https"]
    base = f"http://{app.address()}"
    try:
        results = [measure(hosts, f"{name}: database page", f"{base}:{port}/notes/", args, headers)
                   for name, port, _ in cases]
    finally:
        app.run("for f in /tmp/bench-gunicorn-80*.pid; do kill $(cat $f) 2>/dev/null; done; rm -rf /tmp/bench-direct; true")
    by = {r["case"].split(":")[0]: r for r in results}
    for r in results:
        assert r["errors"] == 0, f"{r['case']}: {r['errors']} errors"
    ratios = [("pooled / direct", by["pooled"]["cpu_ms_per_request"] / by["direct"]["cpu_ms_per_request"]),
              ("proxied / direct", by["proxied"]["cpu_ms_per_request"] / by["direct"]["cpu_ms_per_request"])]
    lines = ["# The database path: server CPU per request (a page that reads the database)", "",
             f"wrk -t2 -c{args.connections} -d{args.duration}s per case against a bare gunicorn on {app.container} "
             f"(the deployed release, settings and {workers} workers), after a 2 s warm-up. Server CPU: every process of "
             f"the {len(hosts)} hosts ({', '.join(args.container)}), from their cgroups. pooled: local HAProxy, then "
             "PgBouncer (the primary's; reads a replica's); proxied: the primary through local HAProxy to its PostgreSQL "
             "itself, reads as pooled; "
             f"direct: TLS to the primary ({primary.container}) itself, as one database host is reached.", "",
             "| case | req/s | p50 ms | p99 ms | errors | server CPU ms/request |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
              f"{r['cpu_ms_per_request']:.4f} |" for r in results]
    lines += ["", "Where the CPU goes (ms per request, by host):", "",
              "| case | " + " | ".join(args.container) + " |", "|---" * (len(hosts) + 1) + "|"]
    lines += [f"| {r['case']} | " + " | ".join(f"{r['cpu_ms_per_request_by_host'][c]:.4f}" for c in args.container) + " |"
              for r in results]
    lines += ["", "| ratio (CPU per request) | measured |", "|---|---|"]
    lines += [f"| {label} | {value:.2f}x |" for label, value in ratios]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dbpool.md").write_text("\n".join(lines) + "\n")
    (out / "dbpool.json").write_text(json.dumps({"hosts": args.container, "results": results,
                                                 "ratios": dict(ratios)}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
