"""Checks of a replicated database (Molecule "replicas"): PostgreSQL under Patroni on the
three database hosts with etcd between them, one leader and two streaming replicas that
hold every row the site writes."""
import json
import os
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_DB_CLUSTER"), reason="only with a database cluster")


def _patroni(host, *args):
    config = host.check_output("ls /etc/patroni/*-main.yml").split()[0]
    return host.check_output(f"patronictl -c {config} {' '.join(args)}")


def _members(host):
    return {m["Member"]: m for m in json.loads(_patroni(host, "list", "-f", "json"))}


def test_one_leader_and_two_streaming_replicas_with_no_lag(hosts, groups):
    db = groups["db"]
    for _ in range(30):
        members = _members(hosts[db[0]])
        replicas = [m for m in members.values() if m["Role"] != "Leader"]
        if all(m["State"] == "streaming" and m.get("Lag in MB", 0) == 0 for m in replicas):
            break
        time.sleep(2)
    assert sorted(members) == sorted(db), members
    assert [m["Role"] for m in members.values()].count("Leader") == 1, members
    assert len(replicas) == 2 and all(m["State"] == "streaming" for m in replicas), members
    assert all(m.get("Lag in MB", 0) == 0 for m in replicas), members
    # synchronous replication: a replica confirms every commit
    assert any(m["Role"] == "Sync Standby" for m in replicas), members


def test_every_member_runs_under_patroni_not_debians_unit(hosts, groups):
    for name in groups["db"]:
        h = hosts[name]
        units = h.check_output("systemctl list-units --all --plain --no-legend 'patroni@*' 'postgresql@*'")
        assert "patroni@" in units and " active running" in units.split("patroni@", 1)[1].splitlines()[0], units
        version = h.check_output("ls /etc/patroni/").split("-main.yml")[0]
        assert h.run(f"systemctl is-enabled postgresql@{version}-main").stdout.strip() == "disabled"
        assert h.file(f"/etc/postgresql/{version}/main/start.conf").content_string.strip() == "manual"
        # Patroni's configuration holds passwords
        assert h.file(f"/etc/patroni/{version}-main.yml").mode == 0o600


def test_etcd_has_three_healthy_members(hosts, groups):
    h = hosts[groups["db"][0]]
    members = h.check_output("ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 member list -w json")
    assert len(json.loads(members)["members"]) == 3
    health = h.run("ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 endpoint health --cluster")
    assert health.rc == 0 and health.stdout.count("is healthy") == 3, health.stdout + health.stderr


def test_a_row_the_site_writes_is_on_every_member(hosts, groups, http):
    note = f"replicated-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302
    query = f"runuser -u postgres -- psql -d demo -tAc \"SELECT count(*) FROM notes_note WHERE text = '{note}'\""
    for name in groups["db"]:
        for _ in range(10):
            if hosts[name].check_output(query).strip() == "1":
                break
            time.sleep(1)
        assert hosts[name].check_output(query).strip() == "1", f"{name} lacks the row"


def test_only_the_leader_takes_writes(hosts, groups):
    leader = [n for n, m in _members(hosts[groups["db"][0]]).items() if m["Role"] == "Leader"][0]
    for name in groups["db"]:
        h = hosts[name]
        recovery = h.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_is_in_recovery()'").strip()
        assert recovery == ("f" if name == leader else "t"), name
        if name != leader:
            r = h.run("runuser -u postgres -- psql -d demo -c 'CREATE TABLE ntier_probe (i int)'")
            assert r.rc != 0 and "read-only transaction" in r.stderr, r.stderr
