import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("releases", Path(__file__).parents[2] / "plugins" / "filter" / "releases.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

RUNS_A = {"demo": {"current": "a", "previous": "z", "pending": False}}


def test_a_node_is_due_a_switch_for_a_new_release_or_a_pending_restart():
    assert not mod.switch_due(RUNS_A, {"demo": "a"})
    assert mod.switch_due(RUNS_A, {"demo": "b"})
    assert mod.switch_due({"demo": {**RUNS_A["demo"], "pending": True}}, {"demo": "a"})
    assert mod.switch_due({"demo": {"current": "", "previous": "", "pending": False}}, {"demo": "a"})


def test_switching_back_leaves_out_projects_that_ran_nothing():
    status = {**RUNS_A, "blog": {"current": "", "previous": "", "pending": False},
              "shop": {"current": "s1", "previous": "", "pending": True}}
    assert mod.switch_back_targets(status) == {"demo": "a", "shop": "s1"}
    assert mod.switch_back_targets(status, "previous") == {"demo": "z", "shop": "-"}
    with pytest.raises(ValueError):
        mod.switch_back_targets(status, "next")


def test_rollback_choices_agree_or_list_what_differs():
    projects = [{"name": "demo"}]
    agree = [{"demo": {"current": "b", "previous": "a"}}, {"demo": {"current": "b", "previous": "a"}}]
    assert mod.rollback_choices(projects, agree) == {"demo": ["a"]}
    half = [{"demo": {"current": "b", "previous": "a"}}, {"demo": {"current": "a", "previous": "z"}}]
    assert mod.rollback_choices(projects, half) == {"demo": ["a", "z"]}
    assert mod.rollback_choices(projects, [{"demo": {"current": "a", "previous": ""}}]) == {"demo": [""]}
    assert mod.rollback_choices(projects, [{}]) == {"demo": [""]}


def test_rollback_targets_take_the_named_release_or_the_agreed_one():
    assert mod.rollback_targets({"demo": ["a"], "blog": ["b"]}) == {"demo": "a", "blog": "b"}
    assert mod.rollback_targets({"demo": ["a", "z"], "blog": [""]}, "r9") == {"demo": "r9", "blog": "r9"}
    for disagree in ({"demo": ["a", "z"]}, {"demo": [""]}):
        with pytest.raises(ValueError):
            mod.rollback_targets(disagree)
