import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("unit_absent", Path(__file__).parents[2] / "plugins" / "modules" / "unit_absent.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


def test_a_unit_that_is_not_installed_is_left_alone():
    assert mod.plan(mod.parse_show("LoadState=not-found\nActiveState=inactive\nUnitFileState=\n")) == (False, False)


def test_a_running_enabled_unit_is_stopped_and_disabled():
    assert mod.plan(mod.parse_show("LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n")) == (True, True)


def test_a_stopped_disabled_unit_is_not_changed():
    assert mod.plan(mod.parse_show("LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n")) == (False, False)
    assert mod.plan(mod.parse_show("LoadState=loaded\nActiveState=failed\nUnitFileState=enabled\n")) == (False, True)


def test_unit_names_that_could_be_options_are_refused():
    assert mod.UNIT.match("postgresql@15-main.service")
    assert not mod.UNIT.match("--now")
    assert not mod.UNIT.match("a b")
