"""Checks of the large topology (molecule/cluster): the virtual IP moves to the other load
balancer when the one holding it fails, and the site keeps answering with a cache host down."""
import json
import os
import time

import pytest

from conftest import private_address
from test_stack import _upload

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_VIP_NETWORK"), reason="only with a virtual IP")


def _holder(hosts, groups, vip):
    held = [name for name in groups["lb"] if f"inet {vip}/" in hosts[name].check_output("ip -4 -o addr show")]
    assert len(held) == 1, f"the virtual IP is held by {held}"
    return held[0]


def _wait(predicate, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_virtual_ip_moves_when_its_load_balancer_fails(http, hosts, groups, entry_address):
    vip = entry_address
    first = _holder(hosts, groups, vip)
    assert first == groups["lb"][0], "the first load balancer holds the address while healthy"
    assert http.request("/").status == 200
    hosts[first].run_test("systemctl stop haproxy")
    try:
        assert _wait(lambda: _holder_or_none(hosts, groups, vip) not in (None, first)), "the address did not move"
        assert _wait(lambda: http.request("/", timeout=3).status == 200), "the site does not answer on the moved address"
        assert http.post_form("/notes/", data={"text": "written after failover"}).status == 302
    finally:
        hosts[first].run_test("systemctl start haproxy")
    # the healthy first load balancer takes its address back, and the site answers there
    assert _wait(lambda: _holder_or_none(hosts, groups, vip) == first), "the address did not come back"
    assert _wait(lambda: http.request("/", timeout=3).status == 200)


def _holder_or_none(hosts, groups, vip):
    held = [name for name in groups["lb"] if f"inet {vip}/" in hosts[name].check_output("ip -4 -o addr show")]
    return held[0] if len(held) == 1 else None


def test_every_node_lists_every_cache_host(hosts, groups, project):
    expected = sorted(f"{private_address(hosts[name])}:11211" for name in groups["cache"])
    for name in groups["web"]:
        out = hosts[name].check_output(
            f"{project}-manage shell -c \"from django.conf import settings; import json; "
            f"print(json.dumps(settings.CACHES['default']['LOCATION']))\"").strip().splitlines()[-1]
        assert sorted(json.loads(out)) == expected


def test_site_answers_with_one_cache_host_down(http, hosts, groups):
    down = hosts[groups["cache"][0]]
    down.run_test("systemctl stop memcached")
    try:
        for path in ("/", "/cached/", "/notes/"):
            r = http.request(path, timeout=10)
            assert r.status == 200, (path, r.status)
        assert http.post_form("/notes/", data={"text": "written with a cache host down"}).status == 302
    finally:
        down.run_test("systemctl start memcached")


def test_files_served_by_the_standby_when_the_primary_media_host_is_down(http, hosts, groups, project):
    if len(groups.get("media", [])) < 2:
        pytest.skip("one media host")
    content = f"standby copy {time.time()}"
    url = _upload(http, f"standby-{int(time.time())}.txt", content)
    standby = hosts[groups["media"][1]]
    copy = f"/srv/media/{project}{url}"
    assert _wait(lambda: standby.file(copy).exists, 60), "the standby did not copy the upload"
    assert standby.file(copy).content_string == content
    primary = hosts[groups["media"][0]]
    primary.run_test("systemctl stop nginx")
    try:
        # the load balancers notice within their health checks and send files to the standby
        assert _wait(lambda: http.request(url, timeout=3).status == 200, 30), "files not served by the standby"
        assert http.request(url).body == content
    finally:
        primary.run_test("systemctl start nginx")
        # the next checks write uploads that only the primary has at once: wait until every
        # load balancer sends files to it again
        stat = ("echo 'show stat' | socat stdio UNIX-CONNECT:/run/haproxy/admin.sock"
                f" | awk -F, '$1 == \"files\" && $2 == \"{groups['media'][0]}\" {{ print $18 }}'")
        for lb in groups["lb"]:
            assert _wait(lambda: hosts[lb].check_output(stat).strip() == "UP", 30), f"{lb} does not see the primary back"


def test_rolling_deploy_drained_each_node_on_every_load_balancer(groups):
    """side_effect ran deploy.yml while tests/lb/watch.sh sampled each load balancer's
    HAProxy: every web node was drained in the site's backend on every one of them."""
    for lb in groups["lb"]:
        drained = open(os.path.join(os.environ["NTIER_DRAINED_DIR"], f"{lb}.drained")).read()
        for node in groups["web"]:
            assert f" site_demo/{node}\n" in drained, f"{node} was never drained on {lb}"
