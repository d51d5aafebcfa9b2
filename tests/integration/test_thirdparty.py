"""Checks of a real third-party project (Molecule "wagtail": Wagtail's own starter project,
not edited), through the load balancer: its pages, its admin across the web nodes, its
static and uploaded files from the media tier, Django's deployment checks."""
import os
import re
import shlex
import uuid

import pytest

pytestmark = pytest.mark.skipif("test_thirdparty.py" not in os.environ.get("NTIER_CHECKS", "").split(),
                                reason="only in the third-party project's scenario")

ADMIN_USER = f"tester-{uuid.uuid4().hex[:8]}"
ADMIN_PASSWORD = uuid.uuid4().hex


def manage_shell(host, project, code):
    """Run Python in the project's shell (deployed settings), the code on standard input."""
    return host.run(f"printf %s {shlex.quote(code)} | {project}-manage shell")


@pytest.fixture(scope="module")
def admin(new_http, web, project):
    """A client logged in to the project's admin as a superuser made for this run."""
    made = manage_shell(web, project, (
        "from django.contrib.auth import get_user_model\n"
        f"u = get_user_model()(username={ADMIN_USER!r}, email='t@example.test', is_staff=True, is_superuser=True)\n"
        f"u.set_password({ADMIN_PASSWORD!r}); u.save()\n"))
    assert made.rc == 0, made.stderr
    client = new_http()
    r = client.post_form("/admin/login/", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 302 and r.header("location").endswith("/admin/"), r
    return client


def test_home_page_answers(http):
    r = http.request("/")
    assert r.status == 200, r
    # the starter's home page (a Wagtail page from its migrations, in PostgreSQL)
    assert "wagtail" in r.body.lower()


def test_admin_login_page_answers(new_http):
    r = new_http().request("/admin/login/")
    assert r.status == 200, r
    assert 'name="csrfmiddlewaretoken"' in r.body


def test_logged_in_admin_works_on_every_web_node(admin, groups, hosts):
    # round robin: every request is a new connection, so the nodes take turns; each must know
    # the session (shared store and SECRET_KEY) and show the admin, not the login page
    probe = uuid.uuid4().hex
    for i in range(2 * len(groups["web"]) + 2):
        r = admin.request(f"/admin/?probe={probe}-{i}")
        assert r.status == 200, r
        assert "/admin/logout/" in r.body, "not logged in on this request"
    for name in groups["web"]:
        served = hosts[name].run(f"grep -c 'GET /admin/?probe={probe}-[0-9]* HTTP/[0-9.]*\" 200' /var/log/nginx/access.log")
        assert int(served.stdout.strip() or 0) >= 1, f"{name} served none of the logged-in requests"


def _admin_css(client):
    page = client.request("/admin/login/")
    match = re.search(r'href="(/static/wagtailadmin/css/[^"?]+\.[0-9a-f]{12}\.css)', page.body)
    assert match, "the admin's login page links no hashed stylesheet"
    return match.group(1)


def test_admin_css_hashed_from_the_media_tier_for_a_year(new_http, hosts, groups, apps_of, project):
    client = new_http()
    path = _admin_css(client)
    with apps_of(project).paused():
        # the application is stopped on every web node: the media tier answers
        r = client.request(path)
    assert r.status == 200, r
    assert "max-age=31536000" in r.header("cache-control")
    assert hosts[groups["media"][0]].file(f"/srv/media/{project}{path}").exists


def test_upload_through_the_admin_is_served_by_the_media_tier(admin, web, hosts, groups, apps_of, project):
    title = f"note-{uuid.uuid4().hex[:8]}"
    content = f"uploaded through the admin {uuid.uuid4().hex}"
    web.run_test(f"printf %s {shlex.quote(content)} > /tmp/{title}.txt")
    # the document form as a browser sends it: multipart, with the form's CSRF token
    r = admin.post_form("/admin/documents/add/", files={
        "title": title, "collection": "1", "file": f"@/tmp/{title}.txt;filename={title}.txt"})
    assert r.status == 302, r
    found = manage_shell(web, project, (
        "from wagtail.documents import get_document_model\n"
        f"print(get_document_model().objects.get(title={title!r}).file.url)\n"))
    assert found.rc == 0, found.stderr
    url = found.stdout.strip().splitlines()[-1]
    assert url.startswith("/media/documents/")
    with apps_of(project).paused():
        r = admin.request(url)
    assert r.status == 200, r
    assert r.body == content
    assert r.header("x-content-type-options") == "nosniff"
    assert hosts[groups["media"][0]].file(f"/srv/media/{project}{url}").content_string == content


def test_deploy_checks_clean(web, project):
    out = web.run(f"{project}-manage check --deploy --fail-level WARNING")
    assert out.rc == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
