import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "haproxy_state", Path(__file__).parents[2] / "tests" / "lb" / "haproxy_state.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

HEADER = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"


def state(*servers):
    return HEADER + "".join(f"3 {be} {i} {srv} 10.0.0.{i} 2 {adm} 1 1 0\n" for i, (be, srv, adm) in enumerate(servers, 1))


def test_a_sample_lists_the_servers_drained_through_the_api():
    raw = ("=== 100.000\n" + state(("site_demo", "web1", 0), ("site_demo", "web2", 0))
           + "=== 100.200\n" + state(("site_demo", "web1", 8), ("site_demo", "web2", 0))
           + "=== 100.400\n" + state(("site_demo", "web1", 9), ("site_blog", "web2", 8))
           + "=== 100.600\n")  # no HAProxy: an empty answer
    assert mod.drains(raw) == ["100.200 site_demo/web1", "100.400 site_demo/web1", "100.400 site_blog/web2"]


def test_maintenance_alone_is_not_a_drain():
    assert mod.drains("=== 1.0\n" + state(("site_demo", "web1", 1))) == []
