import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("secrets_filters", Path(__file__).parents[2] / "plugins" / "filter" / "secrets.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

BEFORE = {"demo": {"secret_key": "K1", "secret_key_fallbacks": ["K0"], "db_password": "P"},
          "blog": {"secret_key": "B1", "secret_key_fallbacks": [], "db_password": "Q"}}


def test_pass_one_accepts_the_new_key_and_still_signs_with_the_old():
    mid = mod.secrets_accepting(BEFORE, {"demo": "K2", "blog": "B2"})
    assert mid["demo"] == {"secret_key": "K1", "secret_key_fallbacks": ["K2", "K0"], "db_password": "P"}
    assert mid["blog"]["secret_key_fallbacks"] == ["B2"]
    assert BEFORE["demo"]["secret_key_fallbacks"] == ["K0"]  # the input is not changed


def test_pass_two_signs_with_the_new_key_and_keeps_the_newest_old_ones():
    mid = mod.secrets_accepting(BEFORE, {"demo": "K2", "blog": "B2"})
    after = mod.secrets_promoted(mid, {"demo": "K2", "blog": "B2"})
    assert after["demo"] == {"secret_key": "K2", "secret_key_fallbacks": ["K1"], "db_password": "P"}
    assert after["blog"] == {"secret_key": "B2", "secret_key_fallbacks": ["B1"], "db_password": "Q"}
    assert mod.secrets_promoted(mid, {"demo": "K2"}, kept=2)["demo"]["secret_key_fallbacks"] == ["K1", "K0"]
    with pytest.raises(ValueError):
        mod.secrets_promoted(mid, {"demo": "K2"}, kept=0)
