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


def test_ledger():
    assert mod.data_ledger(MEDIA) == {"db": "db1", "media": "m1"}
