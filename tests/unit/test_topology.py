import importlib.util

import pytest
from pathlib import Path

spec = importlib.util.spec_from_file_location("topology", Path(__file__).parents[2] / "plugins" / "filter" / "topology.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

ONE = {"all": ["h1"], "web": ["h1"], "db": ["h1"], "cache": ["h1"], "media": ["h1"]}
ADDR = {"h1": "10.0.0.1", "db1": "10.0.0.2", "w1": "10.0.0.3", "w2": "10.0.0.4"}
DEMO = Path(__file__).parents[2] / "demo" / "project"


def project(**over):
    p = {"name": "demo", "source": str(DEMO), "settings_module": "demosite.settings.production",
         "wsgi_module": "demosite.wsgi", "server_names": ["demo.example.test"]}
    p.update(over)
    return p


def test_single_host_is_loopback_only():
    t = mod.topology(ONE, ADDR)
    assert t["db_address"] == "127.0.0.1"
    assert t["db_listen_addresses"] == {"h1": ["localhost"]}
    assert t["db_allowed_clients"] == []
    assert t["cache_locations"] == ["127.0.0.1:11211"]
    assert t["cache_listen_addresses"] == {"h1": ["127.0.0.1"]}
    assert t["single_host"]


def test_split_database_admits_only_web_hosts():
    groups = {"web": ["w1", "w2"], "db": ["db1"], "cache": ["w1"]}
    t = mod.topology(groups, ADDR)
    assert t["db_address"] == "10.0.0.2"
    assert t["db_listen_addresses"] == {"db1": ["localhost", "10.0.0.2"]}
    assert t["db_allowed_clients"] == ["10.0.0.3", "10.0.0.4"]
    # two web nodes share the cache: every node must name it by the same address
    assert t["cache_locations"] == ["10.0.0.3:11211"]
    assert t["cache_listen_addresses"] == {"w1": ["127.0.0.1", "10.0.0.3"]}
    assert not t["single_host"]


def test_good_inventory_has_no_errors():
    assert mod.topology_errors(ONE, "gunicorn", [project()], {}) == []


def test_missing_db_group_names_the_group():
    errors = mod.topology_errors({"web": ["h1"], "cache": ["h1"], "media": ["h1"]}, "gunicorn", [project()])
    assert len(errors) == 1 and "group 'db'" in errors[0]


def test_two_databases_rejected():
    errors = mod.topology_errors({**ONE, "db": ["h1", "db1"]}, "gunicorn", [project()])
    assert any("a replicated database needs 3" in e for e in errors)


def test_mod_wsgi_on_one_host():
    # (an unknown web server is refused by the cluster role's argument_specs, as a choice)
    assert mod.topology_errors(ONE, "mod_wsgi", [project()]) == []


def test_weak_secret_key():
    errors = mod.topology_errors(ONE, "gunicorn", [project()], {"demo": "short"})
    assert len(errors) == 1 and "secret_key is too weak (5 characters)" in errors[0]
    assert mod.topology_errors(ONE, "gunicorn", [project()], {"demo": "django-insecure-" + "x" * 60})
    assert mod.topology_errors(ONE, "gunicorn", [project()], {"demo": "ab" * 40}) != []
    assert mod.topology_errors(ONE, "gunicorn", [project()], {"demo": "abcdef" * 10}) == []


def test_missing_source():
    errors = mod.topology_errors(ONE, "gunicorn", [project(source="/nonexistent/x")])
    assert len(errors) == 1 and "does not exist on the controller" in errors[0]


def test_own_certificate_needs_its_key_and_absolute_paths(tmp_path):
    cert, key = tmp_path / "site.crt", tmp_path / "site.key"
    cert.write_text("c")
    key.write_text("k")
    assert mod.topology_errors(ONE, "gunicorn", [project(tls_certificate=str(cert), tls_certificate_key=str(key))]) == []
    errors = mod.topology_errors(ONE, "gunicorn", [project(tls_certificate=str(cert))])
    assert len(errors) == 1 and "tls_certificate and tls_certificate_key go together" in errors[0]
    errors = mod.topology_errors(ONE, "gunicorn", [project(tls_certificate="files/site.crt", tls_certificate_key=str(key))])
    assert len(errors) == 1 and "'files/site.crt' is not a file on the controller" in errors[0]
    assert "{{ inventory_dir }}/files/" in errors[0]


def test_duplicate_and_bad_names():
    errors = mod.topology_errors(ONE, "gunicorn", [project(), project(), project(name="Bad-Name")])
    assert any("used twice" in e for e in errors)
    assert any("'Bad-Name'" in e for e in errors)


def test_extra_apps_and_middleware_are_dotted_paths():
    good = project(extra_installed_apps=["django.contrib.postgres", "taggit"], extra_middleware=["a.b.C"])
    assert mod.topology_errors(ONE, "gunicorn", [good]) == []
    errors = mod.topology_errors(ONE, "gunicorn", [project(extra_installed_apps=["ok.app", "bad app", "x;import os"],
                                                           extra_middleware=["a.b.C", "a b"], contrib_postgres="no")])
    assert any("extra_installed_apps has 'bad app'" in e for e in errors)
    assert any("extra_installed_apps has 'x;import os'" in e for e in errors)
    assert any("extra_middleware has 'a b'" in e for e in errors)
    assert any("contrib_postgres is 'no'" in e for e in errors)
    assert len(errors) == 4, errors


GROWN = {"lb": ["lb1"], "web": ["w1", "w2"], "db": ["db1"], "cache": ["w1"], "media": ["m1"]}
ADDR2 = {**ADDR, "lb1": "10.0.0.9", "m1": "10.0.0.8"}


def test_dedicated_media_tier_is_accepted():
    assert mod.topology_errors({**ONE, "media": ["m1"]}, "gunicorn", [project()]) == []
    assert mod.topology_errors(GROWN, "gunicorn", [project()]) == []


def test_balanced_topology():
    t = mod.topology(GROWN, ADDR2)
    assert t["media_dedicated"] and t["media_store_address"] == "10.0.0.8"
    assert t["web_behind_lb"] and t["front_addresses"] == ["10.0.0.9"]
    assert t["web_backends"] == [{"name": "w1", "address": "10.0.0.3"}, {"name": "w2", "address": "10.0.0.4"}]
    assert t["files_backends"] == [{"name": "m1", "address": "10.0.0.8", "backup": False}]
    fw = {h: {r["name"]: r["sources"] for r in rules} for h, rules in t["firewall"].items()}
    assert fw["db1"] == {"postgresql": ["10.0.0.3", "10.0.0.4"]}
    # w1 is a cache server for both web nodes, and a web node behind the load balancer
    assert fw["w1"] == {"memcached": ["10.0.0.3", "10.0.0.4"], "web-http": ["10.0.0.9"]}
    assert fw["m1"] == {"media-http": ["10.0.0.9"]}
    # the services without authentication of their own fail closed without the table
    units = {h: {r["name"]: r.get("unit", "") for r in rules} for h, rules in t["firewall"].items()}
    assert units["db1"] == {"postgresql": "postgresql@.service"}
    assert units["w1"] == {"memcached": "memcached.service", "web-http": ""}
    assert "h1" not in mod.topology(ONE, ADDR)["firewall"]


@pytest.mark.parametrize("groups,vip,message", [
    ({**GROWN, "web": []}, "", "Group 'lb' has 1 host(s) but group 'web' is empty"),
    ({**GROWN, "lb": ["lb1", "lb2"]}, "", "ntier_vip is not set"),
    ({**GROWN, "lb": ["lb1", "w1"]}, "", "are in group 'lb' and in group 'web'"),
    ({**GROWN, "lb": ["m1"]}, "", "are in group 'lb' and in group 'media'"),
    ({**GROWN, "media": ["w1", "m1"]}, "", "mixes web hosts"),
    ({**GROWN, "media": ["w1"], "lb": ["lb1"]}, "", "an upload written on one node would be missing"),
])
def test_growth_mistakes_are_refused(groups, vip, message):
    errors = mod.topology_errors(groups, "gunicorn", [project()], vip=vip)
    assert any(message in e for e in errors), errors


def test_a_second_media_host_is_a_standby():
    t = mod.topology({**GROWN, "media": ["m1", "m2"]}, {**ADDR2, "m2": "10.0.0.7"})
    assert t["media_store_host"] == "m1" and t["media_replicas"] == ["m2"]
    assert t["files_backends"][1] == {"name": "m2", "address": "10.0.0.7", "backup": True}
    assert t["media_upstreams"] == ["10.0.0.8:80", "10.0.0.7:80 backup"]
    assert t["media_clients"] == ["10.0.0.3", "10.0.0.4", "10.0.0.7"]


def test_two_load_balancers_with_a_virtual_ip():
    assert mod.topology_errors({**GROWN, "lb": ["lb1", "lb2"]}, "gunicorn", [project()], vip="10.0.0.250") == []
    assert any("give an IPv4 address" in e for e in mod.topology_errors(GROWN, "gunicorn", [project()], vip="vip.example"))
    assert any("group 'lb' is empty" in e for e in mod.topology_errors({**GROWN, "lb": []}, "gunicorn", [project()], vip="10.0.0.250"))


def test_mod_wsgi_behind_a_load_balancer_is_refused():
    assert any("use gunicorn" in e for e in mod.topology_errors(GROWN, "mod_wsgi", [project()]))


def test_private_addresses_prefer_explicit_then_facts():
    hv = {
        "a": {"ntier_private_address": "10.1.1.1", "ansible_facts": {"default_ipv4": {"address": "10.9.9.9"}}},
        "b": {"ansible_facts": {"default_ipv4": {"address": "10.2.2.2"}}},
        "c": {"ansible_host": "10.3.3.3"},
    }
    assert mod.private_addresses(hv, ["a", "b", "c"]) == {"a": "10.1.1.1", "b": "10.2.2.2", "c": "10.3.3.3"}


def test_two_sites_cannot_claim_one_host_name():
    errors = mod.topology_errors(ONE, "gunicorn", [project(), project(name="blog", server_names=["b.test", "demo.example.test"])])
    assert len(errors) == 1
    assert "claims 'demo.example.test', already a name of project 'demo'" in errors[0]


def test_keepalived_the_first_load_balancer_has_the_highest_priority():
    addresses = {"lb1": "10.0.0.1", "lb2": "10.0.0.2", "lb3": "10.0.0.3"}
    assert mod.keepalived_instance(["lb1", "lb2", "lb3"], "lb1", addresses) == {
        "address": "10.0.0.1", "peers": ["10.0.0.2", "10.0.0.3"], "priority": 150}
    assert mod.keepalived_instance(["lb1", "lb2", "lb3"], "lb3", addresses)["priority"] == 130
    with pytest.raises(ValueError):
        mod.keepalived_instance(["lb1"], "web1", addresses)


# what reaches a system account, a path, SQL or a config file (#13)
@pytest.mark.parametrize("over, message", [
    ({"name": "root"}, "user is 'root' (the project's name), a system account"),
    ({"db_name": "postgres"}, "db_name is 'postgres', a system account"),
    ({"db_user": "pg_monitor"}, "db_user is 'pg_monitor', a system account"),
    ({"user": "a;b"}, "user is 'a;b': use lower-case letters"),
    ({"root": "/srv/x/../y"}, "root is '/srv/x/../y': give a normalised absolute path"),
    ({"root": "/usr/local/demo"}, "root is '/usr/local/demo', a system directory"),
    ({"version": "a b"}, "version is 'a b'"),
    ({"requirements_file": "../r.txt"}, "requirements_file is '../r.txt'"),
    ({"system_packages": ["x y"]}, "system_packages has 'x y'"),
    ({"server_names": ["a b"]}, "server_names has 'a b'"),
    ({"health_path": "/h"}, "health_path is '/h'"),
    ({"extra_settings": {"debug": True}}, "extra_settings has 'debug'"),
    ({"secret_key_fallbacks": ["short"]}, "secret_key_fallbacks has weak keys (positions 0)"),
    ({"db_password": "aaaaaaaaaaaaaaaaaaaa"}, "db_password is too weak (20 characters)"),
    ({"keep_releases": 1}, "keep_releases is 1"),
])
def test_project_inputs_are_refused_by_name(over, message):
    errors = mod.topology_errors(ONE, "gunicorn", [project(**over)])
    assert any(message in e for e in errors), errors


def test_good_inputs_pass():
    good = project(user="demo_app", db_name="demo_db", root="/srv/apps/demo", version="v1.2.3+build.4",
                   requirements_file="requirements/prod.txt", system_packages=["libpq5", "g++"],
                   server_names=["*.example.test", "example.test"], health_path="/-/health/",
                   extra_settings={"SESSION_COOKIE_AGE": 3600}, db_password="Zq8vW2mX4kP9tR7yL3nB",
                   secret_key_fallbacks=["k" * 40 + "abcdefghij"])
    assert mod.topology_errors(ONE, "gunicorn", [good]) == []


def test_projects_do_not_share_accounts_dirs_or_databases():
    errors = mod.topology_errors(ONE, "gunicorn", [project(), project(name="shop", user="demo", root="/srv/django/demo/x",
                                                                      server_names=["shop.example.test"])])
    assert any("user is 'demo', already that of project 'demo'" in e for e in errors)
    assert any("lie inside each other" in e for e in errors)




def test_ssh_user_and_addresses():
    hv = {"h1": {"ansible_user": "deploy", "ntier_private_address": "10.0.0.9"}}
    errors = mod.topology_errors({**ONE, "lb": ["h1"]}, "gunicorn", [project(user="deploy")], vip="10.0.0.9", hostvars=hv)
    assert any("the account Ansible logs in with" in e for e in errors)
    assert any("ntier_vip is '10.0.0.9', the address of h1" in e for e in errors)
    errors = mod.topology_errors(ONE, "gunicorn", [project()], hostvars={"h1": {"ntier_private_address": "db.lan"}})
    assert any("ntier_private_address of h1 is 'db.lan'" in e for e in errors)
    errors = mod.topology_errors(ONE, "gunicorn", [project()], admins=[{"name": "x", "email": "nope"}])
    assert any("ntier_admins[0].email is 'nope'" in e for e in errors)


def test_deployment_name_secrets_dir_and_empty_data_are_checked():
    ok = mod.topology_errors(ONE, "gunicorn", [project()], deployment="shop-prod", secrets_dir="/home/ops/.ntier-django/secrets/shop",
                            data_empty_ok=["db", "media"])
    assert ok == []
    errors = mod.topology_errors(ONE, "gunicorn", [project()], deployment="../prod", secrets_dir="/home/ops/../x/", data_empty_ok=["uploads"])
    assert any(e.startswith("ntier_deployment is '../prod'") for e in errors)
    assert any(e.startswith("ntier_secrets_dir is '/home/ops/../x/'") for e in errors)
    assert any(e.startswith("ntier_data_empty_ok lists 'uploads'") for e in errors)


def test_database_connections_follow_the_web_tier():
    hv = {"w1": {"ansible_facts": {"processor_vcpus": 2}}, "w2": {"ansible_facts": {"processor_vcpus": 8}}}
    two = [project(), project(name="blog")]
    # (3 + 9) processes x 2 projects x 2 (a graceful restart) + 10
    assert mod.db_connections(hv, ["w1", "w2"], two) == {"needed": 58, "max_connections": 100, "error": ""}
    big = {f"w{i}": {"ansible_facts": {"processor_vcpus": 16}} for i in range(4)}
    assert mod.db_connections(big, list(big), two)["max_connections"] == 4 * 17 * 2 * 2 + 10
    low = mod.db_connections(hv, ["w1", "w2"], two, given=50)
    assert low["max_connections"] == 50
    assert low["error"].startswith("ntier_db_max_connections is 50, but the web tier can hold 58 connections")
    assert mod.db_connections(hv, ["w1", "w2"], two, given=60)["error"] == ""


def test_public_addresses_between_tiers_are_refused_unless_allowed():
    addresses = {"w1": "10.0.0.3", "db1": "93.184.216.34", "lo": "127.0.0.1", "v6": "fd00::5"}
    errors = mod.public_address_errors(addresses)
    assert len(errors) == 1 and errors[0].startswith("db1 would be reached by the other tiers on 93.184.216.34")
    assert "ntier_public_addresses_ok: true" in errors[0]
    assert mod.public_address_errors(addresses, True) == []


def test_a_private_index_is_an_url_and_never_repeated():
    good = mod.topology_errors(ONE, "gunicorn", [project(pip_index_url="https://u:t0ken@pypi.example.com/simple/")])
    assert good == []
    errors = mod.topology_errors(ONE, "gunicorn", [project(pip_index_url="https://u:t0ken@x/ --trusted-host x")])
    assert len(errors) == 1 and "pip_index_url is not an http(s) URL" in errors[0] and "t0ken" not in errors[0]


def test_one_project_checked_alone_names_its_label():
    errors = mod.project_errors({"name": "demo", "user": "root", "server_names": ["demo.example.test"],
                                 "secret_key": "short"}, "django_app")
    assert any(e.startswith("django_app (demo).user is 'root', a system account") for e in errors), errors
    assert any(e.startswith("django_app (demo).secret_key is too weak") for e in errors), errors
    assert mod.project_errors({"name": "demo", "server_names": ["demo.example.test"], "settings_module": "a.b"}) == []
    assert mod.project_errors({"name": "Demo", "server_names": ["x.test"]})[0].startswith("the project.name is 'Demo'")


def test_the_inventory_checks_each_project_with_the_same_rules():
    project = {"name": "demo", "source": "/", "settings_module": "a.settings", "wsgi_module": "a.wsgi",
               "server_names": ["demo.example.test"], "root": "/etc/demo"}
    alone = mod.project_errors(project, "ntier_projects[0]")
    assert alone and set(alone) <= set(mod.topology_errors(ONE, projects=[project]))


def test_three_database_hosts_are_a_patroni_cluster_with_etcd_between_them():
    addr = {**ADDR, "db2": "10.0.0.5", "db3": "10.0.0.6"}
    groups = {"web": ["w1"], "db": ["db1", "db2", "db3"], "cache": ["w1"], "media": ["w1"]}
    t = mod.topology(groups, addr)
    assert t["db_cluster"] and t["db_host"] == "db1"
    assert [m["name"] for m in t["db_members"]] == ["db1", "db2", "db3"]
    assert t["db_listen_addresses"]["db3"] == ["localhost", "10.0.0.6"]
    ports = {(r["name"], r["port"]): r["sources"] for r in t["firewall"]["db2"]}
    # the web tier reaches PostgreSQL and Patroni's checks; etcd only the members
    assert ports[("postgresql", 5432)] == ["10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"]
    assert ports[("patroni-api", 8008)] == ports[("postgresql", 5432)]
    assert ports[("etcd-peer", 2380)] == ports[("etcd-client", 2379)] == ["10.0.0.2", "10.0.0.5", "10.0.0.6"]
    single = mod.topology({"web": ["w1"], "db": ["db1"], "cache": ["w1"], "media": ["w1"]}, addr)
    assert not single["db_cluster"] and single["db_members"] == []


def test_two_database_hosts_are_refused_for_want_of_a_quorum():
    groups = {"all": ["w1", "db1", "db2"], "web": ["w1"], "db": ["db1", "db2"], "cache": ["w1"], "media": ["w1"]}
    assert any("needs 3" in e for e in mod.topology_errors(groups))
    groups3 = {**groups, "all": groups["all"] + ["db3"], "db": ["db1", "db2", "db3"]}
    assert not any("Group 'db'" in e for e in mod.topology_errors(groups3))


def test_database_hosts_of_two_debian_releases_are_refused():
    hv = {h: {"ansible_facts": {"distribution_major_version": v}} for h, v in (("db1", "12"), ("db2", "12"), ("db3", "13"))}
    errors = mod.db_release_errors(hv, ["db1", "db2", "db3"])
    assert len(errors) == 1 and "Debian 12: db1, db2; Debian 13: db3" in errors[0]
    assert mod.db_release_errors(hv, ["db1", "db2"]) == []


def test_server_side_binding_is_refused_where_pgbouncer_cannot_keep_prepared_statements():
    on = [{"name": "shop", "db_server_side_binding": True}, {"name": "blog"}]
    for release, cluster, refused in (("12", True, True), ("13", True, False), ("12", False, False)):
        names = ["db1", "db2", "db3"] if cluster else ["db1"]
        hv = {h: {"ansible_facts": {"distribution_major_version": release}} for h in names}
        errors = mod.db_release_errors(hv, names, on)
        assert bool(errors) == refused, (release, cluster, errors)
        if refused:
            assert len(errors) == 1 and "ntier_projects[0] (shop) sets db_server_side_binding" in errors[0]


def test_a_lag_budget_or_pinning_time_below_one_is_refused():
    errors = mod.topology_errors(ONE, "gunicorn", [project()], db_routing={"replica_lag_bytes": 0, "pinning_seconds": 20})
    assert errors == ["ntier_db_replica_lag_bytes is 0: give a whole number of 1 or more."]
    assert mod.topology_errors(ONE, "gunicorn", [project()], db_routing={"replica_lag_bytes": 1, "pinning_seconds": 1}) == []
    # as -e ntier_db_pool_size=6 gives it; words are refused
    assert mod.topology_errors(ONE, "gunicorn", [project()], db_routing={"pool_size": "6"}) == []
    assert mod.topology_errors(ONE, "gunicorn", [project()], db_routing={"pool_size": "six"}) == [
        "ntier_db_pool_size is 'six': give a whole number of 1 or more."]


def test_a_backup_host_pulls_over_tls_and_the_database_pushes_wal_to_it():
    groups = {"web": ["w1"], "db": ["db1"], "cache": ["w1"], "media": ["w1"], "backup": ["w2"]}
    t = mod.topology(groups, ADDR)
    assert t["backup_host"] == "w2" and t["backup_address"] == "10.0.0.4"
    assert t["backup_db_hosts"] == [{"name": "db1", "address": "10.0.0.2"}]
    rules = {r["name"]: r for r in t["firewall"]["db1"]}
    # the backup host reaches the database host's pgBackRest only; PostgreSQL may reach it (WAL)
    assert rules["pgbackrest"]["sources"] == ["10.0.0.4"] and rules["pgbackrest"]["unit"] == "pgbackrest.service"
    assert rules["postgresql"]["sources"] == ["10.0.0.3"] and rules["postgresql"]["reaches"] == ["10.0.0.4"]
    assert {r["name"]: r["sources"] for r in t["firewall"]["w2"]}["pgbackrest"] == ["10.0.0.2"]
    # the uploads are read on the host that keeps them (here the web host; else the store)
    assert (t["backup_uploads_host"], t["backup_uploads_address"]) == ("w1", "10.0.0.3")
    store = mod.topology({**groups, "media": ["h1"]}, ADDR)
    assert (store["backup_uploads_host"], store["backup_uploads_address"]) == ("h1", "10.0.0.1")
    # without the group: nothing of it
    t = mod.topology({**groups, "backup": []}, ADDR)
    assert t["backup_host"] is None and t["backup_db_hosts"] == [] and t["backup_uploads_host"] is None
    assert [r["name"] for r in t["firewall"]["db1"]] == ["postgresql"] and "reaches" not in t["firewall"]["db1"][0]


def test_backup_groups_and_settings_that_would_lose_backups_are_refused():
    base = {"web": ["w1"], "db": ["db1"], "cache": ["w1"], "media": ["w1"]}
    good = {"retention_full": 2, "retention_diff": "7", "schedule": {"full": "Sun *-*-* 01:00:00", "incr": "hourly"}}
    assert mod.topology_errors({**base, "backup": ["w2"]}, "gunicorn", [project()], backup=good) == []
    errors = mod.topology_errors({**base, "backup": ["w2", "h1"]}, "gunicorn", [project()], backup=good)
    assert errors == ["Group 'backup' has 2 hosts (h1, w2): it takes one host, which keeps the backups; list one."]
    errors = mod.topology_errors({**base, "backup": ["db1"]}, "gunicorn", [project()], backup=good)
    assert len(errors) == 1 and "in group 'backup' and in group 'db'" in errors[0]
    errors = mod.topology_errors(base, "gunicorn", [project()], backup={**good, "retention_full": 0})
    assert errors == ["ntier_backup_retention_full is 0: give a whole number of 1 or more (the backups kept)."]
    for queue in ("1G", "0MiB", "1GiB\nrepo1-path=/", 5):
        errors = mod.topology_errors(base, "gunicorn", [project()], backup={**good, "wal_queue_max": queue})
        assert errors == [f"ntier_backup_wal_queue_max is {queue!r}: give a size in MiB, GiB or TiB, e.g. '1GiB' "
                          "(the WAL that may wait for the backup host)."], errors
    assert mod.topology_errors(base, "gunicorn", [project()], backup={**good, "wal_queue_max": "64MiB"}) == []
    errors = mod.topology_errors(base, "gunicorn", [project()], backup={**good, "schedule": {"weekly": "Sun"}})
    assert len(errors) == 1 and errors[0].startswith("ntier_backup_schedule is {'weekly': 'Sun'}")
    errors = mod.topology_errors(base, "gunicorn", [project()], backup={**good, "schedule": {"full": "Sun\nExecStart=/bin/sh"}})
    assert len(errors) == 1 and errors[0].startswith("ntier_backup_schedule.full is")


def test_a_backup_host_of_another_release_is_refused():
    hostvars = {"db1": {"ansible_facts": {"distribution_major_version": "12"}},
                "b1": {"ansible_facts": {"distribution_major_version": "13"}},
                "b2": {"ansible_facts": {"distribution_major_version": "12"}}}
    errors = mod.db_release_errors(hostvars, ["db1"], [], ["b1"])
    assert len(errors) == 1 and errors[0].startswith("The backup host b1 runs Debian 13 and the database hosts Debian 12")
    assert mod.db_release_errors(hostvars, ["db1"], [], ["b2"]) == []


def test_a_restore_needs_a_backup_host_and_an_explicit_target_of_the_right_form():
    base = {"web": ["w1"], "db": ["db1"], "cache": ["w1"], "media": ["w1"], "backup": ["w2"]}
    assert mod.restore_errors(base, "latest", "") == []
    assert mod.restore_errors(base, "2026-12-05 13:45:00+00:00", "0a1b2c3d") == []
    assert mod.restore_errors(base, "2026-12-05T13:45:00.25Z", None) == []
    assert mod.restore_errors({**base, "backup": []}, "latest", "latest")[0].startswith("This deployment has no backup host")
    for none in (("", ""), (None, None)):
        assert mod.restore_errors(base, *none)[0].startswith("Say what to restore: -e ntier_restore_db=latest")
    # a time without its offset (the zone would be guessed), words, shell
    for bad in ("2026-12-05 13:45:00", "yesterday", "latest; rm -rf /", "2026-12-05 13:45:00+00:00'"):
        errors = mod.restore_errors(base, bad, "")
        assert len(errors) == 1 and errors[0].startswith(f"ntier_restore_db is {bad!r}: give latest, or a time"), errors
    for bad in ("abc", "0A1B2C3D", "../../etc", "latest --target /"):
        errors = mod.restore_errors(base, "", bad)
        assert len(errors) == 1 and errors[0].startswith(f"ntier_restore_uploads is {bad!r}: give latest"), errors
    cluster = {**base, "db": ["db1", "db2", "db3"]}
    assert mod.restore_errors(cluster, "", "latest") == []
    assert mod.restore_errors(cluster, "latest", "") == []
