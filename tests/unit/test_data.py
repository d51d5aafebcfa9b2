import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("data", Path(__file__).parents[2] / "plugins" / "filter" / "data.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

SINGLE = {"db_host": "w1", "media_hosts": ["w1"], "media_dedicated": False, "media_store_host": None}
SPLIT = {**SINGLE, "db_host": "db1"}
MEDIA = {**SPLIT, "media_hosts": ["m1"], "media_dedicated": True, "media_store_host": "m1"}
LOCAL = {"demo": "/srv/django/demo/media"}


def test_fresh_deployment_moves_nothing():
    plan = mod.data_plan({"w1": {}}, SINGLE, {})
    assert plan == {"errors": [], "db_from": None, "media_from": None}


def test_database_moves_from_the_web_host_to_the_new_database_host():
    plan = mod.data_plan({"w1": {"db": True, "media": LOCAL}, "db1": {}}, SPLIT, {"db": "w1", "media": "w1"})
    assert plan == {"errors": [], "db_from": "w1", "media_from": None}


def test_uploads_move_to_the_media_tier():
    plan = mod.data_plan({"w1": {"db": False, "media": LOCAL}, "db1": {"db": True}, "m1": {}}, MEDIA,
                         {"db": "db1", "media": "w1"})
    assert plan == {"errors": [], "db_from": None, "media_from": "w1"}


def test_done_moves_are_not_repeated():
    holdings = {"w1": {"db": False, "media": {}}, "db1": {"db": True}, "m1": {"media": {"demo": "/srv/media/demo/media"}}}
    assert mod.data_plan(holdings, MEDIA, {"db": "db1", "media": "m1"}) == {"errors": [], "db_from": None, "media_from": None}


def test_database_host_removed_while_holding_the_only_copy():
    # db1 held the database; the inventory now names db2 and no longer lists db1
    plan = mod.data_plan({"w1": {"media": LOCAL}, "db2": {}}, {**SPLIT, "db_host": "db2"}, {"db": "db1", "media": "w1"})
    assert len(plan["errors"]) == 1
    assert "lives on db1, which is not in the inventory any more" in plan["errors"][0]
    assert "keep db1 in the inventory" in plan["errors"][0]


def test_two_copies_are_ambiguous():
    plan = mod.data_plan({"a": {"db": True}, "b": {"db": True}, "db1": {}}, SPLIT)
    assert "all hold a copy" in plan["errors"][0]


def test_uploads_back_off_the_media_tier_are_refused():
    plan = mod.data_plan({"w1": {}, "m1": {"media": {"demo": "/srv/media/demo/media"}}, "db1": {"db": True}}, SPLIT,
                         {"db": "db1", "media": "m1"})
    assert any("not supported yet" in e for e in plan["errors"])


def test_rebuilt_database_host_is_refused_unless_empty_is_intended():
    # the ledger says db1 holds the database; db1 answers with no record (rebuilt, same name)
    holdings = {"w1": {"media": LOCAL}, "db1": {}}
    plan = mod.data_plan(holdings, SPLIT, {"db": "db1", "media": "w1"})
    assert len(plan["errors"]) == 1
    assert "The database of the last deployment lives on db1, but db1 records none" in plan["errors"][0]
    assert "ntier_data_empty_ok: [db]" in plan["errors"][0]
    assert mod.data_plan(holdings, SPLIT, {"db": "db1", "media": "w1"}, ["db"])["errors"] == []


def test_rebuilt_media_host_is_refused():
    holdings = {"w1": {}, "db1": {"db": True}, "m1": {}}
    plan = mod.data_plan(holdings, MEDIA, {"db": "db1", "media": "m1"})
    assert ["ntier_data_empty_ok: [media]" in e for e in plan["errors"]] == [True]
    assert plan["media_from"] is None


def _hv(**records):
    return {h: {"ansible_facts": {"ansible_local": {"ntier_django": r}}} if r is not None else {} for h, r in records.items()}


HERE = {"id": "abc", "secrets_dir": "/root/.ntier-django/secrets/prod", "controller": "ops1"}


def test_hosts_of_another_deployment_are_refused():
    hv = _hv(w1={"deployment": {"id": "xyz", "secrets_dir": "/home/a/.ntier-django/secrets/inv-1", "controller": "laptop"}},
             db1={"deployment": dict(HERE)}, new=None, old={"tiers": ["web"]})
    errors = mod.deployment_errors(hv, ["w1", "db1", "new", "old"], HERE)
    assert len(errors) == 1
    assert errors[0].startswith("w1 was deployed with the secrets in /home/a/.ntier-django/secrets/inv-1 on laptop")
    assert "this run uses /root/.ntier-django/secrets/prod on ops1" in errors[0]
    assert "ntier_secrets_dir" in errors[0] and "ntier_deployment" in errors[0]


def test_the_record_carries_the_deployment():
    rec = mod.host_record(SPLIT, "db1", ["db"], [], "/srv/media", HERE)
    assert rec["deployment"] == HERE and rec["data"]["db"] is True
    assert "deployment" not in mod.host_record(SPLIT, "db1", ["db"], [], "/srv/media")


def test_ledger():
    assert mod.data_ledger(MEDIA) == {"db": "db1", "media": "m1"}


PROJECTS = [{"name": "demo", "media_root": "/srv/django/demo/media"}, {"name": "blog", "media_root": "/x/blog/media"}]


def test_single_host_records_every_tier_and_its_own_upload_directories():
    rec = mod.host_record(SINGLE, "w1", ["web", "db", "cache", "media", "ungrouped"], PROJECTS, "/srv/media")
    assert rec == {"tiers": ["cache", "db", "media", "web"],
                   "data": {"db": True, "media": {"demo": "/srv/django/demo/media", "blog": "/x/blog/media"}}}


def test_hosts_of_a_media_tier_record_the_store_or_nothing():
    assert mod.host_record(MEDIA, "m1", ["media"], PROJECTS, "/srv/media")["data"] == {
        "db": False, "media": {"demo": "/srv/media/demo/media", "blog": "/srv/media/blog/media"}}
    assert mod.host_record(MEDIA, "w1", ["web"], PROJECTS, "/srv/media") == {
        "tiers": ["web"], "data": {"db": False, "media": {}}}


def test_a_move_changes_only_its_kind_of_data():
    fact = {"tiers": ["web", "db"], "data": {"db": True, "media": LOCAL}}
    assert mod.moved_record(fact, "db", False, PROJECTS, "/srv/media") == {"tiers": ["web", "db"], "data": {"db": False, "media": LOCAL}}
    assert mod.moved_record({}, "media", True, PROJECTS, "/srv/media") == {
        "data": {"media": {"demo": "/srv/media/demo/media", "blog": "/srv/media/blog/media"}}}
    assert mod.moved_record(fact, "media", False, PROJECTS, "/srv/media")["data"] == {"db": True, "media": {}}


def test_moves_go_to_the_target_host_only():
    plan = {"errors": [], "db_from": "w1", "media_from": "w1"}
    assert mod.moves_to(plan, "db1", MEDIA) == {"db": "w1", "media": ""}
    assert mod.moves_to(plan, "m1", MEDIA) == {"db": "", "media": "w1"}
    assert mod.moves_to(plan, "m2", MEDIA) == {"db": "", "media": ""}
    assert mod.moves_to({"db_from": None, "media_from": None}, "db1", MEDIA) == {"db": "", "media": ""}


def test_a_media_move_carries_the_recorded_uploads_and_the_static_files():
    hostvars = {"w1": {"ansible_facts": {"ansible_local": {"ntier_django": {"data": {"media": LOCAL}}}}}}
    projects = [{"name": "demo", "static_root": "/srv/django/demo/static"}]
    assert mod.media_move_parts(hostvars, "w1", projects) == [
        {"key": "demo", "value": "/srv/django/demo/media", "kind": "media"},
        {"key": "demo", "value": "/srv/django/demo/static", "kind": "static"}]
    assert mod.media_move_parts(hostvars, None, projects) == []
