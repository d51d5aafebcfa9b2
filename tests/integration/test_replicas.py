"""Checks of a replicated database (Molecule "replicas"): PostgreSQL under Patroni on the
three database hosts with etcd between them, one leader and two streaming replicas that
hold every row the site writes."""
import json
import os
import re
import shlex
import subprocess
import threading
import time
import uuid

import pytest
from conftest import (PATRONICTL, Background, Writes, haproxy_servers, patroni_leader, patroni_members, private_address, run_site,
                      wait_until)

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_DB_CLUSTER"), reason="only with a database cluster")


def _patroni(host, *args):
    return host.check_output(f"{PATRONICTL} {' '.join(args)}")


def _streaming(host):
    """{replica: (state, sync_state, bytes behind)} from a primary's pg_stat_replication."""
    out = host.check_output(
        "runuser -u postgres -- psql -tAc \"SELECT json_agg(json_build_array(application_name, state, sync_state,"
        " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1))) FROM pg_stat_replication\"").strip()
    return {name: (state, sync, int(behind)) for name, state, sync, behind in json.loads(out or "[]") or []}


def test_one_leader_and_two_streaming_replicas_with_no_lag(hosts, groups):
    db = groups["db"]
    members = patroni_members(hosts[db[0]])
    leaders = [n for n, m in members.items() if m["Role"] == "Leader"]
    assert sorted(members) == sorted(db) and len(leaders) == 1, members
    for _ in range(30):
        replicas = _streaming(hosts[leaders[0]])
        if sorted(replicas) == sorted(set(db) - set(leaders)) and all(r[2] == 0 for r in replicas.values()):
            break
        time.sleep(1)
    assert sorted(replicas) == sorted(set(db) - set(leaders)), replicas
    assert all(state == "streaming" and behind == 0 for state, _, behind in replicas.values()), replicas
    # synchronous replication: a replica confirms every commit
    assert [sync for _, sync, _ in replicas.values()].count("sync") == 1, replicas


def test_rows_written_before_the_cluster_are_on_every_member(hosts, groups):
    """grow.sh grew a split-db deployment into the cluster: the notes the site took while
    it was one server (their count and checksum, recorded then) are on every member."""
    if not os.path.exists(os.environ.get("NTIER_GROWN", "")):
        pytest.skip("this cluster was not grown from one server")
    before = json.load(open(os.environ["NTIER_GROWN"]))
    assert before["count"] > 0, before
    query = ("SELECT json_build_object('max_id', max(id), 'count', count(*), 'sum', md5(string_agg(id || ':' || text, ','"
             f" ORDER BY id))) FROM notes_note WHERE id <= {int(before['max_id'])}")
    for name in groups["db"]:
        now = json.loads(hosts[name].check_output(f"runuser -u postgres -- psql -d demo -tAc {shlex.quote(query)}"))
        assert now == before, f"{name}: {now} != {before}"


def test_every_member_runs_under_patroni_not_debians_unit(hosts, groups):
    for name in groups["db"]:
        h = hosts[name]
        units = h.check_output("systemctl list-units --all --plain --no-legend 'patroni@*' 'postgresql@*'")
        assert "patroni@" in units and " active running" in units.split("patroni@", 1)[1].splitlines()[0], units
        version = h.check_output("ls /etc/patroni/").split("-main.yml")[0]
        assert h.run(f"systemctl is-enabled postgresql@{version}-main").stdout.strip() == "disabled"
        assert h.file(f"/etc/postgresql/{version}/main/start.conf").content_string.strip() == "manual"
        # Patroni's configuration holds passwords
        assert h.file(f"/etc/patroni/{version}-main.yml").mode == 0o600


def test_etcd_has_three_healthy_members(hosts, groups):
    h = hosts[groups["db"][0]]
    members = h.check_output("ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 member list -w json")
    assert len(json.loads(members)["members"]) == 3
    health = h.run("ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 endpoint health --cluster")
    # (etcdctl says it on standard error)
    assert health.rc == 0 and (health.stdout + health.stderr).count("is healthy") == 3, health.stdout + health.stderr


def test_a_row_the_site_writes_is_on_every_member(hosts, groups, http):
    note = f"replicated-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302
    query = f"runuser -u postgres -- psql -d demo -tAc \"SELECT count(*) FROM notes_note WHERE text = '{note}'\""
    for name in groups["db"]:
        for _ in range(10):
            if hosts[name].check_output(query).strip() == "1":
                break
            time.sleep(1)
        assert hosts[name].check_output(query).strip() == "1", f"{name} lacks the row"


def test_only_the_leader_takes_writes(hosts, groups):
    leader = [n for n, m in patroni_members(hosts[groups["db"][0]]).items() if m["Role"] == "Leader"][0]
    for name in groups["db"]:
        h = hosts[name]
        recovery = h.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_is_in_recovery()'").strip()
        assert recovery == ("f" if name == leader else "t"), name
        if name != leader:
            r = h.run("runuser -u postgres -- psql -d demo -c 'CREATE TABLE ntier_probe (i int)'")
            assert r.rc != 0 and "read-only transaction" in r.stderr, r.stderr


class _Writers(Background):
    """Samples every database host twice a second while the block runs: which servers are
    out of recovery (a writer), from the host itself (podman exec, 1 s at most; a frozen or
    unreachable host gives no answer). [(time, {host: True (writer) | False | None})]"""

    def __init__(self, names):
        super().__init__()
        self.names, self.samples = names, []

    @staticmethod
    def _writer(name, out):
        try:
            r = subprocess.run(["podman", "exec", name, "runuser", "-u", "postgres", "--", "psql", "-tAc",
                                "SELECT pg_is_in_recovery()"], capture_output=True, text=True, timeout=1)
            out[name] = {"f": True, "t": False}.get(r.stdout.strip()) if r.returncode == 0 else None
        except subprocess.TimeoutExpired:
            out[name] = None

    def _run(self):
        while not self._stop.is_set():
            at, out = time.monotonic(), {}
            threads = [threading.Thread(target=self._writer, args=(n, out)) for n in self.names]
            for t in threads:
                t.start()
            for t in threads:
                t.join(2)
            self.samples.append((at, dict(out)))
            time.sleep(max(0.0, 0.5 - (time.monotonic() - at)))

    def two_writers(self, since=0.0):
        return [(round(t - since, 1), sorted(n for n, w in s.items() if w)) for t, s in self.samples
                if t >= since and sum(1 for w in s.values() if w) > 1]


def _whole(hosts, leader, others):
    """Wait until every other member streams from the leader (an earlier check may have just
    moved the primary)."""
    for _ in range(60):
        if sorted(n for n, r in _streaming(hosts[leader]).items() if r[0] == "streaming") == sorted(others):
            return
        time.sleep(2)
    raise AssertionError(f"the cluster is not whole: {_streaming(hosts[leader])}")


def _new_leader(hosts, others, old, since, within=70):
    while time.monotonic() - since < within:
        new = patroni_leader(hosts, others)
        if new and new != old:
            return new, time.monotonic()
        time.sleep(1)
    raise AssertionError(f"no replica took over within {within} s of losing {old}")


def _survived(hosts, new, writes):
    """Every write the site acknowledged is in the new primary's table."""
    for _ in range(30):
        r = hosts[new].run("runuser -u postgres -- psql -d demo -tAc \"SELECT text FROM notes_note WHERE text LIKE 'failover-%'\"")
        if r.rc == 0:
            break
        time.sleep(1)
    assert r.rc == 0, f"{new}'s server does not answer: {r.stderr}\n" + hosts[new].run(
        "journalctl -u 'patroni@*' --no-pager -n 40").stdout
    lost = sorted(set(writes.acknowledged()) - set(r.stdout.split()))
    assert not lost, f"acknowledged writes lost: {lost}"


def _rejoins(hosts, groups, new, old, within=90):
    """The old primary rejoins by itself, as a replica that streams from the new one."""
    for _ in range(within // 2):
        replicas = _streaming(hosts[new])
        if replicas.get(old, ("",))[0] == "streaming":
            break
        time.sleep(2)
    assert replicas.get(old, ("",))[0] == "streaming", replicas
    assert patroni_leader(hosts, groups["db"]) == new


def _freeze(name):
    """The host stops dead (podman pause: its etcd, Patroni and PostgreSQL freeze where they
    are); what it returns brings it back as it was, with a stale view of the cluster."""
    subprocess.run(["podman", "pause", name], check=True)
    return lambda: subprocess.run(["podman", "unpause", name], check=True)


def _power_cut(name):
    """The host is killed outright (podman kill: SIGKILL to its init, every process gone,
    what was not on disk lost); what it returns boots it again with its own address and
    MAC address, as a server that comes back after a power cut."""
    networks = json.loads(subprocess.run(["podman", "inspect", name, "--format", "{{json .NetworkSettings.Networks}}"],
                                         capture_output=True, text=True, check=True).stdout)
    subprocess.run(["podman", "kill", name], check=True, capture_output=True)
    subprocess.run(["podman", "wait", name], check=True, capture_output=True)

    def boot():
        # (podman hands a stopped container a new address unless it is given its own back)
        for network, conf in networks.items():
            subprocess.run(["podman", "network", "disconnect", network, name], check=True)
            subprocess.run(["podman", "network", "connect", "--ip", conf["IPAddress"],
                            "--mac-address", conf["MacAddress"], network, name], check=True)
        subprocess.run(["podman", "start", name], check=True, capture_output=True)
    return boot


def _lose_the_primary(hosts, groups, new_http, web, lose):
    """A client writes twice a second through the site and a sampler watches for writers
    while the primary's host is lost (lose(host): what brings it back) for the time a
    replica takes to take over, plus 15 s. A replica takes over within ttl + loop_wait +
    10 s, writes succeed again within 5 s of it, every write that was acknowledged is in
    the new primary's table (synchronous mode), gunicorn was not restarted, and the old
    primary rejoins as a replica once its host is back. (old, new, writers, when it was
    lost, when it came back)"""
    db = groups["db"]
    old = patroni_leader(hosts, db)
    assert old, "no leader to begin with"
    others = [n for n in db if n != old]
    _whole(hosts, old, others)
    gunicorn = web.check_output("systemctl show -p MainPID --value gunicorn-demo.service")
    with Writes(new_http()) as writes, _Writers(db) as writers:
        time.sleep(3)
        lost_at = time.monotonic()
        back = lose(old)
        try:
            new, promoted_at = _new_leader(hosts, others, old, lost_at)
            time.sleep(15)
        finally:
            back()
            back_at = time.monotonic()
        time.sleep(15)
    # Patroni's ttl 30 + loop_wait 10 + 10
    assert promoted_at - lost_at <= 50, f"the new leader came after {promoted_at - lost_at:.0f} s"
    written = writes.first_ok_after(promoted_at)
    assert written, f"no write succeeded after the promotion: {writes.done}"
    assert written - promoted_at <= 5, f"writes came back {written - promoted_at:.1f} s after the promotion"
    print(f"\nlost {old}: leader after {promoted_at - lost_at:.1f} s, writes back {written - promoted_at:.1f} s later; "
          f"{len(writes.acknowledged())} of {len(writes.done)} writes acknowledged")
    _survived(hosts, new, writes)
    assert web.check_output("systemctl show -p MainPID --value gunicorn-demo.service") == gunicorn
    _rejoins(hosts, groups, new, old, within=150)
    return old, new, writers, lost_at, back_at


@pytest.mark.heavy
def test_losing_the_primary_host_under_writes(hosts, groups, new_http, web):
    """The primary's host freezes (podman pause) under writes: see _lose_the_primary. No
    sample sees two writers while the host is frozen; when it comes back, its server is out
    of recovery until its Patroni's first loop demotes it (no watchdog fences it), and that
    window is printed and bounded."""
    old, new, writers, paused_at, resumed_at = _lose_the_primary(hosts, groups, new_http, web, _freeze)
    # (a sample takes up to 1 s: one begun in the last second before the resume may hear
    # the resumed host)
    frozen = [(t, w) for t, w in writers.two_writers(paused_at) if t + 1.0 <= resumed_at - paused_at]
    assert not frozen, f"two writers while {old} was frozen (s after the pause, hosts): {frozen}"
    stale = writers.two_writers(resumed_at)
    assert all(w == sorted([old, new]) for _, w in stale), stale
    assert not stale or stale[-1][0] <= 10, f"{old} was still out of recovery {stale[-1][0]} s after it came back"
    print(f"the resumed old primary out of recovery beside the new one in {len(stale)} samples "
          f"(last {stale[-1][0] if stale else 0} s after it resumed)")


@pytest.mark.heavy
def test_a_primary_host_killed_outright_and_booted_again(hosts, groups, new_http, web):
    """The primary's host is killed (podman kill) under writes and boots again 15 s after
    the promotion: see _lose_the_primary. Its Patroni finds another leader and starts its
    server as a replica (pg_rewind if its timeline went further), so no sample ever sees
    two writers, nor while it was down."""
    old, new, writers, _, _ = _lose_the_primary(hosts, groups, new_http, web, _power_cut)
    assert not writers.two_writers(), f"two writers (s after the start, hosts): {writers.two_writers()}"
    assert hosts[old].check_output("runuser -u postgres -- psql -tAc 'SELECT pg_is_in_recovery()'").strip() == "t"


@pytest.mark.heavy
def test_a_primary_cut_off_from_its_peers_stops_taking_writes(hosts, groups, new_http):
    """The primary's host loses its peers (nftables drops every packet to and from the
    other database hosts; the web node still reaches it) while a client writes through
    the site: its Patroni cannot renew the leader key, so it demotes its server within
    ttl; the others elect a new leader; no sample ever sees two writers; every write the
    site acknowledged is on the new leader; once the cut ends, the old primary rejoins."""
    db = groups["db"]
    old = patroni_leader(hosts, db)
    assert old, "no leader to begin with"
    others = [n for n in db if n != old]
    _whole(hosts, old, others)
    peers = " , ".join(private_address(hosts[n]) for n in others)
    cut = (f"nft add table inet ntier_cut && nft add chain inet ntier_cut in '{{ type filter hook input priority -10; }}'"
           f" && nft add chain inet ntier_cut out '{{ type filter hook output priority -10; }}'"
           f" && nft add rule inet ntier_cut in ip saddr {{ {peers} }} drop"
           f" && nft add rule inet ntier_cut out ip daddr {{ {peers} }} drop")
    with Writes(new_http()) as writes, _Writers(db) as writers:
        time.sleep(3)
        cut_at = time.monotonic()
        hosts[old].check_output(cut)
        try:
            new, promoted_at = _new_leader(hosts, others, old, cut_at)
            time.sleep(10)
        finally:
            hosts[old].run("nft delete table inet ntier_cut")
            healed_at = time.monotonic()
        time.sleep(10)
    assert not writers.two_writers(), f"two writers (s after the start, hosts): {writers.two_writers()}"
    # the cut-off primary's last sample as a writer: within Patroni's ttl of the cut
    demoted = max((t for t, s in writers.samples if s.get(old) and t < healed_at), default=cut_at) - cut_at
    assert demoted <= 30, f"{old} was still a writer {demoted:.0f} s after the cut"
    back = writes.first_ok_after(promoted_at)
    assert back and back - promoted_at <= 10, f"writes did not come back within 10 s of the promotion: {writes.done}"
    print(f"\npartition: old primary a writer for {demoted:.1f} s more, new leader after {promoted_at - cut_at:.1f} s; "
          f"{len(writes.acknowledged())} of {len(writes.done)} writes acknowledged")
    _survived(hosts, new, writes)
    _rejoins(hosts, groups, new, old)


@pytest.mark.heavy
def test_one_etcd_member_down_changes_nothing(hosts, groups, http):
    db = groups["db"]
    leader = patroni_leader(hosts, db)
    down = [n for n in db if n != leader][0]
    hosts[down].check_output("systemctl stop etcd")
    try:
        time.sleep(12)
        assert patroni_leader(hosts, db) == leader, "a failover happened"
        note = f"etcd-down-{uuid.uuid4().hex[:8]}"
        assert http.post_form("/notes/", data={"text": note}).status == 302
    finally:
        hosts[down].check_output("systemctl start etcd")


def _commits(hosts, names):
    """Transactions committed in the project's database, per member."""
    query = "runuser -u postgres -- psql -tAc \"SELECT xact_commit FROM pg_stat_database WHERE datname = 'demo'\""
    return {name: int(hosts[name].check_output(query)) for name in names}


def test_reads_go_to_the_replicas_and_writes_to_the_primary(hosts, groups, new_http):
    db = groups["db"]
    leader = patroni_leader(hosts, db)
    replicas = [n for n in db if n != leader]
    client = new_http()  # no pinning cookie yet
    before = _commits(hosts, db)
    for _ in range(20):
        assert client.request("/notes/").status == 200
    after = _commits(hosts, db)
    read_on_replicas = sum(after[n] - before[n] for n in replicas)
    assert read_on_replicas >= 20, f"reads on the replicas: {read_on_replicas}, on the primary: {after[leader] - before[leader]}"
    before = after
    for i in range(5):
        assert client.post_form("/notes/", data={"text": f"routed-{uuid.uuid4().hex[:8]}"}).status == 302
    after = _commits(hosts, db)
    assert after[leader] - before[leader] >= 5, "the writes did not reach the primary"


@pytest.mark.heavy
def test_a_replica_past_the_lag_budget_leaves_the_replica_endpoint_and_returns(hosts, groups, web):
    """The asynchronous replica stops getting WAL (nftables drops the primary's packets of
    the stream: Patroni resumes a pg_wal_replay_pause() by itself on PostgreSQL 14+, and
    takes back a recovery_min_apply_delay set on one server) while the primary writes 5 MB
    of WAL: once its Patroni says it lags past the budget, the web node's HAProxy takes it
    out of the replica endpoint within three checks (2 s apart); let go, it comes back."""
    db = groups["db"]
    leader = patroni_leader(hosts, db)
    members = patroni_members(hosts[leader])
    replica = next(n for n in db if members[n]["Role"] == "Replica")
    leader_address = private_address(hosts[leader])
    address = private_address(hosts[replica])
    budget = 1048576
    lagging = f"curl -s -o /dev/null -w '%{{http_code}}' -X OPTIONS 'http://{address}:8008/replica?lag={budget}'"
    psql = "runuser -u postgres -- psql -tAc"
    # (an earlier check may have just restarted it)
    assert wait_until(lambda: haproxy_servers(web, "postgres_replicas")[replica] == "UP", 60, 2), haproxy_servers(web, "postgres_replicas")
    hosts[replica].check_output(
        "nft add table inet ntier_lag && nft add chain inet ntier_lag in '{ type filter hook input priority -10; }'"
        f" && nft add rule inet ntier_lag in ip saddr {leader_address} tcp sport 5432 drop")
    try:
        hosts[leader].check_output(f"{psql} 'CREATE TABLE ntier_lag (g int, t text)'")
        hosts[leader].check_output(f"{psql} \"INSERT INTO ntier_lag SELECT g, repeat(md5(g::text), 8)"
                                   " FROM generate_series(1, 20000) g\"")
        # Patroni compares the replay position with the leader's, which it learns every loop (10 s)
        said = wait_until(lambda: web.check_output(lagging) == "503", 40)
        assert said, f"{replica}'s Patroni never said it lags"
        out = wait_until(lambda: haproxy_servers(web, "postgres_replicas")[replica] != "UP", 15)
        assert out and out - said <= 3 * 2 + 2, f"{replica} left the replica endpoint {out and out - said} s after it lagged"
        assert haproxy_servers(web, "postgres_replicas")[[n for n in db if n not in (leader, replica)][0]] == "UP"
    finally:
        hosts[replica].run("nft delete table inet ntier_lag")
        hosts[leader].run(f"{psql} 'DROP TABLE IF EXISTS ntier_lag'")
    back = wait_until(lambda: haproxy_servers(web, "postgres_replicas")[replica] == "UP", 40)
    assert back, f"{replica} did not come back to the replica endpoint: {haproxy_servers(web, 'postgres_replicas')}"
    print(f"\nlag: out of the replica endpoint {out - said:.1f} s after its Patroni said it lags, back {back - out:.1f} s later")


@pytest.mark.heavy
def test_with_every_replica_stopped_the_site_still_reads_and_writes(hosts, groups, web, new_http):
    """Both replicas' Patroni stopped (their servers with them): the replica endpoint
    falls back to the primary, pages that read the database answer, and a write goes
    through once Patroni has stopped waiting for a synchronous replica."""
    db = groups["db"]
    leader = patroni_leader(hosts, db)
    replicas = [n for n in db if n != leader]
    unit = "patroni@" + hosts[leader].check_output("ls /etc/patroni/").split("-main.yml")[0] + "-main"
    client = new_http()
    try:
        for name in replicas:
            hosts[name].check_output(f"systemctl stop {unit}")
        gone = wait_until(lambda: all(v != "UP" for v in haproxy_servers(web, "postgres_replicas").values()), 20)
        assert gone, haproxy_servers(web, "postgres_replicas")
        # a worker's persistent connection to a replica that went away fails its next request
        # once; then every read answers, from the primary: 10 in a row within 30 s
        statuses, start = [], time.monotonic()
        while statuses[-10:] != [200] * 10 and time.monotonic() - start < 30:
            statuses.append(client.request("/notes/").status)
        assert statuses[-10:] == [200] * 10, f"reads with every replica stopped: {statuses}"
        print(f"\nevery replica stopped: reads {statuses}")
        note = f"alone-{uuid.uuid4().hex[:8]}"

        tries = []

        def write():
            try:
                tries.append(client.post_form("/notes/", data={"text": note}).status)
            except Exception as e:  # noqa: BLE001 - a write that times out waiting for a replica is a failed try
                tries.append(repr(e)[:200])
            return tries[-1] == 302
        # (Patroni drops the synchronous standby in its next loop once none streams)
        wrote = wait_until(write, 70, step=2)
        stale = hosts[leader].check_output("runuser -u postgres -- psql -tAc 'SHOW synchronous_standby_names'").strip()
        if not wrote and stale and hosts[leader].check_output("patroni --version").split()[-1].startswith("3."):
            # Debian 12's Patroni 3.0.2 keeps a synchronous standby it named a moment
            # before the last replica left (fixed in 4.0.6, Patroni PR 3370): README
            # "Known limits". Any other failure to write fails the check.
            pytest.xfail(f"Patroni 3 kept synchronous_standby_names = {stale} with no replica: writes wait")
        assert wrote, (f"no write went through with every replica stopped: {tries}\n"
                       + hosts[leader].run(f"echo {stale}; {PATRONICTL} list;"
                                           " journalctl -u 'patroni@*' --no-pager -n 30").stdout)
    finally:
        for name in replicas:
            hosts[name].run(f"systemctl start {unit}")
        # (the next checks need both replicas streaming again)
        assert wait_until(lambda: sorted(n for n, r in _streaming(hosts[leader]).items() if r[0] == "streaming")
                          == sorted(replicas), 90, 2), _streaming(hosts[leader])


def _apply_delay(hosts, groups, delay, web=None, new_http=None):
    """Every replica applies WAL ``delay`` late (Patroni's DCS); with ``web``, once both
    replicas are back in its replica endpoint too (an earlier check may have just
    restarted them: reads would go to the primary meanwhile)."""
    h = hosts[groups["db"][0]]
    _patroni(h, "edit-config", "--force", "-p", f"recovery_min_apply_delay={delay}")
    leader = patroni_leader(hosts, groups["db"])
    for name in groups["db"]:
        if name == leader:
            continue
        for _ in range(30):
            shown = hosts[name].check_output("runuser -u postgres -- psql -tAc 'SHOW recovery_min_apply_delay'").strip()
            if shown == delay or (delay == "0" and shown == "0"):
                break
            time.sleep(1)
        assert shown == delay, f"{name}: recovery_min_apply_delay is {shown}"
    if web is not None and new_http is not None:
        replicas = [n for n in groups["db"] if n != leader]
        assert wait_until(lambda: all(haproxy_servers(web, "postgres_replicas")[n] == "UP" for n in replicas), 60, 1), \
            haproxy_servers(web, "postgres_replicas")
        # a worker's persistent connection opened while no replica was in the endpoint
        # stays on the primary until it is renewed (CONN_MAX_AGE, 60 s): README "Known
        # limits". Wait until the reads are on the replicas again.
        client = new_http()

        def on_replicas():
            before = _commits(hosts, replicas)
            for _ in range(6):
                client.request("/notes/")
            after = _commits(hosts, replicas)
            return sum(after[n] - before[n] for n in replicas) >= 6
        assert wait_until(on_replicas, 120, 2), "the reads did not come back to the replicas within 2 minutes"


@pytest.mark.heavy
def test_a_client_reads_its_own_writes_while_the_replicas_lag(hosts, groups, new_http, web):
    """Every replica applies WAL 5 s late: a client that writes a note and then reads the
    list finds it, 100 times of 100 (its reads are pinned to the primary); the same client
    without the pinning cookie misses it (the check bites)."""
    _apply_delay(hosts, groups, "5s", web, new_http)
    try:
        client = new_http()
        found = 0
        for i in range(100):
            note = f"pinned-{uuid.uuid4().hex[:8]}"
            assert client.post_form("/notes/", data={"text": note}).status == 302
            found += note in client.request("/notes/").body
        assert found == 100, f"a client's own note was missing {100 - found} times of 100"
        missed = 0
        before = _commits(hosts, groups["db"])
        for i in range(5):
            note = f"unpinned-{uuid.uuid4().hex[:8]}"
            assert client.post_form("/notes/", data={"text": note}).status == 302
            client.client.run(f"sed -i '/multidb_pin_writes/d' {client.jar}")
            missed += note not in client.request("/notes/").body
        after = _commits(hosts, groups["db"])
        assert missed == 5, (f"without the pinning cookie the note was found {5 - missed} times of 5: the check cannot fail;"
                             f" commits per member meanwhile {({n: after[n] - before[n] for n in after})},"
                             f" the replica endpoint {haproxy_servers(web, 'postgres_replicas')}, apply delay "
                             + str({n: hosts[n].check_output("runuser -u postgres -- psql -tAc 'SHOW recovery_min_apply_delay'")
                                    for n in groups["db"]}))
    finally:
        _apply_delay(hosts, groups, "0")


@pytest.mark.heavy
def test_a_new_account_stays_logged_in_while_the_replicas_lag(hosts, groups, new_http, web):
    """Every replica applies WAL 5 s late. 50 times: an account signs up (created on the
    primary), a new client logs in with it, drops the pinning cookie, and opens a page
    that needs a login: it is never sent to the login page, because sessions and users
    are always read from the primary (a replica does not know the account yet)."""
    _apply_delay(hosts, groups, "5s", web, new_http)
    try:
        logged_out = []
        for i in range(50):
            user, password = f"reader-{uuid.uuid4().hex[:10]}", f"Pw-{uuid.uuid4().hex}"
            assert new_http().post_form("/accounts/signup/", data={
                "username": user, "password1": password, "password2": password}).status == 302, user
            client = new_http()
            r = client.post_form("/accounts/login/", data={"username": user, "password": password, "next": "/private/"})
            assert r.status == 302 and r.header("location").endswith("/private/"), (user, r.status, r.header("location"))
            client.client.run(f"sed -i '/multidb_pin_writes/d' {client.jar}")
            page = client.request("/private/")
            if page.status != 200 or json.loads(page.body)["user"] != user:
                logged_out.append((user, page.status, page.header("location")))
        assert not logged_out, f"logged out {len(logged_out)} times of 50: {logged_out[:3]}"
    finally:
        _apply_delay(hosts, groups, "0")


def _manage_shell(web, code):
    """Python run by the project's own manage.py shell (its settings, its virtualenv)."""
    return web.run(f"demo-manage shell -c {shlex.quote(code)}")


CONNECT = """
import psycopg, threading
from django.conf import settings
d = settings.DATABASES["default"]
def connect(password=None):
    return psycopg.connect(host=d["HOST"], port=d["PORT"], dbname=d["NAME"], user=d["USER"],
                            password=password or d["PASSWORD"], sslmode=d["OPTIONS"]["sslmode"],
                            sslrootcert=d["OPTIONS"]["sslrootcert"], connect_timeout=15)
"""


def _peak_connections(hosts, groups, web, clients, hold):
    """``clients`` clients at once, each holding a transaction for ``hold`` seconds, through
    the web node's primary endpoint (PgBouncer on the leader): (their errors, the most
    server connections of the project the leader had meanwhile)."""
    leader = hosts[patroni_leader(hosts, groups["db"])]
    code = CONNECT + f"""
errors = []
def one():
    try:
        c = connect(); cur = c.cursor(); cur.execute("SELECT pg_sleep({hold})"); c.close()
    except Exception as e:
        errors.append(str(e))
threads = [threading.Thread(target=one) for _ in range({clients})]
[t.start() for t in threads]; [t.join() for t in threads]
print("errors", len(errors), errors[:2])
"""
    # PgBouncer's server connections (it connects from 127.0.0.1; the direct port's come
    # from the web node)
    count = ("runuser -u postgres -- psql -tAc \"SELECT count(*) FROM pg_stat_activity"
             " WHERE datname = 'demo' AND usename = 'demo' AND client_addr = '127.0.0.1'\"")
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], int(leader.check_output(count)))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        r = _manage_shell(web, code)
    finally:
        done.set()
        sampler.join(10)
    assert r.rc == 0 and "errors " in r.stdout, r.stdout + r.stderr
    return r.stdout.split("errors ", 1)[1].strip(), peak[0]


def test_pgbouncer_queues_many_clients_on_a_small_pool(hosts, groups, web):
    """40 clients at once, each holding a transaction for a second, through the primary
    endpoint to a pool of 5 (ntier_db_pool_size in molecule.yml): none fails, and the
    primary never has more than pool + reserve (5 + 5) connections of the project."""
    errors, peak = _peak_connections(hosts, groups, web, 40, 1)
    assert errors.startswith("0 "), errors
    assert 0 < peak <= 10, f"the primary had {peak} connections of the project"


def test_pgbouncer_refuses_a_wrong_password_and_logs_no_secret(hosts, groups, web):
    r = _manage_shell(web, CONNECT + """
try:
    connect("not-the-password"); print("connected")
except psycopg.OperationalError as e:
    print("refused:", e)
""")
    # (PgBouncer says "SASL authentication failed", PostgreSQL "password authentication failed")
    assert "refused:" in r.stdout and "authentication failed" in r.stdout, r.stdout + r.stderr
    password = open(os.path.join(os.environ["NTIER_SECRETS_DIR"], "demo", "db_password")).read().strip()
    for name in groups["db"] + groups["web"]:
        logs = hosts[name].run("cat /var/log/postgresql/*.log 2>/dev/null; journalctl --no-pager -q 2>/dev/null").stdout
        assert password not in logs, f"the database password is in {name}'s logs"


def test_iterating_ten_thousand_rows_through_the_pool(web):
    """QuerySet.iterator() through PgBouncer's transaction pooling (server-side cursors off)."""
    r = _manage_shell(web, """
from notes.models import Note
Note.objects.bulk_create([Note(text=f"bulk-{i}") for i in range(10000)], batch_size=2000)
print("rows", sum(1 for _ in Note.objects.iterator(chunk_size=500)))
Note.objects.filter(text__startswith="bulk-").delete()
""")
    assert r.rc == 0, r.stdout + r.stderr
    assert int(r.stdout.split("rows", 1)[1].split()[0]) >= 10000, r.stdout


def _pgbouncer_pids(hosts, groups):
    return {n: hosts[n].check_output("systemctl show -p MainPID --value pgbouncer") for n in groups["db"]}


def test_a_run_after_the_failovers_finds_the_leader_and_reloads_pgbouncer_in_place(hosts, groups, web):
    """site.yml once the checks above have moved the leader away from the first database
    host: it finds the leader where it is and moves nothing back. Given a larger pool
    (ntier_db_pool_size 6), PgBouncer reads it again in place on every member (same
    process): 6 clients at once get 6 server connections, not the 5 of before; the same
    run again reports changed=0. (max_connections as grow.sh left it.)"""
    db = groups["db"]
    leader = patroni_leader(hosts, db)
    connections = hosts[leader].check_output("runuser -u postgres -- psql -tAc 'SHOW max_connections'").strip()
    pids = _pgbouncer_pids(hosts, groups)
    args = ("-e", f"ntier_db_max_connections={connections}", "-e", "ntier_db_pool_size=6")
    rc, out = run_site(*args)
    assert rc == 0, out[-4000:]
    assert patroni_leader(hosts, db) == leader, "the run moved the leader"
    assert _pgbouncer_pids(hosts, groups) == pids, "PgBouncer was restarted, not reloaded"
    errors, peak = _peak_connections(hosts, groups, web, 6, 2)
    assert errors.startswith("0 ") and peak == 6, f"6 clients on a pool of 6: {peak} server connections, errors {errors}"
    rc, out = run_site(*args)
    recaps = re.findall(r"(\S+) : ok=\d+ changed=(\d+)", out)
    assert rc == 0 and recaps and all(c == "0" for _, c in recaps), f"the second run changed something: {recaps}"
