"""Several Django sites on one host: each has its own processes, user, database and secret,
and one site's reload or failure does not touch the others. Skipped with a single site."""
import json
import time

import pytest

from conftest import SITES, Http

pytestmark = pytest.mark.skipif(len(SITES) < 2, reason="one site only")


@pytest.fixture(scope="module")
def pair(web, app_of):
    (a, a_name), (b, b_name) = SITES[:2]
    return (app_of(a), Http(web, a_name, "127.0.0.1")), (app_of(b), Http(web, b_name, "127.0.0.1"))


def test_sites_run_as_their_own_users(web, pair):
    for app, _ in pair:
        pids = app.pids()
        assert pids, f"{app.project}: no application process"
        users = set(web.check_output(f"ps -o user= -p {','.join(pids)}").split())
        assert users == {app.project}, users


def test_each_site_has_its_own_secret_and_database(web, pair):
    (a, _), (b, _) = pair
    secrets = [json.loads(web.file(f"/srv/django/{app.project}/config/secrets.json").content_string) for app in (a, b)]
    assert secrets[0]["secret_key"] != secrets[1]["secret_key"]
    assert secrets[0]["database_password"] != secrets[1]["database_password"]
    # a's role cannot open b's database
    out = web.run(f"PGPASSWORD='{secrets[0]['database_password']}' psql -h 127.0.0.1 -U {a.project} -d {b.project} -tAc 'SELECT 1'")
    assert out.rc != 0 and "permission denied" in out.stderr


def test_reloading_one_site_leaves_the_other_alone(pair):
    (a, a_http), (b, b_http) = pair
    assert a_http.request("/").status == 200 and b_http.request("/").status == 200
    before_a, before_b = a.pids(), b.pids()
    a.reload()
    assert a_http.request("/").status == 200
    # the old processes finish their requests and go; new ones take over (bounded wait)
    deadline = time.monotonic() + 15
    while a.pids() & before_a and time.monotonic() < deadline:
        a_http.request("/")
        time.sleep(0.5)
    assert not a.pids() & before_a, "the reloaded site kept old processes"
    assert b.pids() == before_b, "the other site's processes were restarted"
    assert b_http.request("/").status == 200


def test_a_failed_site_does_not_take_the_other_down(pair):
    (a, a_http), (b, b_http) = pair
    a.pause()
    try:
        r = a_http.request("/notes/", timeout=3)
        assert r.status in (502, 503, 504) or r.timed_out, r
        assert b_http.request("/notes/").status == 200
    finally:
        a.resume()
    assert a_http.request("/notes/").status == 200


def test_extra_apps_and_middleware_only_where_listed(web, pair):
    """The second site lists an app and a middleware to add (and an app its settings have
    already): each is in its settings once; the first site's settings are left alone."""
    from test_stack import django_shell
    (a, _), (b, _) = pair
    code = "from django.conf import settings as s; import json; print(json.dumps([list(s.INSTALLED_APPS), list(s.MIDDLEWARE)]))"
    apps_a, middleware_a = json.loads(django_shell(web, a.project, code))
    apps_b, middleware_b = json.loads(django_shell(web, b.project, code))
    assert apps_b.count("django.contrib.humanize") == 1 and apps_b.count("django.contrib.auth") == 1
    assert middleware_b[-1] == "django.middleware.http.ConditionalGetMiddleware"
    assert "django.contrib.humanize" not in apps_a
    assert "django.middleware.http.ConditionalGetMiddleware" not in middleware_a
