import importlib.util
import os
from pathlib import Path

spec = importlib.util.spec_from_file_location("owed", Path(__file__).parents[2] / "plugins" / "modules" / "owed.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


def test_restart_outranks_reload_and_an_unknown_record_restarts():
    assert mod.stronger("", "reload") == "reload"
    assert mod.stronger("reload", "restart") == "restart"
    assert mod.stronger("restart", "reload") == "restart"
    assert mod.stronger("reload", "") == "reload"
    assert mod.stronger("garbage", "") == "restart"


def test_the_record_is_root_only_and_read_back(tmp_path):
    path = tmp_path / ".pending"
    assert mod.read(str(path)) == ""
    mod.write(str(path), "reload")
    assert mod.read(str(path)) == "reload"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == [".pending"]
