import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("packages", Path(__file__).parents[2] / "plugins" / "action" / "packages.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


def test_only_what_the_facts_lack_goes_to_apt():
    installed = {"nginx": [{"version": "1.22"}], "acl": [{"version": "2.3"}]}
    assert mod.missing(["nginx", "acl"], installed) == []
    assert mod.missing(["nginx", "sshfs"], installed) == ["sshfs"]
    assert mod.missing("sshfs", installed) == ["sshfs"]


def test_without_package_facts_everything_goes_to_apt():
    assert mod.missing(["nginx", "acl"], None) == ["nginx", "acl"]
