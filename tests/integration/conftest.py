"""Shared fixtures of the integration checks, for every Molecule scenario.

The topology comes from Molecule's inventory (MOLECULE_INVENTORY_FILE): which hosts are in
db, cache, web and media. Hosts are reached with testinfra's podman backend. HTTP requests
are made with curl on a web host, through the real stack, to the name the site serves.
"""
import contextlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import testinfra
import yaml

_spec = importlib.util.spec_from_file_location("haproxy_state", Path(__file__).resolve().parents[1] / "lb" / "haproxy_state.py")
haproxy_state = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(haproxy_state)


def _walk(group, name, out):
    for host in (group or {}).get("hosts") or {}:
        out.setdefault(name, []).append(host)
        out.setdefault("all", [])
        if host not in out["all"]:
            out["all"].append(host)
    for child, sub in ((group or {}).get("children") or {}).items():
        _walk(sub, child, out)
        for host in out.get(child, []):
            if host not in out.setdefault(name, []):
                out[name].append(host)


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: stops a service or a host for a while (NTIER_QUICK skips it)")


def pytest_collection_modifyitems(config, items):
    """NTIER_CHECKS="test_a.py ...": a scenario that runs only these files of checks (one
    whose project is not the demo the others expect); the others are deselected.
    NTIER_HEAVY_ONLY=1: only the checks marked heavy (run when nothing else uses the hosts)."""
    only = os.environ.get("NTIER_CHECKS", "").split()
    heavy_only = bool(os.environ.get("NTIER_HEAVY_ONLY"))
    if not only and not heavy_only:
        return
    deselected = [item for item in items if (only and item.path.name not in only)
                  or (heavy_only and not item.get_closest_marker("heavy"))]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.fixture(scope="session")
def groups():
    if os.environ.get("NTIER_INVENTORY"):
        # a stage inventory of the grow scenario (tests/grow)
        listing = json.loads(subprocess.run(["ansible-inventory", "-i", os.environ["NTIER_INVENTORY"], "--list"],
                                            capture_output=True, text=True, check=True).stdout)
        out = {name: list(g.get("hosts") or []) for name, g in listing.items()
               if name not in ("_meta", "all", "ungrouped") and g.get("hosts")}
        # hosts listed in no group too (a node that left: its services must be stopped)
        out["all"] = sorted({h for hosts in out.values() for h in hosts}
                            | set(listing.get("ungrouped", {}).get("hosts") or []))
        return out
    with open(os.environ["MOLECULE_INVENTORY_FILE"]) as f:
        inventory = yaml.safe_load(f)
    out = {}
    # Molecule writes groups both as children of "all" and as top-level keys
    for name, group in inventory.items():
        _walk(group, name, out)
    out.pop("ungrouped", None)
    return out


@pytest.fixture(scope="session")
def hosts(groups):
    return {name: testinfra.get_host(f"podman://{name}") for name in groups["all"]}


# The sites the scenario deployed, "name=server_name,...": every site-level check runs per site.
SITES = [tuple(item.split("=", 1)) for item in os.environ.get("NTIER_SITES", "demo=demo.example.test").split(",")]
WEB_SERVER = os.environ.get("NTIER_WEB_SERVER", "gunicorn")


@pytest.fixture(scope="session", params=SITES, ids=[name for name, _ in SITES])
def site(request):
    return request.param


@pytest.fixture(scope="session")
def project(site):
    return site[0]


@pytest.fixture(scope="session")
def server_name(site):
    return site[1]


@pytest.fixture(scope="session")
def web_server():
    return WEB_SERVER


@pytest.fixture(scope="session")
def all_sites():
    return SITES


@dataclass
class Response:
    status: int
    headers: dict
    body: str
    cookies: dict = field(default_factory=dict)
    # curl's exit status: 0 when an answer came, 28 when none came in time
    curl_exit: int = 0

    @property
    def timed_out(self):
        """No answer within the timeout (not a refused connection, not an error page)."""
        return self.curl_exit == 28

    def header(self, name):
        return self.headers.get(name.lower(), "")


class Http:
    """curl on a client host, resolving the site's name to the entry point's address."""

    def __init__(self, client, name, address):
        self.client, self.name, self.address = client, name, address
        self.jar = f"/tmp/ntier-test-{uuid.uuid4().hex}.jar"

    def request(self, path, method="GET", scheme="https", host=None, data=None, files=None, headers=None,
                timeout=20):
        """One request; status 0 when curl got no answer (curl_exit says why: 28 is a timeout)."""
        tag = uuid.uuid4().hex
        hdr_file, body_file = f"/tmp/{tag}.h", f"/tmp/{tag}.b"
        url_host = host or self.name
        args = ["curl", "-sk", "--max-time", str(timeout), "-o", body_file, "-D", hdr_file, "-w", "%{http_code}",
                "-b", self.jar, "-c", self.jar, "-X", method,
                "--resolve", f"{self.name}:443:{self.address}", "--resolve", f"{self.name}:80:{self.address}"]
        for key, value in (headers or {}).items():
            args += ["-H", f"{key}: {value}"]
        for key, value in (data or {}).items():
            args += ["--data-urlencode", f"{key}={value}"]
        for key, value in (files or {}).items():
            args += ["-F", f"{key}={value}"]
        args.append(f"{scheme}://{url_host}{path}")
        out = self.client.run(" ".join(shlex.quote(a) for a in args)
                              + f"; echo \" $?\"; cat {hdr_file} 2>/dev/null; echo; echo ----BODY----;"
                              + f" cat {body_file} 2>/dev/null; rm -f {hdr_file} {body_file}")
        status_and_headers, _, body = out.stdout.partition("\n----BODY----\n")
        # the first line: curl's status code (000 without an answer) and its exit status
        first, _, raw_headers = status_and_headers.partition("\n")
        code, curl_exit = first.split()
        if int(curl_exit) != 0:
            return Response(0, {}, "", curl_exit=int(curl_exit))
        status = int(code)
        headers, cookies = {}, {}
        # only the last response's headers (curl -D writes each hop when following)
        for line in raw_headers.strip().split("\r\n")[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                if key == "set-cookie":
                    cname, _, rest = value.strip().partition("=")
                    cookies[cname] = value.strip()
                headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
        return Response(status, headers, body, cookies)

    def csrf_token(self, path):
        page = self.request(path)
        assert page.status == 200, page
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert match, "no CSRF token in the form"
        return match.group(1)

    def post_form(self, path, data=None, files=None):
        token = self.csrf_token(path)
        fields = dict(data or {}, csrfmiddlewaretoken=token)
        if files:
            # multipart: every field as -F
            files = dict(files, csrfmiddlewaretoken=token)
            fields = {}
        return self.request(path, "POST", data=fields, files=files,
                            headers={"Referer": f"https://{self.name}{path}"})


@pytest.fixture(scope="session")
def web(groups, hosts):
    return hosts[groups["web"][0]]


def private_address(host):
    return host.check_output("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1")


@pytest.fixture(scope="session")
def entry_address(groups, hosts):
    """Where the public reaches the site: the virtual IP, the first load balancer, or else
    the web host itself."""
    if os.environ.get("NTIER_VIP_NETWORK"):
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return subprocess.run([f"{top}/tools/podman-vip.sh", os.environ["NTIER_VIP_NETWORK"]],
                              capture_output=True, text=True, check=True).stdout.strip()
    if groups.get("lb"):
        return private_address(hosts[groups["lb"][0]])
    return "127.0.0.1"


@pytest.fixture(scope="session")
def new_http(web, server_name, entry_address):
    """Make a client with an empty cookie jar: HTTP from a web host through the entry point."""
    return lambda: Http(web, server_name, entry_address)


@pytest.fixture(scope="session")
def http(new_http):
    """HTTP through the whole stack, from a web host to the site's entry point."""
    return new_http()


# Patroni's command line on a database host of a cluster (Debian's configuration file)
PATRONICTL = "patronictl -c $(ls /etc/patroni/*-main.yml | head -1)"


def patroni_members(host):
    """Patroni's members, as a member's patronictl lists them: {name: its row}."""
    return {m["Member"]: m for m in json.loads(host.check_output(f"{PATRONICTL} list -f json"))}


def patroni_leader(hosts, names):
    """The member a reachable member's Patroni calls the leader (None while there is none)."""
    for name in names:
        r = hosts[name].run(f"{PATRONICTL} list -f json")
        if r.rc == 0:
            leaders = [m["Member"] for m in json.loads(r.stdout) if m["Role"] == "Leader" and m["State"] == "running"]
            return leaders[0] if leaders else None
    return None


@pytest.fixture(scope="session")
def media_dedicated(groups):
    return bool(groups.get("media")) and not set(groups["media"]) & set(groups["web"])


class App:
    """A site's application processes, whichever WSGI server runs them."""

    def __init__(self, host, project, web_server):
        self.host, self.project, self.web_server = host, project, web_server

    def pids(self):
        """The processes that run the project's code: gunicorn's workers (not its master),
        or the mod_wsgi daemon processes (they run as the project's user)."""
        if self.web_server == "gunicorn":
            cmd = f"pgrep -u {self.project} -P $(systemctl show -p MainPID --value gunicorn-{self.project}.service)"
        else:
            cmd = f"pgrep -u {self.project}"
        return set(self.host.run(cmd).stdout.split())

    def pause(self):
        if self.web_server == "gunicorn":
            self.host.run_test(f"systemctl stop gunicorn-{self.project}.socket gunicorn-{self.project}.service")
        else:
            self.host.run_test(f"pkill -STOP -u {self.project}")

    def resume(self):
        if self.web_server == "gunicorn":
            self.host.run_test(f"systemctl start gunicorn-{self.project}.socket gunicorn-{self.project}.service")
        else:
            self.host.run_test(f"pkill -CONT -u {self.project}")

    def reload(self):
        """Reload the way a deploy does for new settings."""
        if self.web_server == "gunicorn":
            self.host.run_test(f"systemctl reload gunicorn-{self.project}.service")
        else:
            self.host.run_test(f"pkill --signal USR1 --uid {self.project} --full '^\\(wsgi:{self.project}\\)'")


@pytest.fixture(scope="session")
def app_of(web, web_server):
    return lambda project: App(web, project, web_server)


def wait_until(predicate, seconds=20, step=0.5):
    """As soon as predicate() holds (polled every ``step`` seconds): the moment it did
    (time.monotonic(), a true value); None if it did not within ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return time.monotonic()
        time.sleep(step)
    return None


def run_site(*args, playbook="site.yml"):
    """site.yml (or another playbook of the project's) on the scenario's inventory: (return
    code, its output in one line)."""
    env = {**os.environ,
           "ANSIBLE_CONFIG": os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"),
           "ANSIBLE_COLLECTIONS_PATH": os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "collections"),
           "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                          os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], playbook), *args],
                         capture_output=True, text=True, env=env, timeout=900)
    # (ansible-core 2.19 prints a task's error on stderr)
    return run.returncode, " ".join(re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + "\n" + run.stderr).split())


def haproxy_servers(lb, backend):
    """{server: status} of one backend on a load balancer, from HAProxy's "show stat" (its
    admin socket), parsed by the haproxy_server module's parser (tests/lb/haproxy_state.py)."""
    out = lb.check_output("python3 -c %s %s", haproxy_state.READ + "print(ask(sys.argv[1]), end='')", "show stat")
    return {s["server"]: s["status"] for s in haproxy_state.hs.parse_stat(out) if s["backend"] == backend}


class Apps:
    """A site's application on every web node at once (and the load balancers in front)."""

    def __init__(self, apps, lbs=()):
        self.apps, self.lbs = apps, list(lbs)

    def wait_up(self, within=30):
        """Wait until every load balancer sees every web node of the site UP again: after
        the application was stopped long enough, HAProxy's checks marked the nodes DOWN,
        and they need haproxy_check_rise passing checks to come back."""
        backend = f"site_{self.apps[0].project}"
        deadline = time.monotonic() + within
        for lb in self.lbs:
            while True:
                down = {name: status for name, status in haproxy_servers(lb, backend).items() if status != "UP"}
                if not down:
                    break
                assert time.monotonic() < deadline, f"{lb.backend.hostname}: not UP {within} s after the restart: {down}"
                time.sleep(0.5)

    def pause(self):
        for app in self.apps:
            app.pause()

    def resume(self):
        for app in self.apps:
            app.resume()

    @contextlib.contextmanager
    def paused(self):
        """The application stopped on every web node for the duration of the block."""
        self.pause()
        try:
            yield
        finally:
            self.resume()
        self.wait_up()


@pytest.fixture(scope="session")
def apps_of(groups, hosts, web_server):
    return lambda project: Apps([App(hosts[h], project, web_server) for h in groups["web"]],
                                [hosts[h] for h in groups.get("lb", [])])


class Background:
    """A thread that runs self._run() while the with-block runs (until self._stop is set)."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


class Writes(Background):
    """A client that POSTs a note through the site twice a second while the block runs:
    [(time, note, status)], -1 for the client's own failure."""
    prefix = "failover"

    def __init__(self, client):
        super().__init__()
        self.client, self.done = client, []

    def _run(self):
        token, i = self.client.csrf_token("/notes/"), 0
        while not self._stop.is_set():
            note = f"{self.prefix}-{uuid.uuid4().hex[:6]}-{i}"
            try:
                status = self.client.request("/notes/", "POST", data={"text": note, "csrfmiddlewaretoken": token},
                                             headers={"Referer": f"https://{self.client.name}/notes/"}, timeout=10).status
            except Exception:  # noqa: BLE001 - the client's own failure counts as a failed write
                status = -1
            self.done.append((time.monotonic(), note, status))
            i += 1
            time.sleep(0.5)

    def acknowledged(self):
        return [n for _, n, s in self.done if s == 302]

    def first_ok_after(self, moment):
        return next((t for t, _, s in self.done if t > moment and s == 302), None)



class Reads(Background):
    """A client that GETs ``path`` through the site five times a second while the block
    runs: [(time, status)], -1 for the client's own failure."""

    def __init__(self, client, path="/notes/"):
        super().__init__()
        self.client, self.path, self.done = client, path, []

    def _run(self):
        while not self._stop.is_set():
            try:
                status = self.client.request(self.path, timeout=10).status
            except Exception:  # noqa: BLE001 - the client's own failure counts as a failed read
                status = -1
            self.done.append((time.monotonic(), status))
            time.sleep(0.2)


def outages(samples, ok):
    """The spans (first failure, first success after it) of the samples [(time, ...)] for
    which ok(sample) is false, in seconds; an outage still going at the end runs to the
    last sample."""
    spans, start = [], None
    for sample in samples:
        if not ok(sample) and start is None:
            start = sample[0]
        elif ok(sample) and start is not None:
            spans.append((start, sample[0]))
            start = None
    if start is not None:
        spans.append((start, samples[-1][0]))
    return spans
