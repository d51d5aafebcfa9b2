#!/usr/bin/env python3
"""HAProxy's state on a test load balancer (a container of this test bed), read from its
admin socket and parsed with the haproxy_server module's own parsers
(plugins/modules/haproxy_server.py): no socat and awk in the tests.

  haproxy_state.py status CONTAINER           "server status" of every site backend's servers
  haproxy_state.py sampler                    prints the program that samples the socket
                                              inside the container (watch.sh runs it there)
  haproxy_state.py drains RAW                 the sampler's output as "EPOCH backend/server"
                                              lines, one per sample that found a server drained
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "haproxy_server", Path(__file__).resolve().parents[2] / "plugins" / "modules" / "haproxy_server.py")
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

SOCKET = "/run/haproxy/admin.sock"
# one command, its whole answer (HAProxy closes the connection after it)
READ = ("import socket, sys\n"
        "def ask(command):\n"
        "    with socket.socket(socket.AF_UNIX) as s:\n"
        "        s.settimeout(5); s.connect(%r); s.sendall(command.encode() + b'\\n')\n"
        "        return b''.join(iter(lambda: s.recv(65536), b'')).decode(errors='replace')\n" % SOCKET)
# every 0.2 s until the flag file exists (at most 15 minutes): "=== EPOCH" and the answer
SAMPLER = READ + (
    "import os, time\n"
    "flag, end = sys.argv[1], time.monotonic() + 900\n"
    "while not os.path.exists(flag) and time.monotonic() < end:\n"
    "    try:\n"
    "        text = ask('show servers state')\n"
    "    except OSError:\n"
    "        text = ''  # no HAProxy yet\n"
    "    print('=== %.3f' % time.time()); print(text, flush=True)\n"
    "    time.sleep(0.2)\n")


def ask(container, command):
    return subprocess.run(["podman", "exec", container, "python3", "-c", READ + "print(ask(sys.argv[1]), end='')", command],
                          capture_output=True, text=True, timeout=30, check=True).stdout


def status(container, prefix="site_"):
    return [f"{s['server']} {s['status']}" for s in hs.parse_stat(ask(container, "show stat"))
            if s["backend"].startswith(prefix)]


def drains(raw):
    """"EPOCH backend/server" for each sample (split by "=== EPOCH") that found it drained."""
    lines, epoch, sample = [], None, []
    for line in raw.splitlines() + ["=== end"]:
        if line.startswith("=== "):
            if epoch is not None:
                lines += [f"{epoch} {name}" for name in hs.drained_servers(hs.parse_servers_state("\n".join(sample)))]
            epoch, sample = line[4:], []
        else:
            sample.append(line)
    return lines


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "status":
        print("\n".join(status(sys.argv[2])))
    elif command == "sampler":
        print(SAMPLER)
    elif command == "drains":
        print("\n".join(drains(open(sys.argv[2]).read())))
    else:
        sys.exit(__doc__)
