#!/usr/bin/env python3
"""A client polling the site while site.yml runs: reads, writes and an uploaded file.

    poll.py INVENTORY OUT.json     poll until SIGINT (at most 15 minutes, 2 requests/s)
    poll.py --report OUT.json      one line: sent, failed, longest failing stretch, slowest answer
    poll.py --check OUT.json       exit 1 when any request failed

The entry point is the inventory's first load balancer, else its first web host, reached
by address with the site's name in the Host header. Traffic goes only to that test host.
"""
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse

SITE = os.environ.get("NTIER_SITE", "demo.example.test")
MAX_SECONDS, INTERVAL = 900, 0.5
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def entry(inventory):
    out = subprocess.run(["ansible-inventory", "-i", inventory, "--list"], capture_output=True, text=True, check=True)
    groups = json.loads(out.stdout)
    for group in ("lb", "web"):
        hosts = groups.get(group, {}).get("hosts") or []
        if hosts:
            ip = subprocess.run([f"{TOP}/tools/podman-ip.sh", hosts[0]], capture_output=True, text=True, check=True)
            return ip.stdout.strip()
    raise SystemExit("no lb or web host in " + inventory)


class Client:
    def __init__(self, address):
        self.address, self.cookies = address, {}
        self.ctx = ssl._create_unverified_context()  # self-signed test certificates

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection(self.address, 443, timeout=10, context=self.ctx)
        try:
            hdrs = {"Host": SITE, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            hdrs.update(headers or {})
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read().decode(errors="replace")
            for value in resp.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return resp.status, data
        except (OSError, http.client.HTTPException):
            return 0, ""
        finally:
            conn.close()

    def write(self, text):
        status, page = self.request("GET", "/notes/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not match:
            return status or 599
        body = urllib.parse.urlencode({"text": text, "csrfmiddlewaretoken": match.group(1)})
        status, _ = self.request("POST", "/notes/", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                           "Referer": f"https://{SITE}/notes/"})
        return status


def poll(inventory, out_path):
    client = Client(entry(inventory))
    state = os.path.join(os.environ.get("NTIER_STATE", "."), "seeded.json")
    media = None
    if os.path.exists(state):
        uploads = [item["url"] for item in json.load(open(state)) if item.get("url")]
        media = uploads[0] if uploads else None
    log, stop = [], []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    started, n, static = time.time(), 0, None
    while not stop and time.time() - started < MAX_SECONDS:
        t = time.time()
        status, page = client.request("GET", "/")
        log.append({"t": t, "kind": "read", "status": status, "d": time.time() - t})
        if static is None and status == 200:
            # the stylesheet the page links (a collected static file)
            found = re.search(r'href="(/static/[^"]+\.css)"', page)
            static = found.group(1) if found else ""
        if static:
            s0 = time.time()
            status, _ = client.request("GET", static)
            log.append({"t": t, "kind": "static", "status": status, "d": time.time() - s0})
        if media:
            s0 = time.time()
            status, _ = client.request("GET", media)
            log.append({"t": t, "kind": "media", "status": status, "d": time.time() - s0})
        if n % 2 == 0:
            s0 = time.time()
            status = client.write(f"poll {int(t * 1000)}")
            log.append({"t": t, "kind": "write", "status": status, "d": time.time() - s0})
        n += 1
        time.sleep(max(0.0, INTERVAL - (time.time() - t)))
    with open(out_path, "w") as f:
        json.dump(log, f)


OK = {"read": (200,), "static": (200,), "media": (200,), "write": (302,)}


def summarize(log):
    """Per kind: sent, failed (anything but the expected answer: 200, or 302 after a form
    POST; no answer at all counts too) and the longest stretch of failures, in seconds.
    Requests before the entry point first answered a read (a load balancer that did not
    exist yet) are left out, for every kind alike."""
    first_ok = next((e["t"] for e in log if e["kind"] == "read" and e["status"] == 200), None)
    out = {}
    for kind in ("read", "static", "media", "write"):
        events = [e for e in log if e["kind"] == kind and first_ok is not None and e["t"] >= first_ok]
        if not any(e["kind"] == kind for e in log):
            continue
        bad = [e["status"] not in OK[kind] for e in events]
        longest, start, last_ok = 0.0, None, None
        for e, failed in zip(events, bad):
            if failed and start is None:
                start = last_ok if last_ok is not None else e["t"]
            if not failed:
                if start is not None:
                    longest = max(longest, e["t"] - start)
                    start = None
                last_ok = e["t"]
        if start is not None:
            longest = max(longest, events[-1]["t"] - start)
        out[kind] = {"sent": len(events), "failed": sum(bad), "longest_failing_s": round(longest, 1),
                     "slowest_s": round(max([e.get("d", 0.0) for e in events] or [0.0]), 2),
                     "statuses": sorted({e["status"] for e, f in zip(events, bad) if f})}
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--report":
        summary = summarize(json.load(open(sys.argv[2])))
        print("; ".join(f"{k}: {v['sent']} sent, {v['failed']} failed, longest failing {v['longest_failing_s']} s, "
                        f"slowest {v['slowest_s']} s" for k, v in summary.items()))
    elif sys.argv[1] == "--check":
        summary = summarize(json.load(open(sys.argv[2])))
        sys.exit(0 if summary and all(v["sent"] > 0 and v["failed"] == 0 for v in summary.values()) else 1)
    else:
        poll(sys.argv[1], sys.argv[2])
