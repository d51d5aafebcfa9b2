"""End-to-end checks of a deployed topology: HTTP through nginx, the WSGI server and
Django to PostgreSQL and memcached, files, permissions and listening sockets."""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import shlex
import tempfile
import threading
import time
import uuid

import pytest
from conftest import Http, haproxy_servers, private_address, wait_until


def test_https_page_through_the_stack(http, groups):
    r = http.request("/")
    assert r.status == 200, r
    assert "ntier demo" in r.body
    # served by one of the web hosts
    assert re.search(r'<span id="node">([^<]+)</span>', r.body).group(1) in groups["web"]
    hsts = r.header("strict-transport-security")
    assert "max-age=31536000" in hsts


def test_plain_http_redirects_to_https(http, server_name):
    r = http.request("/notes/?x=1", scheme="http")
    assert r.status == 301
    assert r.header("location") == f"https://{server_name}/notes/?x=1"


def test_health_answers_by_address_over_http(web, hosts, groups, project, all_sites, server_name):
    # a load balancer probes by address: no ALLOWED_HOSTS, no HTTPS redirect
    if groups.get("lb"):
        prober, target = hosts[groups["lb"][0]], private_address(web)
    else:
        prober, target = web, "127.0.0.1"
    r = Http(prober, server_name, target).request("/-/health/", scheme="http", host=target)
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body["status"] == "ok"
    # the first site is the default one for requests by address: it reports its current release
    first = all_sites[0][0]
    assert body["release"] == web.check_output(f"basename $(readlink -f /srv/django/{first}/current)")


def test_site_serves_its_current_release(http, web, project):
    r = http.request("/-/health/")
    assert r.status == 200, r
    release = web.check_output(f"basename $(readlink -f /srv/django/{project}/current)")
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]{6}", release)
    assert json.loads(r.body)["release"] == release
    assert r.header("x-release") == release


def test_certificate_lists_every_server_name(hosts, groups, web, project):
    # a self-signed certificate names each server name: DNS names, and addresses as IP entries
    names = os.environ.get("NTIER_CERT_NAMES", "").split()
    if not names:
        pytest.skip("the scenario lists no certificate names to check")
    terminator = hosts[groups["lb"][0]] if groups.get("lb") else web
    sans = terminator.check_output(
        "python3 -c 'import sys; from cryptography import x509;"
        " c = x509.load_pem_x509_certificate(open(sys.argv[1], \"rb\").read());"
        " print(c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)'"
        f" /etc/ssl/ntier/{project}.crt"
    )
    for name in names:
        try:
            entry = f"IPAddress(value={ipaddress.ip_address(name)})"
        except ValueError:
            entry = f"DNSName(value='{name}')"
        assert entry in sans, sans


def test_unknown_host_is_refused(http, groups):
    r = http.request("/", headers={"Host": "unknown.example.test"})
    # Django's ALLOWED_HOSTS (400), or the load balancer, which knows no such site (421); Apache
    # answers 421 itself when the name differs from the TLS connection's (SNI)
    assert r.status in ((421,) if groups.get("lb") else (400, 421)), r.status


def test_post_writes_a_row_read_back(http, hosts, groups, project):
    text = f"note-{uuid.uuid4().hex}"
    r = http.post_form("/notes/", data={"text": text})
    assert r.status == 302, r
    page = http.request("/notes/")
    assert text in page.body
    db = hosts[groups["db"][0]]
    count = db.check_output(
        f"runuser -u postgres -- psql -d {project} -tAc \"SELECT count(*) FROM notes_note WHERE text = '{text}'\"")
    assert count.strip() == "1"


def test_csrf_cookie_is_secure(new_http):
    # a new client gets a CSRF cookie with the form: it must be HTTPS-only
    r = new_http().request("/notes/")
    assert "Secure" in r.cookies["csrftoken"]


def _upload(http, name, content):
    http.client.run(f"printf '%s' {json.dumps(content)} > /tmp/{name}")
    r = http.post_form("/upload/", files={"file": f"@/tmp/{name};filename={name}"})
    assert r.status == 302, r
    listing = http.request("/upload/").body
    urls = re.findall(r'href="(/media/[^"]*' + re.escape(name.rsplit(".", 1)[0]) + r'[^"]*)"', listing)
    assert urls, listing
    return urls[0]


def test_upload_is_served_by_nginx_from_media_root(http, hosts, groups, project, media_dedicated):
    content = f"plain text {uuid.uuid4().hex}"
    url = _upload(http, f"hello-{uuid.uuid4().hex[:8]}.txt", content)
    r = http.request(url)
    assert r.status == 200
    assert r.body == content
    assert r.header("x-content-type-options") == "nosniff"
    # harmless types keep their type (the whitelist is not "everything is a download")
    assert r.header("content-type").startswith("text/plain")
    media_host = hosts[(groups.get("media") or groups["web"])[0]]
    # on the media tier's store, or on the web host's own disk
    root = f"/srv/media/{project}" if media_dedicated else f"/srv/django/{project}"
    assert media_host.file(f"{root}{url}").content_string == content
    for name in groups["web"]:
        # every web node sees the upload at once (the media tier's store is mounted there)
        assert hosts[name].file(f"/srv/django/{project}{url}").content_string == content


def test_a_link_among_the_uploads_is_not_followed(http, hosts, groups, project, media_dedicated):
    """An upload directory entry that is a symbolic link (to a file the web server can read)
    is not served: neither nginx nor Apache follows links out of the uploads."""
    media_host = hosts[(groups.get("media") or groups["web"])[0]]
    root = f"/srv/media/{project}/media" if media_dedicated else f"/srv/django/{project}/media"
    name = f"link-{uuid.uuid4().hex[:8]}.txt"
    media_host.check_output(f"ln -s /etc/os-release {root}/{name}")
    try:
        r = http.request(f"/media/{name}")
        assert r.status in (403, 404), r
        assert "PRETTY_NAME" not in r.body
    finally:
        media_host.check_output(f"rm -f {root}/{name}")


@pytest.mark.parametrize("ext,content", [
    ("html", "<html><script>alert(1)</script></html>"),
    ("svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ("php", "<?php echo 1+1; ?>"),
])
def test_uploaded_active_content_is_not_a_page(http, ext, content):
    url = _upload(http, f"evil-{uuid.uuid4().hex[:8]}.{ext}", content)
    r = http.request(url)
    assert r.status == 200
    # delivered as bytes to download, never as a document of the site, never executed
    assert r.header("content-type") == "application/octet-stream"
    assert r.header("x-content-type-options") == "nosniff"
    assert "sandbox" in r.header("content-security-policy")
    assert r.body == content


def test_static_file_hashed_and_cached_for_a_year(http, web, project):
    page = http.request("/")
    match = re.search(r'href="(/static/notes/style\.[0-9a-f]{12}\.css)"', page.body)
    assert match, "the page does not link a hashed stylesheet"
    r = http.request(match.group(1))
    assert r.status == 200
    # the stylesheet of the release the site runs, byte for byte
    assert r.body == web.file(f"/srv/django/{project}/current/src/notes/static/notes/style.css").content_string
    # after a new release (grow's first step, Molecule side_effect), its changed stylesheet
    if os.environ.get("NTIER_STATIC_MARKER"):
        assert os.environ["NTIER_STATIC_MARKER"] in r.body
    cache = r.header("cache-control")
    assert "max-age=31536000" in cache and "immutable" in cache
    assert web.file(f"/srv/django/{project}{match.group(1)}").exists


def test_static_file_served_without_django(http, apps_of, project):
    page = http.request("/")
    path = re.search(r'href="(/static/[^"]+\.css)"', page.body).group(1)
    with apps_of(project).paused():
        assert http.request(path).status == 200
        # the application itself does not answer meanwhile: the web server says so (gunicorn's
        # socket is stopped) or the request waits (mod_wsgi's daemons are stopped)
        r = http.request("/notes/", timeout=3)
        assert r.status in (502, 503, 504) or r.timed_out, r
    assert http.request("/notes/").status == 200


# Reads every hashed stylesheet under a static root in a loop, as a web server would, until
# a stop file appears: a file missing, or whose content does not match the hash in its name
# (empty or half written), is a bad read. Prints a JSON summary.
_STATIC_READER = r"""
import glob, hashlib, json, os, re, sys, time
root, stop = sys.argv[1], sys.argv[2]
names = [p for p in glob.glob(root + "/**/*.css", recursive=True) if re.search(r"\.[0-9a-f]{12}\.css$", p)]
reads, bad, deadline = 0, [], time.time() + 300
while not os.path.exists(stop) and time.time() < deadline:
    for p in names:
        reads += 1
        try:
            with open(p, "rb") as f:
                whole = hashlib.md5(f.read()).hexdigest()[:12] == p.rsplit(".", 2)[1]
        except FileNotFoundError:
            whole = False
        if not whole:
            bad.append(p)
print(json.dumps({"files": len(names), "reads": reads, "bad": len(bad), "which": sorted(set(bad))[:5]}))
"""


def test_collecting_static_files_again_never_breaks_a_served_one(web, hosts, groups, project, media_dedicated):
    """Every deploy collects the static files into the root the site serves meanwhile: each
    stylesheet stays there, whole, all along (Django's own storage deletes a processed file
    and writes it again; a client asking in between got a 404 or a truncated file)."""
    holder = hosts[groups["media"][0]] if media_dedicated else web
    root = f"/srv/media/{project}/static" if media_dedicated else f"/srv/django/{project}/static"
    stop = f"/run/ntier-check-static-{uuid.uuid4().hex[:8]}"
    out = {}
    reader = threading.Thread(target=lambda: out.update(
        r=holder.run(f"python3 -c {shlex.quote(_STATIC_READER)} {root} {stop}")))
    reader.start()
    try:
        time.sleep(1)
        for _ in range(3):
            web.check_output(f"{project}-manage collectstatic --noinput")
    finally:
        holder.run(f"touch {stop}")
        reader.join(60)
        holder.run(f"rm -f {stop}")
    summary = json.loads(out["r"].stdout)
    print(summary)
    assert summary["files"] > 0 and summary["reads"] > 0, summary
    assert summary["bad"] == 0, f"a stylesheet was missing or partial while collectstatic ran: {summary}"


def _memcached_stats(host, address="127.0.0.1"):
    out = host.check_output(
        f"bash -c 'exec 3<>/dev/tcp/{address}/11211; printf \"stats\\r\\nquit\\r\\n\" >&3; cat <&3'")
    return {parts[1]: parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) == 3 and parts[0] == "STAT"}


def test_cached_page_comes_from_memcached(http, hosts, groups):
    def hits():
        # the page's key lives on one of the cache hosts
        return sum(int(_memcached_stats(hosts[name])["get_hits"]) for name in groups["cache"])
    first = http.request("/cached/")
    assert first.status == 200
    before = hits()
    second = http.request("/cached/")
    rendered = re.compile(r'<span id="rendered-at">([^<]+)</span>')
    assert rendered.search(second.body).group(1) == rendered.search(first.body).group(1)
    assert hits() > before


def test_django_deploy_checks_pass(web, project):
    out = web.run(f"{project}-manage check --deploy --fail-level WARNING")
    assert out.rc == 0, out.stderr
    assert "no issues" in out.stdout


def django_shell(host, project, code):
    """The last line printed by code run in the project's shell, with the deployed settings."""
    return host.check_output(f"{project}-manage shell -c \"{code}\"").strip().splitlines()[-1]


def test_deployed_settings(web, project):
    code = ("from django.conf import settings as s; import json; print(json.dumps([s.DEBUG, s.CACHES['default']['BACKEND'],"
            " s.SESSION_ENGINE, s.DATABASES['default']['CONN_MAX_AGE'], s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
            " s.CSRF_COOKIE_SECURE, len(s.SECRET_KEY), bool(s.ADMINS),"
            " s.STORAGES['staticfiles']['BACKEND']]))")
    values = json.loads(django_shell(web, project, code))
    assert values == [False, "django.core.cache.backends.memcached.PyMemcacheCache",
                      "django.contrib.sessions.backends.cached_db", 60, True, True, True, 64, True,
                      "ntier_staticfiles.ManifestStaticFilesStorage"]


def test_postgres_app_added_once(web, project):
    # the deployment sets PostgreSQL, so it adds django.contrib.postgres (the demo lacks it);
    # no app or middleware is listed twice
    code = "from django.conf import settings as s; import json; print(json.dumps([list(s.INSTALLED_APPS), list(s.MIDDLEWARE)]))"
    apps, middleware = json.loads(django_shell(web, project, code))
    assert "django.contrib.postgres" in apps
    assert len(apps) == len(set(apps)), apps
    assert len(middleware) == len(set(middleware)), middleware


def test_templates_use_the_cached_loader(web, project):
    code = ("from django.template import engines; "
            "print([type(l).__module__ for l in engines['django'].engine.template_loaders])")
    assert "django.template.loaders.cached" in django_shell(web, project, code)


@pytest.mark.parametrize("name", ["secrets.json", "ntier_settings.py", "env"])
def test_settings_and_secrets_are_not_world_readable(web, project, name):
    f = web.file(f"/srv/django/{project}/config/{name}")
    assert f.exists
    assert f.mode & 0o007 == 0
    assert f.user == "root" and f.group == project


def test_releases_side_by_side(web, project):
    current = web.check_output(f"basename $(readlink -f /srv/django/{project}/current)")
    releases = web.check_output(f"ls /srv/django/{project}/releases").split()
    assert current in releases
    # the code is the project's to read, nobody else's
    assert web.check_output(f"stat -c '%U %G %a' /srv/django/{project}/releases") == f"root {project} 750"
    assert web.run(f"runuser -u nobody -- ls /srv/django/{project}/releases").rc != 0
    # built by the project's user (pip never ran as root), then handed to root: the running
    # project cannot rewrite its own packages
    assert web.check_output(f"find /srv/django/{project}/current/venv ! -user root | head -3") == ""
    if os.environ.get("NTIER_STATIC_MARKER"):
        # after a second release, the one before it is kept for a rollback ("previous")
        previous = web.check_output(f"basename $(readlink -f /srv/django/{project}/previous)")
        assert previous in releases and previous != current, (previous, current, releases)
    # what the source's VCS ignores (grow's second release has .env, db.sqlite3, media/)
    for ignored in (".env", "db.sqlite3", "media/local.txt"):
        assert not web.file(f"/srv/django/{project}/current/src/{ignored}").exists, ignored


def test_code_is_not_writable_by_the_project(web, project):
    src = web.file(f"/srv/django/{project}/current/src")
    assert src.user == "root"
    assert web.run(f"runuser -u {project} -- touch /srv/django/{project}/current/src/x").rc != 0


def _listeners(host, port):
    out = host.check_output(f"ss -Hltn 'sport = :{port}'")
    return sorted(line.split()[3].rsplit(":", 1)[0] for line in out.splitlines())


def test_postgresql_listens_only_where_the_topology_says(hosts, groups):
    db = hosts[groups["db"][0]]
    assert db.service(db.check_output("systemctl list-units --plain --no-legend 'postgresql@*' | awk '{print $1}'")).is_running
    listeners = _listeners(db, 5432)
    assert listeners, "PostgreSQL is not listening"
    if set(groups["web"]) == set(groups["db"]):
        assert set(listeners) <= {"127.0.0.1", "[::1]"}, listeners
    else:
        # loopback and the host's private address, nothing else (not 0.0.0.0)
        private = private_address(db)
        assert set(listeners) <= {"127.0.0.1", "[::1]", private}, listeners
        assert private in listeners


def test_postgresql_admits_only_the_web_tier(hosts, groups, project):
    """From a host outside the web tier (the database host itself, by its private address),
    the project's role is refused even with the right password: PostgreSQL's own IP filter
    drops the connection (a timeout), or pg_hba refuses it."""
    db = hosts[groups["db"][0]]
    if set(groups["web"]) == set(groups["db"]):
        pytest.skip("one host: PostgreSQL is not on the network")
    web = hosts[groups["web"][0]]
    password = json.loads(web.file(f"/srv/django/{project}/config/secrets.json").content_string)["database_password"]
    private = private_address(db)
    query = f"PGCONNECT_TIMEOUT=2 PGPASSWORD='{password}' psql -h {private} -U {project} -d {project} -tAc 'SELECT 1'"
    assert web.check_output(query) == "1"
    refused = db.run(query)
    assert refused.rc != 0 and ("no pg_hba.conf entry" in refused.stderr or "timeout expired" in refused.stderr), \
        refused.stderr


def test_the_web_tier_reaches_the_database_over_verified_tls(hosts, groups, project, http):
    """PostgreSQL on another host admits the web tier over TLS only, with a certificate of
    the deployment's CA for its address: a plain connection is refused, one that does not
    trust that CA fails, and Django's own connections are encrypted."""
    db = hosts[groups["db"][0]]
    if set(groups["web"]) == set(groups["db"]):
        pytest.skip("one host: PostgreSQL is not on the network")
    web = hosts[groups["web"][0]]
    password = json.loads(web.file(f"/srv/django/{project}/config/secrets.json").content_string)["database_password"]

    def psql(options):
        return web.run(f"PGCONNECT_TIMEOUT=5 PGPASSWORD='{password}' psql 'host={private_address(db)} user={project} "
                       f"dbname={project} {options}' -tAc 'SELECT 1'")
    assert psql("sslmode=verify-full sslrootcert=/etc/ntier-django/db-ca.crt").stdout.strip() == "1"
    plain = psql("sslmode=disable")
    assert plain.rc != 0 and "no encryption" in plain.stderr, plain.stderr
    untrusted = psql("sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt")
    assert untrusted.rc != 0 and "certificate verify failed" in untrusted.stderr, untrusted.stderr
    assert http.request("/notes/").status == 200
    sessions = db.check_output(
        "runuser -u postgres -- psql -tA -F ' ' -c \"SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)"
        f" FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = '{project}' AND a.client_addr IS NOT NULL\"")
    encrypted, plain_sessions = (int(n) for n in sessions.split())
    assert encrypted > 0 and plain_sessions == 0, sessions


def test_memcached_listens_only_where_the_topology_says(hosts, groups):
    for name in groups["cache"]:
        cache = hosts[name]
        assert cache.service("memcached").is_running
        listeners = _listeners(cache, 11211)
        if set(groups["web"]) == set(groups["cache"]) and len(groups["cache"]) == 1:
            # the only cache host serves only itself: loopback
            assert listeners == ["127.0.0.1"], listeners
        else:
            # web nodes reach it: loopback and its private address, nothing else (not 0.0.0.0)
            assert listeners == sorted(["127.0.0.1", private_address(cache)]), listeners


def test_controller_secrets_are_private():
    import stat
    root = os.environ["NTIER_SECRETS_DIR"]
    assert os.path.isfile(os.path.join(root, "demo", "secret_key")), "no generated secret found"
    for dirpath, _, files in os.walk(root):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) & 0o077 == 0, dirpath
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(dirpath, name)).st_mode) & 0o077 == 0, name


def test_services_enabled_and_healthy(hosts, groups, project, web_server):
    running = {"gunicorn": ["nginx", f"gunicorn-{project}.socket", f"gunicorn-{project}.service"],
               "mod_wsgi": ["apache2"]}[web_server]
    gone = {"gunicorn": ["apache2"], "mod_wsgi": ["nginx", f"gunicorn-{project}.socket", f"gunicorn-{project}.service"]}[web_server]
    for name in groups["web"]:
        h = hosts[name]
        for unit in running:
            assert h.service(unit).is_enabled, unit
            assert h.service(unit).is_running, unit
        # the web server not chosen (e.g. before a switch) is not left running
        for unit in gone:
            assert not h.service(unit).is_running, unit
    for name, h in hosts.items():
        failed = h.check_output("systemctl list-units --failed --plain --no-legend")
        assert failed.strip() == "", f"{name}: {failed}"


def _connects(client, address, port):
    # a dropped connection (an IP filter) only times out: 2 s is ages on a private network
    return client.run(f"timeout 2 bash -c 'exec 3<>/dev/tcp/{address}/{port}'").rc == 0


def test_database_and_cache_refuse_hosts_outside_the_web_tier(hosts, groups):
    """From every host outside the web tier, PostgreSQL and memcached do not even accept
    a connection (pg_hba for the database, the nftables firewall for both)."""
    outsiders = [h for h in groups["all"] if h not in groups["web"]]
    targets = [(h, 5432) for h in groups["db"]] + [(h, 11211) for h in groups["cache"]]
    checked = 0
    for client in outsiders:
        for host, port in targets:
            if host == client:
                continue
            assert not _connects(hosts[client], private_address(hosts[host]), port), f"{client} reached {host}:{port}"
            checked += 1
    for host, port in targets:
        # while the web tier does reach them when they are on another host
        if host not in groups["web"]:
            assert _connects(hosts[groups["web"][0]], private_address(hosts[host]), port), f"web cannot reach {host}:{port}"
    if not checked:
        pytest.skip("no host outside the web tier besides the tiers' own hosts")


def test_postgresql_runs_its_settings_and_admits_the_web_tier(hosts, groups):
    """No setting waits for a restart after a run, and max_connections covers what the web
    tier can hold (ntier.django.db_connections: at least 100)."""
    db = hosts[groups["db"][0]]
    sql = "runuser -u postgres -- psql -tAc \"{}\""
    assert db.check_output(sql.format("SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart")) == ""
    assert int(db.check_output(sql.format("SHOW max_connections"))) >= 100


# checks that stop a service or a host for a while: grow runs them at one step (NTIER_QUICK
# elsewhere), alone (NTIER_HEAVY_ONLY: nothing else runs against the hosts meanwhile)
def heavy(check):
    return pytest.mark.heavy(
        pytest.mark.skipif(bool(os.environ.get("NTIER_QUICK")), reason="run at another step of this scenario")(check))


@heavy
def test_database_and_cache_stay_closed_without_the_firewall_table(hosts, groups):
    """Debian's own nftables service flushes the whole ruleset when it (re)starts: the
    table is gone, and PostgreSQL and memcached still refuse every host outside the web
    tier (each service's own IP filter), while the web tier still reaches them."""
    outsiders = [h for h in groups["all"] if h not in groups["web"]]
    targets = [(h, 5432) for h in groups["db"] if h not in groups["web"]] \
        + [(h, 11211) for h in groups["cache"] if h not in groups["web"]]
    pairs = [(c, h, p) for c in outsiders for h, p in targets if c != h]
    if not pairs:
        pytest.skip("no host outside the web tier besides the tiers' own hosts")
    flushed = sorted({h for h, _ in targets})
    for host in flushed:
        hosts[host].check_output("systemctl restart nftables && ! nft list table inet ntier_django 2>/dev/null")
    try:
        for client, host, port in pairs:
            assert not _connects(hosts[client], private_address(hosts[host]), port), \
                f"{client} reached {host}:{port} without the firewall table"
        for host, port in targets:
            assert _connects(hosts[groups["web"][0]], private_address(hosts[host]), port), f"web cannot reach {host}:{port}"
    finally:
        for host in flushed:
            hosts[host].check_output("systemctl stop nftables && systemctl reload ntier-django-firewall.service")


@heavy
def test_a_database_outage_takes_no_node_out_of_rotation(http, hosts, groups, project, web):
    """The load balancers' check is liveness (the process answers, with its release), not
    the shared database: with PostgreSQL stopped every node stays in rotation, and what
    needs no database (the cached page, static files) still answers; readiness (the health
    path with ?ready, what a deploy waits for) says the database is down."""
    if not groups.get("lb"):
        pytest.skip("no load balancer")
    page = http.request("/")
    style = re.search(r'href="(/static/[^"]+\.css)"', page.body).group(1)
    # the cached page in the cache for this client: two answers rendered at the same time
    # (the first request of a new client may still change its cookies, and so its cache key)
    rendered = re.compile(r'<span id="rendered-at">([^<]+)</span>')
    assert wait_until(lambda: len({rendered.search(http.request("/cached/").body).group(1) for _ in range(2)}) == 1, 10)
    db = hosts[groups["db"][0]]
    health = f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: {http.name}' http://127.0.0.1/-/health/"
    db.check_output("systemctl stop postgresql")
    try:
        assert wait_until(lambda: web.check_output(health + "?ready") == "503", 20), "readiness ignores the database"
        # longer than haproxy_check_fall failed checks (2 x 2 s)
        time.sleep(8)
        for lb in groups["lb"]:
            servers = haproxy_servers(hosts[lb], f"site_{project}")
            assert servers and set(servers.values()) == {"UP"}, f"{lb}: {servers}"
        assert web.check_output(health) == "200"
        assert http.request("/cached/").status == 200
        assert http.request(style).status == 200
        assert http.request("/notes/").status >= 500
    finally:
        db.check_output("systemctl start postgresql")
    assert wait_until(lambda: web.check_output(health + "?ready") == "200", 30)
    assert http.request("/notes/").status == 200


@heavy
def test_pages_answer_with_the_media_host_down(http, hosts, groups, project, apps_of, media_dedicated, web_server):
    """The whole media host stops answering (paused: no packet comes back, as from a host
    that died): pages, the cached page and writes of rows still answer, also from worker
    processes started meanwhile (the old ones ended, as after max_requests or a timeout: the
    new ones read the settings and the static manifest); an upload fails; when the host is
    back, uploads work again."""
    if not media_dedicated:
        pytest.skip("no dedicated media host")
    if web_server != "gunicorn":
        pytest.skip("gunicorn's workers (mod_wsgi: a web host faces the public, no media tier)")
    media = groups["media"][0]
    subprocess.run(["podman", "pause", media], check=True, capture_output=True)
    try:
        for app in apps_of(project).apps:
            before = app.pids()
            app.host.run_test(f"kill -TERM {' '.join(before)}")
            assert wait_until(lambda: app.pids() and not app.pids() & before, 30), "the workers were not replaced"
        for path in ("/", "/cached/", "/notes/"):
            r = http.request(path, timeout=15)
            assert r.status == 200, (path, r.status, r.timed_out)
        assert http.post_form("/notes/", data={"text": "written with the media host down"}).status == 302
        # (the upload form's page lists the uploads from the database: it answers)
        failed = http.post_form("/upload/", files={"file": "@/etc/hostname;filename=down.txt"})
        assert failed.status >= 500 or failed.timed_out, failed.status
    finally:
        subprocess.run(["podman", "unpause", media], check=True, capture_output=True)
    def uploads_work():
        try:
            return http.post_form("/upload/", files={"file": "@/etc/hostname;filename=back.txt"}).status == 302
        except AssertionError:
            # (the form's page did not answer yet)
            return False
    assert wait_until(uploads_work, 60), "uploads do not work again once the media host is back"
    # the load balancers' checks took the media host out meanwhile: the next checks want it back
    for lb in groups.get("lb", []):
        assert wait_until(lambda: set(haproxy_servers(hosts[lb], "files").values()) == {"UP"}, 30), f"{lb}: media host not UP"


def test_django_sees_the_client_and_the_scheme(http, web, groups, web_server):
    """Through the proxies, Django knows the request came over HTTPS and from whom; a
    client cannot pass itself off as another address through the load balancer."""
    r = http.request("/request/", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"})
    assert r.status == 200, r
    seen = json.loads(r.body)
    assert seen["secure"] is True and seen["host"] == http.name
    if groups.get("lb"):
        # the client here is the first web host, seen by the load balancer at its address
        assert seen["forwarded_for"] == private_address(web)
    elif web_server == "gunicorn":
        # nginx at the edge replaces what the client claimed by the address it saw
        assert seen["forwarded_for"] == "127.0.0.1", seen
    # (Apache runs Django itself: there is no proxy, and Django's REMOTE_ADDR is the client)


# what a self-signed certificate is bound to be flagged for: nobody vouches for it, and
# nobody could revoke it
UNTRUSTED = ("cert_chain_of_trust", "cert_revocation")


@pytest.mark.skipif(not os.environ.get("NTIER_TLS_SCAN"), reason="the TLS scan runs where NTIER_TLS_SCAN is set")
def test_tls_is_mozilla_intermediate(groups, hosts, entry_address, server_name):
    """testssl.sh against the site's public endpoint (HAProxy, or the web host's nginx or
    Apache): no finding of severity MEDIUM or above but the self-signed certificate's
    trust; TLS 1.2 and 1.3 only, no session tickets."""
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    assert testssl, "testssl.sh is not installed on the controller (tools/setup-controller.sh installs it)"
    address = entry_address if entry_address != "127.0.0.1" else private_address(hosts[groups["web"][0]])
    def scan():
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "testssl.json")
            # the site's name (SNI, the certificate's names) on the endpoint's address; every
            # check but the slow client simulation and per-cipher listing: protocols, cipher
            # categories, forward secrecy, preferences, server defaults, headers, vulnerabilities
            subprocess.run([testssl, "--quiet", "--color", "0", "--warnings", "off", "-p", "-s", "-f", "-P", "-S", "-h",
                            "-U", "--ip", address, "--jsonfile", report, f"https://{server_name}:443/"],
                           capture_output=True, text=True, timeout=600)
            return json.load(open(report))

    # a check the scanner could not finish (a connection it lost, with the host busy
    # converging in check mode beside it) is scanned again once
    findings = scan()
    if any("connect problem" in f["finding"] or f["id"] == "scanProblem" for f in findings):
        findings = scan()
    by_id = {f["id"]: f for f in findings}
    assert "TLS1_2" in by_id and "offered" in by_id["TLS1_2"]["finding"], by_id.get("TLS1_2")
    for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert "not offered" in by_id[old]["finding"], by_id[old]
    bad = [f"{f['id']} ({f['severity']}): {f['finding']}" for f in findings
           if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL") and f["id"] not in UNTRUSTED]
    assert not bad, bad
    assert "scanProblem" not in by_id, by_id["scanProblem"]
    # no TLS 1.2 session tickets (they would void forward secrecy for as long as their key
    # lives); TLS 1.3's resumption (HAProxy offers it) is another mechanism
    hello = subprocess.run(["openssl", "s_client", "-connect", f"{address}:443", "-servername", server_name,
                            "-tls1_2", "-sess_out", os.devnull], input="", capture_output=True, text=True, timeout=30)
    assert "Cipher is ECDHE-" in hello.stdout, hello.stdout[-2000:]
    assert "TLS session ticket" not in hello.stdout, "a TLS 1.2 session ticket was issued"

