"""End-to-end checks of a deployed topology: HTTP through nginx, the WSGI server and
Django to PostgreSQL and memcached, files, permissions and listening sockets."""
import ipaddress
import json
import os
import re
import uuid

import pytest
from conftest import Http, private_address


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
                      "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"]


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
    if os.environ.get("NTIER_STATIC_MARKER"):
        # after a second release, the one before it is kept for a rollback ("previous")
        previous = web.check_output(f"basename $(readlink -f /srv/django/{project}/previous)")
        assert previous in releases and previous != current, (previous, current, releases)


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
    the project's role is refused even with the right password."""
    db = hosts[groups["db"][0]]
    if set(groups["web"]) == set(groups["db"]):
        pytest.skip("one host: PostgreSQL is not on the network")
    web = hosts[groups["web"][0]]
    password = json.loads(web.file(f"/srv/django/{project}/config/secrets.json").content_string)["database_password"]
    private = private_address(db)
    query = f"PGPASSWORD='{password}' psql -h {private} -U {project} -d {project} -tAc 'SELECT 1'"
    assert web.check_output(query) == "1"
    refused = db.run(query)
    assert refused.rc != 0 and "no pg_hba.conf entry" in refused.stderr, refused.stderr


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
    return client.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'").rc == 0


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
        # nginx appends the address it saw to what the client claimed
        assert seen["forwarded_for"].endswith("127.0.0.1")
    # (Apache runs Django itself: there is no proxy, and Django's REMOTE_ADDR is the client)
