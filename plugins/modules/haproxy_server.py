#!/usr/bin/python
"""Set web servers' state in HAProxy through its runtime API (the admin socket)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_server
short_description: Drain or ready web servers in HAProxy's backends, and wait for the effect
description:
  - Talks to HAProxy's runtime API over its UNIX socket (no socat). Reads C(show servers
    state) and C(show stat), changes only what differs, and waits for the effect.
  - C(state=drain) of one server (O(name)) never drains the last server in service of a
    backend (it restarts in place instead); then waits, at most O(timeout) seconds, until
    the server has no session left, and goes on (a session that outlives it is cut when
    the server restarts).
  - C(state=drain) with O(keep) drains every server of the backends that is not listed
    (web nodes that leave), and waits the same way.
  - C(state=ready) puts the server back (clears drain and maintenance) and, with O(wait),
    waits until every backend sees it UP, failing after O(timeout) seconds.
  - A server a backend does not list (a new web node) is left alone.
version_added: "0.1.0"
options:
  socket:
    description: HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  socket_required:
    description:
      - Fail when the socket is missing. False for a load balancer whose HAProxy is
        installed later in the run (nothing to drain yet).
    type: bool
    default: true
  state:
    description: What to make of the server(s).
    type: str
    required: true
    choices: [drain, ready]
  name:
    description: The server (web node) name. One of O(name) and O(keep).
    type: str
  keep:
    description: With O(state=drain), drain every server not in this list.
    type: list
    elements: str
  backends:
    description: The backends to act in; default every backend whose name starts with O(backend_prefix).
    type: list
    elements: str
  backend_prefix:
    description: Which backends are the sites' (when O(backends) is not given).
    type: str
    default: site_
  wait:
    description: Wait for the effect (drain - no session left; ready - UP everywhere).
    type: bool
    default: true
  timeout:
    description: Seconds to wait.
    type: int
    default: 30
author: ntier.django developers
"""

EXAMPLES = r"""
- name: Take web1 out of rotation on this load balancer
  ntier.django.haproxy_server:
    name: web1
    state: drain
    backends: [site_demo]

- name: Drain the servers that leave
  ntier.django.haproxy_server:
    keep: [web1, web2]
    state: drain
"""

RETURN = r"""
actions:
  description: What was (or in check mode would be) set, as "backend/server state" lines.
  type: list
  elements: str
  returned: always
skipped:
  description: Why a backend was left alone (the last server in service).
  type: list
  elements: str
  returned: always
sessions_left:
  description: After a drain, the sessions the drained servers still had when the wait ended.
  type: int
  returned: always
"""

import os
import socket as _socket
import time

from ansible.module_utils.basic import AnsibleModule

# "show servers state" (HAProxy 2.x): be_id be_name srv_id srv_name srv_addr srv_op_state
# srv_admin_state ...; srv_op_state 2 = running; srv_admin_state bit 0x8 = drain set from
# the API, bit 0x1 = maintenance forced from the API.
OP_RUNNING = 2
ADMIN_FMAINT = 0x1
ADMIN_FDRAIN = 0x8


def parse_servers_state(text):
    """[{backend, server, op_state, admin_state}] from "show servers state"."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) > 7 and f[0].isdigit():
            out.append({"backend": f[1], "server": f[3], "op_state": int(f[5]), "admin_state": int(f[6])})
    return out


def drained_servers(servers):
    """["backend/server"] of the servers drained through the API (parse_servers_state)."""
    return [f"{s['backend']}/{s['server']}" for s in servers if s["admin_state"] & ADMIN_FDRAIN]


def parse_stat(text):
    """[{backend, server, sessions, status}] from "show stat" (CSV), servers only."""
    out = []
    header = None
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split(",")
            continue
        if not line.strip() or header is None:
            continue
        row = dict(zip(header, line.split(",")))
        if row.get("svname") in ("FRONTEND", "BACKEND"):
            continue
        out.append({"backend": row.get("pxname", ""), "server": row.get("svname", ""),
                    "sessions": int(row.get("scur") or 0), "status": row.get("status", "")})
    return out


def plan(servers, state, name=None, keep=None):
    """The commands to send, [(backend, server, state)], and why backends were left alone."""
    actions, skipped = [], []
    backends = sorted({s["backend"] for s in servers})
    for be in backends:
        members = [s for s in servers if s["backend"] == be]
        targets = [s for s in members if (s["server"] == name if name is not None else s["server"] not in keep)]
        for s in targets:
            drained = bool(s["admin_state"] & ADMIN_FDRAIN)
            maint = bool(s["admin_state"] & ADMIN_FMAINT)
            if state == "drain":
                if drained:
                    continue
                others = [o for o in members if o["server"] != s["server"]
                          and o["op_state"] == OP_RUNNING and o["admin_state"] == 0]
                if name is not None and not others:
                    skipped.append(f"{be}: {s['server']} is the only server in service, not drained")
                    continue
                actions.append((be, s["server"], "drain"))
            elif drained or maint:
                actions.append((be, s["server"], "ready"))
    return actions, skipped


class Api:
    """HAProxy's runtime API: one command per connection."""

    def __init__(self, path, timeout=5.0):
        self.path, self.timeout = path, timeout

    def __call__(self, command):
        with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout)
            s.connect(self.path)
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace")


def run(api, params, check_mode=False, sleep=time.sleep):
    """The module's work against ``api`` (a callable sending one command); returns the result dict."""
    result = {"changed": False, "actions": [], "skipped": [], "sessions_left": 0}
    if params.get("backends"):
        servers = []
        for be in params["backends"]:
            servers += parse_servers_state(api(f"show servers state {be}"))
    else:
        prefix = params.get("backend_prefix") or "site_"
        servers = [s for s in parse_servers_state(api("show servers state")) if s["backend"].startswith(prefix)]
    actions, result["skipped"] = plan(servers, params["state"], params.get("name"), params.get("keep"))
    result["actions"] = [f"{be}/{srv} {state}" for be, srv, state in actions]
    result["changed"] = bool(actions)
    if check_mode:
        return result
    for be, srv, state in actions:
        reply = api(f"set server {be}/{srv} state {state}").strip()
        if reply:
            raise RuntimeError(f"set server {be}/{srv} state {state}: {reply}")
    if not params.get("wait", True):
        return result
    watched = {(s["backend"], s["server"]) for s in servers
               if (s["server"] == params["name"] if params.get("name") is not None else s["server"] not in params["keep"])}
    deadline = params.get("timeout", 30)
    waited = 0
    while True:
        rows = [r for r in parse_stat(api("show stat")) if (r["backend"], r["server"]) in watched]
        if params["state"] == "drain":
            result["sessions_left"] = sum(r["sessions"] for r in rows)
            if result["sessions_left"] == 0 or waited >= deadline:
                return result  # bounded: the sessions left are cut when the server restarts
        else:
            down = [f"{r['backend']}/{r['server']}: {r['status']}" for r in rows if r["status"] != "UP"]
            if not down:
                return result
            if waited >= deadline:
                raise RuntimeError(f"not UP after {deadline} s: {', '.join(down)}")
        sleep(1)
        waited += 1


def main():
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "default": "/run/haproxy/admin.sock"},
            "socket_required": {"type": "bool", "default": True},
            "state": {"type": "str", "required": True, "choices": ["drain", "ready"]},
            "name": {"type": "str"},
            "keep": {"type": "list", "elements": "str"},
            "backends": {"type": "list", "elements": "str"},
            "backend_prefix": {"type": "str", "default": "site_"},
            "wait": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 30},
        },
        required_one_of=[["name", "keep"]],
        mutually_exclusive=[["name", "keep"]],
        supports_check_mode=True,
    )
    p = module.params
    if p["keep"] is not None and p["state"] != "drain":
        module.fail_json(msg="keep goes with state=drain only")
    if not os.path.exists(p["socket"]):
        if p["socket_required"]:
            module.fail_json(msg=f"no HAProxy admin socket at {p['socket']} on a load balancer that has run HAProxy")
        module.exit_json(changed=False, actions=[], skipped=[f"no socket at {p['socket']} (HAProxy not installed yet)"],
                         sessions_left=0)
    try:
        result = run(Api(p["socket"]), p, check_mode=module.check_mode)
    except (OSError, RuntimeError) as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
