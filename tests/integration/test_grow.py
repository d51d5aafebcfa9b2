"""Checks of one step of the grow scenario (molecule/grow): the rows and uploads written
at every earlier step are still there and served, services run only where the step's
inventory puts them, and what the client polling during the run saw."""
import json
import os
import sys
import uuid

import pytest

from test_stack import _upload

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_STAGE"), reason="only in the grow scenario's steps")

STATE = os.path.join(os.environ.get("NTIER_STATE", "."), "seeded.json")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "grow"))
import poll  # noqa: E402


def _seeded():
    """What the earlier steps wrote; every step verified before this one in this run must
    be there (a missing or short record fails: these checks never pass on nothing)."""
    earlier = os.environ.get("NTIER_EARLIER_STAGES", "").split()
    if not earlier:
        return []
    assert os.path.exists(STATE), f"no record of what steps {earlier} wrote ({STATE})"
    seeded = json.load(open(STATE))
    missing = set(earlier) - {item["stage"] for item in seeded}
    assert not missing, f"no record of what steps {sorted(missing)} wrote"
    return seeded


def test_rows_of_earlier_steps_are_in_the_database(hosts, groups):
    db = hosts[groups["db"][0]]
    for item in _seeded():
        count = db.check_output(
            f"runuser -u postgres -- psql -d demo -tAc \"SELECT count(*) FROM notes_note WHERE text = '{item['note']}'\"")
        assert count.strip() == "1", f"row written at step {item['stage']} is missing"


def test_uploads_of_earlier_steps_are_served(http):
    for item in _seeded():
        r = http.request(item["url"])
        assert r.status == 200, f"upload of step {item['stage']}: {r.status}"
        assert r.body == item["content"]


def test_services_run_where_the_inventory_puts_them_and_nowhere_else(hosts, groups):
    def member(host, *tiers):
        return any(host in groups.get(t, []) for t in tiers)
    for name in groups["all"]:
        h = hosts[name]
        expected = {
            "postgresql": member(name, "db"),
            "memcached": member(name, "cache"),
            "haproxy": member(name, "lb"),
            "gunicorn-demo.socket": member(name, "web"),
            "nginx": member(name, "web", "media"),
        }
        for unit, wanted in expected.items():
            running = h.run(f"systemctl is-active --quiet {unit}").rc == 0
            assert running == wanted, f"{name}: {unit} {'should' if wanted else 'should not'} run"


def test_hosts_record_what_they_hold(hosts, groups):
    db = json.loads(hosts[groups["db"][0]].file("/etc/ansible/facts.d/ntier_django.fact").content_string)
    assert db["data"]["db"] is True and "db" in db["tiers"]
    media_host = (groups.get("media") or groups["web"])[0]
    media = json.loads(hosts[media_host].file("/etc/ansible/facts.d/ntier_django.fact").content_string)
    dedicated = not set(groups["media"]) & set(groups["web"])
    assert media["data"]["media"] == {"demo": "/srv/media/demo/media" if dedicated else "/srv/django/demo/media"}
    ledger = json.load(open(os.path.join(os.environ["NTIER_SECRETS_DIR"], "ledger.json")))
    assert ledger == {"db": groups["db"][0], "media": media_host}


def test_client_during_the_run(groups):
    """What a client polling the site saw while site.yml ran this step (printed; bounded)."""
    if not os.path.exists(os.environ.get("NTIER_POLL", "")):
        pytest.skip("nobody polled the first step (there was no site yet)")
    summary = poll.summarize(json.load(open(os.environ["NTIER_POLL"])))
    print(f"\n{os.environ['NTIER_STAGE']}: {json.dumps(summary)}")
    for kind in ("read", "static", "media", "write"):
        assert summary.get(kind, {}).get("sent", 0) > 0, f"no {kind} request was made: {summary}"
    # pages and files are read all along: a move makes the site read-only, never down
    assert summary["read"]["failed"] == 0, summary
    assert summary["static"]["failed"] == 0, summary
    assert summary["media"]["failed"] == 0, summary
    if os.environ["NTIER_STAGE"].endswith(("scale-out", "scale-in")):
        # a node joining or leaving the rotation costs no request at all
        assert summary["write"]["failed"] == 0, summary


def test_write_this_steps_row_and_upload(http):
    note = f"grow-{os.environ['NTIER_STAGE']}-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302
    content = f"uploaded at {os.environ['NTIER_STAGE']} {uuid.uuid4().hex}"
    url = _upload(http, f"grow-{uuid.uuid4().hex[:8]}.txt", content)
    seeded = _seeded() + [{"stage": os.environ["NTIER_STAGE"], "note": note, "url": url, "content": content}]
    with open(STATE, "w") as f:
        json.dump(seeded, f)


def _fact(host):
    return json.loads(host.file("/etc/ansible/facts.d/ntier_django.fact").content_string)


def _notes(host, note=None):
    where = f" WHERE text = '{note}'" if note else ""
    return int(host.check_output(f"runuser -u postgres -- psql -d demo -tAc \"SELECT count(*) FROM notes_note{where}\""))


def test_a_failed_run_after_the_move_leaves_the_old_database_writable(hosts, groups, http):
    """grow.sh, step 2 first: site.yml moved the database to its new host, then failed in
    the web build (a requirement pip cannot find), before any web node used the new copy."""
    if not os.environ.get("NTIER_FAILED_RUN"):
        pytest.skip("only right after grow.sh's run that fails after the database move")
    ledger = json.load(open(os.path.join(os.environ["NTIER_SECRETS_DIR"], "ledger.json")))
    old, new = hosts[ledger["db"]], hosts[groups["db"][0]]
    assert ledger["db"] != groups["db"][0], "this step moves no database"
    # the move did happen: the new host got every row written so far
    seeded = _seeded()
    assert seeded and all(_notes(new, item["note"]) == 1 for item in seeded), "the database never reached its new host"
    # ... and was undone: the old host holds it, writable; the next run moves it again
    assert _fact(old)["data"]["db"] is True and _fact(new)["data"]["db"] is False
    readonly = old.check_output("runuser -u postgres -- psql -d demo -tAc 'SHOW default_transaction_read_only'")
    assert readonly.strip() == "off"
    note = f"grow-after-a-failed-move-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302, "the site takes no writes"
    assert _notes(old, note) == 1 and _notes(new, note) == 0
    content = f"uploaded after a failed move {uuid.uuid4().hex}"
    url = _upload(http, f"grow-{uuid.uuid4().hex[:8]}.txt", content)
    # the next step's checks require this row on the database's new host
    with open(STATE, "w") as f:
        json.dump(seeded + [{"stage": "after a failed move", "note": note, "url": url, "content": content}], f)


def test_a_leaving_node_was_drained_first(groups):
    if not os.environ["NTIER_STAGE"].endswith("scale-in"):
        pytest.skip("no node left at this step")
    # what HAProxy itself did during the step's run (tests/lb/watch.sh): the node that left
    # (in no group now) was drained in its site backend while HAProxy still listed it
    left = sorted(set(groups["all"]) - {h for name, hosts in groups.items() if name != "all" for h in hosts})
    assert left, "no host left the web tier at this step"
    drained = open(os.environ["NTIER_DRAINED"]).read()
    for name in left:
        assert f" site_demo/{name}\n" in drained, f"{name} was not drained before it left: {drained!r}"
