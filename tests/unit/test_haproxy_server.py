import importlib.util
import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "haproxy_server", Path(__file__).parents[2] / "plugins" / "modules" / "haproxy_server.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

HEADER = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"


def state(*servers):
    """servers: (backend, server, op_state, admin_state)"""
    return HEADER + "".join(f"3 {be} {i} {srv} 10.0.0.{i} {op} {adm} 1 1 0\n"
                            for i, (be, srv, op, adm) in enumerate(servers, 1)) + "\n"


def stat(*rows):
    """rows: (backend, server, sessions, status)"""
    head = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,\n"
    body = "".join(f"{be},{srv},0,0,{n},0,,0,0,0,0,0,0,0,0,0,0,{st},\n" for be, srv, n, st in rows)
    return head + "site_demo,FRONTEND,,,0,0,,0,0,0,0,0,0,,,,,OPEN,\n" + body + "site_demo,BACKEND,0,0,0,0,,0,0,0,0,0,0,0,0,0,0,UP,\n"


class FakeHAProxy:
    """Answers the runtime API from a script: {command prefix: [replies, in turn]}."""

    def __init__(self, script):
        self.script = {k: list(v) for k, v in script.items()}
        self.sent = []

    def __call__(self, command):
        self.sent.append(command)
        for prefix, replies in self.script.items():
            if command.startswith(prefix):
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return ""


def test_parsers_read_haproxy_output():
    assert mod.parse_servers_state(state(("site_demo", "web1", 2, 8))) == [
        {"backend": "site_demo", "server": "web1", "op_state": 2, "admin_state": 8}]
    assert mod.parse_stat(stat(("site_demo", "web1", 3, "DRAIN"))) == [
        {"backend": "site_demo", "server": "web1", "sessions": 3, "status": "DRAIN"}]


def test_drain_one_node_but_never_the_last_in_service():
    servers = mod.parse_servers_state(state(("site_demo", "web1", 2, 0), ("site_demo", "web2", 2, 0),
                                            ("site_blog", "web1", 2, 0), ("site_blog", "web2", 2, 8)))
    actions, skipped = mod.plan(servers, "drain", name="web1")
    assert actions == [("site_demo", "web1", "drain")]
    assert skipped == ["site_blog: web1 is the only server in service, not drained"]
    # web2 is drained in site_blog already; in site_demo web1 is still in service
    assert mod.plan(servers, "drain", name="web2") == ([("site_demo", "web2", "drain")], [])


def test_ready_clears_drain_and_maintenance_only_where_set():
    servers = mod.parse_servers_state(state(("site_a", "web1", 2, 8), ("site_b", "web1", 0, 1), ("site_c", "web1", 2, 0)))
    assert mod.plan(servers, "ready", name="web1")[0] == [("site_a", "web1", "ready"), ("site_b", "web1", "ready")]


def test_drain_the_leavers_of_every_site_backend():
    api = FakeHAProxy({"show servers state": [state(("site_demo", "web1", 2, 0), ("site_demo", "web3", 2, 0),
                                                    ("files", "media1", 2, 0))],
                       "show stat": [stat(("site_demo", "web3", 2, "DRAIN")), stat(("site_demo", "web3", 0, "DRAIN"))]})
    result = mod.run(api, {"state": "drain", "keep": ["web1"], "timeout": 5}, sleep=lambda s: None)
    assert result["actions"] == ["site_demo/web3 drain"] and result["changed"]
    assert "set server site_demo/web3 state drain" in api.sent
    assert not any("media1" in c for c in api.sent)
    assert result["sessions_left"] == 0


def test_a_drain_wait_is_bounded_and_says_what_was_left():
    api = FakeHAProxy({"show servers state site_demo": [state(("site_demo", "web1", 2, 0), ("site_demo", "web2", 2, 0))],
                       "show stat": [stat(("site_demo", "web1", 4, "DRAIN"))]})
    result = mod.run(api, {"state": "drain", "name": "web1", "backends": ["site_demo"], "timeout": 3}, sleep=lambda s: None)
    assert result["sessions_left"] == 4
    assert api.sent.count("show stat") == 4


def test_ready_waits_for_up_and_fails_after_the_timeout():
    up = FakeHAProxy({"show servers state site_demo": [state(("site_demo", "web1", 2, 8))],
                      "show stat": [stat(("site_demo", "web1", 0, "DOWN")), stat(("site_demo", "web1", 0, "UP"))]})
    assert mod.run(up, {"state": "ready", "name": "web1", "backends": ["site_demo"]}, sleep=lambda s: None)["changed"]
    down = FakeHAProxy({"show servers state site_demo": [state(("site_demo", "web1", 2, 0))],
                        "show stat": [stat(("site_demo", "web1", 0, "DOWN 1/2"))]})
    with pytest.raises(RuntimeError, match="not UP after 2 s: site_demo/web1: DOWN 1/2"):
        mod.run(down, {"state": "ready", "name": "web1", "backends": ["site_demo"], "timeout": 2}, sleep=lambda s: None)


def test_check_mode_and_an_api_error():
    servers = state(("site_demo", "web1", 2, 0), ("site_demo", "web2", 2, 0))
    api = FakeHAProxy({"show servers state": [servers]})
    result = mod.run(api, {"state": "drain", "name": "web1"}, check_mode=True)
    assert result["actions"] == ["site_demo/web1 drain"] and not any(c.startswith("set ") for c in api.sent)
    refused = FakeHAProxy({"show servers state": [servers], "set server": ["No such server.\n"]})
    with pytest.raises(RuntimeError, match="No such server"):
        mod.run(refused, {"state": "drain", "name": "web1", "wait": False})


def test_the_api_speaks_over_a_unix_socket():
    path = os.path.join(tempfile.mkdtemp(), "admin.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = []

    def serve():
        conn, _ = srv.accept()
        got.append(conn.recv(1024))
        conn.sendall(b"reply\n")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    assert mod.Api(path)("show info") == "reply\n"
    t.join()
    srv.close()
    assert got == [b"show info\n"]
