import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("projects", Path(__file__).parents[2] / "plugins" / "filter" / "projects.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


def test_layout_defaults_and_overrides():
    p = mod.project_layout({"name": "shop", "server_names": ["s.example"]})
    assert p["root"] == "/srv/django/shop" and p["media_root"] == "/srv/django/shop/media"
    assert p["socket"] == "/run/gunicorn-shop.sock" and p["db_name"] == "shop"
    q = mod.project_layout({"name": "shop", "root": "/opt/shop", "db_name": "shopdb"})
    assert q["static_root"] == "/opt/shop/static" and q["db_name"] == "shopdb"


def test_two_projects_never_share_paths_sockets_or_databases():
    a, b = (mod.project_layout({"name": n}) for n in ("one", "two"))
    for key in ("root", "static_root", "media_root", "socket", "db_name", "db_user"):
        assert a[key] != b[key], key


def test_database_projects_take_generated_passwords():
    out = mod.database_projects([{"name": "a"}], {"a": {"db_password": "pw"}})
    assert out == [{"name": "a", "user": "a", "password": "pw"}]


def test_nginx_sites_with_and_without_files():
    projects = [{"name": "a", "server_names": ["a.test"]}]
    with_files = mod.nginx_sites(projects, True)[0]
    assert with_files["media_root"] == "/srv/django/a/media"
    assert with_files["upstream"] == "unix:/run/gunicorn-a.sock"
    assert "media_root" not in mod.nginx_sites(projects, False)[0]


def test_apache_sites_run_the_current_release_in_daemon_mode():
    site = mod.apache_sites([{"name": "a", "server_names": ["a.test"], "wsgi_module": "a.wsgi",
                              "source_subdir": "src"}])[0]
    assert site["python_home"] == "/srv/django/a/current/venv"
    assert site["wsgi_script"] == "/srv/django/a/wsgi/apache.py"
    assert site["python_path"] == ["/srv/django/a/config", "/srv/django/a/current/src/src"]
    assert site["settings_module"] == "ntier_settings" and site["user"] == "a"
    assert site["media_root"] == "/srv/django/a/media"


def test_tls_sites_given_or_self_signed():
    given, own = mod.tls_sites([
        {"name": "a", "server_names": ["a.test"], "tls_certificate": "a.crt", "tls_certificate_key": "a.key"},
        {"name": "b", "server_names": ["b.test"]},
    ])
    assert given["certificate"] == "a.crt" and given["certificate_key"] == "a.key"
    assert "certificate" not in own


def test_mount_unit_names_match_systemd_escape():
    spec2 = importlib.util.spec_from_file_location("systemd", Path(__file__).parents[2] / "plugins" / "filter" / "systemd.py")
    sd = importlib.util.module_from_spec(spec2)
    spec2.loader.exec_module(sd)
    assert sd.mount_unit("/srv/django/demo/media") == "srv-django-demo-media.mount"
    assert sd.mount_unit("/srv/my-site/x.y/.hidden") == "srv-my\\x2dsite-x.y-.hidden.mount"
    assert sd.mount_unit("/.a/b c") == "\\x2ea-b\\x20c.mount"


def test_a_standby_media_host_copies_the_primary_store():
    topology = {"media_dedicated": True, "media_store_host": "m1", "media_store_address": "10.0.0.5"}
    hostvars = {"m1": {"media_host_key": "ssh-ed25519 AAAA"}, "m2": {}}
    media = {"user": "ntier-media", "private_key": "KEY", "store_dir": "/srv/media"}
    assert mod.media_primary(topology, "m1", hostvars, media) == {}
    assert mod.media_primary(topology, "m2", hostvars, media) == {
        "address": "10.0.0.5", "user": "ntier-media", "host_key": "ssh-ed25519 AAAA", "private_key": "KEY"}
    assert mod.media_primary({"media_dedicated": False}, "w1", hostvars, media) == {}


def test_every_web_server_gets_the_same_upload_types():
    projects = [{"name": "demo", "server_names": ["d.example"], "wsgi_module": "demo.wsgi", "source": "/x",
                 "settings_module": "demo.settings"}]
    nginx = mod.nginx_sites(projects)[0]["upload_types"]
    assert nginx is mod.UPLOAD_TYPES
    assert mod.apache_sites(projects)[0]["upload_types"] is nginx
    assert mod.media_sites(projects, "/srv/media", [])[0]["upload_types"] is nginx
    assert "text/html" not in nginx and "image/svg+xml" not in nginx
    assert "upload_types" not in mod.nginx_sites(projects, serve_files=False)[0]
