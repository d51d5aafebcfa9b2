"""Checks of the large topology (molecule/cluster): the virtual IP moves to the other load
balancer when the one holding it fails, and the site keeps answering with a cache host down."""
import json
import os
import time

import pytest

from conftest import haproxy_servers, private_address, run_site, wait_until
from test_stack import _upload

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_VIP_NETWORK"), reason="only with a virtual IP")


def _holder(hosts, groups, vip):
    held = [name for name in groups["lb"] if f"inet {vip}/" in hosts[name].check_output("ip -4 -o addr show")]
    assert len(held) == 1, f"the virtual IP is held by {held}"
    return held[0]


def test_virtual_ip_moves_when_its_load_balancer_fails(http, hosts, groups, entry_address):
    vip = entry_address
    first = _holder(hosts, groups, vip)
    assert first == groups["lb"][0], "the first load balancer holds the address while healthy"
    assert http.request("/").status == 200
    hosts[first].run_test("systemctl stop haproxy")
    try:
        assert wait_until(lambda: _holder_or_none(hosts, groups, vip) not in (None, first)), "the address did not move"
        assert wait_until(lambda: http.request("/", timeout=3).status == 200), "the site does not answer on the moved address"
        assert http.post_form("/notes/", data={"text": "written after failover"}).status == 302
    finally:
        hosts[first].run_test("systemctl start haproxy")
    # the healthy first load balancer takes its address back, and the site answers there
    assert wait_until(lambda: _holder_or_none(hosts, groups, vip) == first), "the address did not come back"
    assert wait_until(lambda: http.request("/", timeout=3).status == 200)


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
    assert wait_until(lambda: standby.file(copy).exists, 60), "the standby did not copy the upload"
    assert standby.file(copy).content_string == content
    primary = hosts[groups["media"][0]]
    primary.run_test("systemctl stop nginx")
    try:
        # the load balancers notice within their health checks and send files to the standby
        assert wait_until(lambda: http.request(url, timeout=3).status == 200, 30), "files not served by the standby"
        assert http.request(url).body == content
    finally:
        primary.run_test("systemctl start nginx")
        # the next checks write uploads that only the primary has at once: wait until every
        # load balancer sends files to it again
        for lb in groups["lb"]:
            assert wait_until(lambda: haproxy_servers(hosts[lb], "files").get(groups["media"][0]) == "UP", 30), \
                f"{lb} does not see the primary back"


def test_rolling_deploy_drained_each_node_on_every_load_balancer(groups):
    """side_effect ran deploy.yml while tests/lb/watch.sh sampled each load balancer's
    HAProxy: every web node was drained in the site's backend on every one of them."""
    for lb in groups["lb"]:
        drained = open(os.path.join(os.environ["NTIER_DRAINED_DIR"], f"{lb}.drained")).read()
        for node in groups["web"]:
            assert f" site_demo/{node}\n" in drained, f"{node} was never drained on {lb}"


def _haproxy_workers(lb):
    return set(lb.run("pgrep -P $(systemctl show -P MainPID haproxy) -x haproxy").stdout.split())


def test_a_reload_owed_to_haproxy_survives_a_later_failure_in_the_play(hosts, groups, http):
    """A run changes HAProxy's configuration, then a later task of the load balancers'
    play fails on that host (keepalived's new configuration does not validate there):
    HAProxy still reloads (a new worker runs the new configuration) instead of keeping the
    old one until some later run changes the file again."""
    lb = hosts[groups["lb"][0]]
    workers = _haproxy_workers(lb)
    assert workers, "no HAProxy worker"
    # the release side_effect deployed, so that these runs change nothing else
    release = json.dumps({"ntier_projects": [{
        "name": "demo", "source": os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "release2"),
        "settings_module": "demosite.settings.production", "wsgi_module": "demosite.wsgi",
        "server_names": ["demo.example.test"]}]})
    # keepalived's validator fails on the first load balancer only (the daemon runs on)
    lb.check_output("mv /usr/sbin/keepalived /usr/sbin/keepalived.real && printf '#!/bin/sh\\nexit 1\\n' > /usr/sbin/keepalived"
                    " && chmod 755 /usr/sbin/keepalived")
    try:
        rc, out = run_site("-e", release, "-e", "haproxy_timeout_client=61s", "-e", "keepalived_router_id=52")
        assert rc != 0 and "failed to validate" in out, out[-3000:]
        assert "timeout client 61s" in lb.file("/etc/haproxy/haproxy.cfg").content_string
        assert _haproxy_workers(lb) - workers, "HAProxy was not reloaded: the run that changed its configuration failed later"
        assert http.request("/").status == 200
    finally:
        lb.check_output("mv /usr/sbin/keepalived.real /usr/sbin/keepalived")
        restored, restored_out = run_site("-e", release)
    assert restored == 0, restored_out[-3000:]
    assert "timeout client 60s" in lb.file("/etc/haproxy/haproxy.cfg").content_string


def test_a_rebuilt_primary_media_store_is_refused_and_the_standby_keeps_its_copy(http, hosts, groups, project):
    """The primary media host comes back empty under its name (its store's contents, its
    identity and its record gone, an empty store with a new identity in their place, as a
    rebuild would leave it): the standby copies nothing (it would have deleted every
    upload), and site.yml refuses before any change."""
    if len(groups.get("media", [])) < 2:
        pytest.skip("one media host")
    url = _upload(http, f"rebuild-{int(time.time())}.txt", "kept through a rebuild")
    primary, standby = hosts[groups["media"][0]], hosts[groups["media"][1]]
    copy = f"/srv/media/{project}{url}"
    assert wait_until(lambda: standby.file(copy).exists, 60), "the standby did not copy the upload"
    count = f"find /srv/media/{project}/media -type f | wc -l"
    before = int(standby.check_output(count))
    # in place (the SFTP sessions are chrooted into this directory), then an empty store
    primary.check_output(
        "set -e; mkdir /root/rebuilt; mv /srv/media/.ntier-store-id /srv/media/* /root/rebuilt/;"
        " mv /etc/ansible/facts.d/ntier_django.fact /root/rebuilt/fact;"
        f" mkdir -p /srv/media/{project}/static /srv/media/{project}/media;"
        f" chown ntier-media: /srv/media/{project}/static /srv/media/{project}/media;"
        " head -c 16 /dev/urandom | od -An -tx1 | tr -d ' ' > /srv/media/.ntier-store-id")
    try:
        # three copy intervals: each refused, nothing deleted
        time.sleep(50)
        assert int(standby.check_output(count)) == before, "the standby mirrored the empty store"
        assert standby.file(copy).content_string == "kept through a rebuild"
        assert standby.check_output("systemctl show -P Result ntier-media-sync.service") == "exit-code"
        assert "is not the store this standby copies" in standby.check_output(
            "journalctl -u ntier-media-sync.service -n 20 --no-pager")
        rc, out = run_site()
        assert rc != 0
        assert (f"The uploaded files of the last deployment live on {groups['media'][0]}, "
                f"but {groups['media'][0]} records none") in out, out[-3000:]
        assert "changed=" not in out.split("PLAY RECAP")[-1].replace("changed=0", ""), "the refused run changed something"
        assert int(standby.check_output(count)) == before
    finally:
        primary.check_output(
            "set -e; rm -rf /srv/media/* /srv/media/.ntier-store-id; mv /root/rebuilt/fact /etc/ansible/facts.d/ntier_django.fact;"
            " mv /root/rebuilt/.ntier-store-id /root/rebuilt/* /srv/media/; rmdir /root/rebuilt")
    # the pinned store is back: the standby copies again
    assert wait_until(lambda: standby.check_output("systemctl show -P Result ntier-media-sync.service") == "success", 60)
