"""Checks of the backups (Molecule "backup"): pgBackRest's repository on the backup host,
which takes backups from the database host's pgBackRest server and receives its WAL."""
import json
import os
import shlex
import time
import uuid

import pytest
from conftest import PATRONICTL, Reads, Writes, outages, patroni_leader, patroni_members, private_address, run_site, wait_until

pytestmark = pytest.mark.skipif(not os.environ.get("NTIER_BACKUP"), reason="only with a backup host")


@pytest.fixture(scope="module")
def store(groups, hosts):
    return hosts[groups["backup"][0]]


# Molecule "backup-cluster": the database hosts are a Patroni cluster
CLUSTER = bool(os.environ.get("NTIER_DB_CLUSTER"))


@pytest.fixture
def db(groups, hosts):
    """The database server that takes writes (a Patroni cluster's leader, at each check)."""
    return hosts[patroni_leader(hosts, groups["db"]) if CLUSTER else groups["db"][0]]


def _pgbackrest(host, *args):
    return host.run("runuser -u postgres -- pgbackrest --stanza=main " + " ".join(args))


def _verified(store):
    """pgBackRest's verify found no damage (2.45 exits non-zero on damage; 2.55 exits 0 and
    reports "status: error")."""
    run = _pgbackrest(store, "--log-level-console=info", "verify")
    return run.rc == 0 and "status: error" not in run.stdout + run.stderr, run.stdout + run.stderr


def _info(store):
    return json.loads(_pgbackrest(store, "info", "--output=json").stdout)[0]


def test_the_repository_has_a_full_backup_and_check_and_verify_pass(store):
    info = _info(store)
    assert info["status"]["code"] == 0, info["status"]
    assert [b["type"] for b in info["backup"]][:1] == ["full"], info["backup"]
    check = _pgbackrest(store, "check")
    assert check.rc == 0, check.stdout + check.stderr
    ok, out = _verified(store)
    assert ok, out


def test_the_wal_of_a_new_row_reaches_the_repository(store, db, http):
    note = f"archived-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302
    segment = db.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_walfile_name(pg_switch_wal())'").strip()
    # (asynchronous archiving: the segment arrives within seconds)
    assert wait_until(lambda: _info(store)["archive"][-1]["max"] >= segment, 60, 2), (segment, _info(store)["archive"])


def test_the_timers_take_each_kind_of_backup(store):
    for kind in ("full", "diff", "incr"):
        assert store.service(f"ntier-backup-{kind}.timer").is_enabled
        assert store.check_output(f"systemctl show -P NextElapseUSecRealtime ntier-backup-{kind}.timer").strip()
    before = len(_info(store)["backup"])
    assert store.run("systemctl start ntier-backup@diff.service").rc == 0
    backups = _info(store)["backup"]
    assert len(backups) == before + 1 and backups[-1]["type"] == "diff", backups


def test_only_the_backup_host_reaches_the_database_hosts_pgbackrest(store, db, groups, hosts):
    address = private_address(db)
    probe = f"timeout 5 bash -c '</dev/tcp/{address}/8432' && echo open || echo closed"
    assert store.check_output(probe).strip() == "open"
    web = hosts[groups["web"][0]]
    assert web.check_output(probe).strip() == "closed"
    # its server admits only certificates of the deployment's CA: one of another CA (made
    # here, the backup host's own name) is refused where the deployment's passes
    store.check_output("d=$(mktemp -d) && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                       " -subj /CN=$(hostname) -days 1 -keyout $d/key.pem -out $d/cert.pem 2>/dev/null"
                       " && chown -R postgres $d && ln -sfn $d /run/ntier-other-ca")
    # (the database host's pgN in the backup host's configuration: a cluster lists every member)
    n = store.check_output(f"sed -n 's/^pg\\([0-9]*\\)-host={address}$/\\1/p' /etc/pgbackrest/pgbackrest.conf").strip()
    assert n, f"{address} is not among the backup host's database hosts"
    try:
        other = _pgbackrest(store, f"--pg{n}-host-cert-file=/run/ntier-other-ca/cert.pem",
                            f"--pg{n}-host-key-file=/run/ntier-other-ca/key.pem", "check")
    finally:
        store.run("rm -rf $(readlink /run/ntier-other-ca) /run/ntier-other-ca")
    assert other.rc != 0, "a certificate of another CA was admitted: " + other.stdout
    print(f"\nanother CA's certificate: {(other.stdout + other.stderr).strip().splitlines()[-1:]}")


def _posted(http, note):
    try:
        return http.post_form("/notes/", data={"text": note}).status == 302
    except AssertionError:  # the form's page did not answer 200
        return False


@pytest.mark.skipif(not CLUSTER, reason="with a Patroni cluster only")
def test_archiving_and_backups_follow_the_leader_across_switchovers(store, groups, hosts, http):
    """Patroni hands the leader to its synchronous replica, twice: each new leader takes
    the site's writes and archives its WAL on its new timeline (the timeline's history file
    in the repository), an incremental backup is taken from it, and pgBackRest's check
    passes. (The restore test that follows restores across these timelines.)"""
    for _ in range(2):
        before = patroni_leader(hosts, groups["db"])
        # (after a switchover, Patroni names a synchronous replica once the old leader streams)
        sync = []
        assert wait_until(lambda: sync.extend(n for n, m in patroni_members(hosts[before]).items() if m["Role"] == "Sync Standby")
                          or sync, 90, 2), patroni_members(hosts[before])
        candidate = sync[0]
        hosts[before].check_output(f"{PATRONICTL} switchover --candidate {candidate} --force")
        assert wait_until(lambda: patroni_leader(hosts, groups["db"]) == candidate, 90, 2), patroni_members(hosts[before])
        leader = hosts[candidate]
        assert wait_until(lambda: _psql(leader, "SELECT pg_is_in_recovery()", "postgres") == "f", 60, 1)
        tli = int(_psql(leader, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", "postgres"), 16)
        note = f"after-switchover-{uuid.uuid4().hex[:8]}"
        # the web node's proxy follows the new leader within its checks (a worker whose
        # persistent connection went to the old leader answers one 500: README, known limits)
        assert wait_until(lambda: _posted(http, note), 60, 2)
        assert _psql(leader, f"SELECT count(*) FROM notes_note WHERE text = '{note}'") == "1"
        segment = _psql(leader, "SELECT pg_walfile_name(pg_switch_wal())", "postgres")
        assert segment.startswith(f"{tli:08X}")
        assert wait_until(lambda: _info(store)["archive"][-1]["max"] >= segment, 90, 2), (segment, _info(store)["archive"])
        history = store.run(f"find /var/lib/pgbackrest/archive/main -name '{tli:08X}.history'").stdout.strip()
        assert history, f"the history file of timeline {tli} is not in the repository"
        before_backups = len(_info(store)["backup"])
        run = store.run("systemctl start ntier-backup@incr.service")
        assert run.rc == 0, store.run("journalctl -u ntier-backup@incr --no-pager -n 20").stdout
        backups = _info(store)["backup"]
        assert len(backups) == before_backups + 1 and backups[-1]["type"] == "incr", backups
        # the backup was taken from the new leader's timeline
        assert backups[-1]["archive"]["start"].startswith(f"{tli:08X}"), backups[-1]["archive"]
        check = _pgbackrest(store, "check")
        assert check.rc == 0, check.stdout + check.stderr
        print(f"\n{before} -> {candidate}: timeline {tli}, {segment} archived, backup {backups[-1]['label']}")


def test_a_damaged_file_in_the_repository_fails_verify(store):
    """One backed-up file damaged in the repository (its bytes changed, its size kept):
    pgBackRest's verify fails, and so does the restore test; put back, verify passes."""
    # the first WAL segment the newest backup needs (verify checks every backup's WAL)
    needed = _info(store)["backup"][-1]["archive"]["start"]
    wal = store.check_output(f"find /var/lib/pgbackrest/archive/main -type f -name '{needed}-*'").strip()
    assert wal, f"the WAL segment {needed} is not in the repository"
    store.check_output(f"cp -p {wal} /root/ntier-verify-saved")
    try:
        store.check_output(f"printf 'damaged' | dd of={wal} bs=1 seek=100 conv=notrunc status=none")
        ok, out = _verified(store)
        assert not ok, "verify passed with a damaged WAL file: " + out
        # the restore test verifies the repository first, and fails
        run = store.run("systemctl start ntier-restore-test.service")
        assert run.rc != 0 and "verify found damage" in store.run(
            "journalctl -u ntier-restore-test --no-pager -n 20").stdout, "the restore test passed a damaged repository"
    finally:
        store.check_output(f"cp -p /root/ntier-verify-saved {wal} && rm -f /root/ntier-verify-saved")
    assert _verified(store)[0]


# every user table's rows counted and summed, as the restore test measures its copy
# (roles/backup/vars/main.yml, __backup_table_sums)
TABLE_SUMS = (
    "SELECT coalesce(json_object_agg(n, s), '{}') FROM (SELECT format('%I.%I', schemaname, relname) AS n,"
    " (xpath('/row/s/text()', query_to_xml(format('SELECT json_build_array(count(*), md5(coalesce(string_agg(t::text,"
    " '','' ORDER BY t::text), ''''))) AS s FROM %I.%I t', schemaname, relname), false, true, '')))[1]::text::json AS s"
    " FROM pg_stat_user_tables ORDER BY 1) x")


def test_the_restore_test_restores_every_row_the_primary_has(store, db, http):
    """The primary records a witness (a restore point, every table counted and summed at
    it); a note is written after it and its WAL archived. The restore test's copy of the
    latest point has every table with the primary's count and sum; restored again to the
    witness, it has the witness's, which are recorded. A witness whose sums were changed
    on the primary (the check bites) fails the restore test, and its last success stays."""
    assert http.post_form("/notes/", data={"text": f"witnessed-{uuid.uuid4().hex[:8]}"}).status == 302
    run = db.run("systemctl start ntier-backup-witness.service")
    assert run.rc == 0, run.stderr + db.run("journalctl -u ntier-backup-witness --no-pager -n 20").stdout
    witness = json.loads(db.check_output("runuser -u postgres -- psql -d postgres -XAtc "
                                         + shlex.quote("SELECT json_build_object('name', name, 'sums', sums)"
                                                       " FROM ntier_backup_witness ORDER BY at DESC LIMIT 1")))
    note = f"restored-{uuid.uuid4().hex[:8]}"
    assert http.post_form("/notes/", data={"text": note}).status == 302
    primary = json.loads(db.check_output(f"runuser -u postgres -- psql -d demo -XAtc {shlex.quote(TABLE_SUMS)}"))
    assert primary != witness["sums"]["demo"], "the note written after the witness changed nothing"
    segment = db.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_walfile_name(pg_switch_wal())'").strip()
    assert wait_until(lambda: _info(store)["archive"][-1]["max"] >= segment, 60, 2), (segment, _info(store)["archive"])
    run = store.run("systemctl start ntier-restore-test.service")
    assert run.rc == 0, run.stderr + store.run("journalctl -u ntier-restore-test --no-pager -n 30").stdout
    last = json.loads(store.check_output("cat /var/lib/ntier-restore-test/last.json"))
    restored = last["databases"]["demo"]
    assert "public.notes_note" in restored and restored == primary, {
        t: (primary.get(t), restored.get(t)) for t in set(primary) | set(restored) if primary.get(t) != restored.get(t)}
    assert last["witness"]["name"] == witness["name"] and last["witness"]["equal"] is True, last["witness"]
    assert last["witness"]["sums"] == witness["sums"], last["witness"]
    # the scratch copy is gone, and nothing of it runs
    assert not store.file("/var/lib/ntier-restore-test/data").exists
    assert store.run("pgrep -u postgres -f 'postgres -D /var/lib/ntier-restore-test'").rc != 0
    print(f"\nrestore test: {len(restored)} tables of demo equal to the primary's, and to the witness "
          f"{witness['name']} at its point, {last['started']} to {last['finished']}")
    # a witness that says other than the data at its point fails the test
    tamper = ("UPDATE ntier_backup_witness SET sums = jsonb_set(sums, '{demo,public.notes_note,0}', '0')"
              f" WHERE name = '{witness['name']}'")
    db.check_output(f"runuser -u postgres -- psql -d postgres -XAtc {shlex.quote(tamper)}")
    try:
        segment = db.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_walfile_name(pg_switch_wal())'").strip()
        assert wait_until(lambda: _info(store)["archive"][-1]["max"] >= segment, 60, 2)
        run = store.run("systemctl start ntier-restore-test.service")
        assert run.rc != 0, "the restore test passed with a witness that differs from the data"
        assert "differs from what the primary recorded" in store.run(
            "journalctl -u ntier-restore-test --no-pager -n 20").stdout
        assert json.loads(store.check_output("cat /var/lib/ntier-restore-test/last.json"))["finished"] == last["finished"]
    finally:
        db.check_output("runuser -u postgres -- psql -d postgres -XAtc "
                        + shlex.quote(f"DELETE FROM ntier_backup_witness WHERE name = '{witness['name']}'"))



VIEW = "/var/lib/ntier-backup/uploads"
RESTIC = ("RESTIC_REPOSITORY=/var/lib/ntier-backup/restic RESTIC_PASSWORD_FILE=/etc/ntier-backup/restic.password"
          " RESTIC_CACHE_DIR=/var/cache/ntier-backup/restic restic")


@pytest.fixture(scope="module")
def uploads_host(groups, hosts):
    return hosts[(groups.get("media") or groups["web"])[0]]


def _file_sums(host, directory):
    """{relative name: "sha256 owner group mode"} of every file under ``directory``."""
    out = host.check_output(f"cd {directory} && find . -type f -printf '%P\\0' | sort -z"
                            " | xargs -0 -r sh -c 'for f; do echo \"$f $(sha256sum < \"$f\" | cut -c1-64)"
                            " $(stat -c \"%u %g %a\" \"$f\")\"; done' _")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_the_backup_host_reads_the_uploads_through_a_read_only_view(store, uploads_host):
    """The uploads' host shows each project's uploads read-only (a read-only bind mount in
    a chroot of its own); the backup host mounts that view read-only over SFTP, and the
    SFTP server itself refuses writes."""
    assert "ro" in uploads_host.check_output("findmnt -no OPTIONS /srv/ntier-backup-view/demo").split(",")
    assert store.check_output(f"findmnt -no FSTYPE {VIEW}").strip() == "fuse.sshfs"
    assert store.file(f"{VIEW}/demo").is_directory
    # the account's SFTP server is read-only, whatever the client asks (-R)
    put = store.run("cd /etc/ntier-backup/ssh && echo x > /tmp/ntier-probe && echo 'put /tmp/ntier-probe /demo/ntier-probe'"
                    " | sftp -b - -i id_ed25519 -o UserKnownHostsFile=known_hosts -o BatchMode=yes"
                    f" ntier-backup@{private_address(uploads_host)}")
    assert put.rc != 0 and not uploads_host.run("find / -xdev -name ntier-probe").stdout.strip(), put.stdout + put.stderr


def test_uploads_deleted_and_overwritten_come_back_byte_identical_from_the_last_snapshot(store, uploads_host, http):
    """Two uploads, a snapshot; on the uploads' host one is deleted, one overwritten and a
    new one written; restore.yml puts back the snapshot's files byte for byte (sha256,
    owner, mode) and keeps the new one. A snapshot id the backup host lacks is refused
    first, naming the ones it has, and changes nothing."""
    from test_stack import _upload
    # the directory the view shows as /demo (its mount unit's What=)
    media = uploads_host.check_output("sed -n 's/^What=//p' /etc/systemd/system/$(systemd-escape --path --suffix=mount"
                                      " /srv/ntier-backup-view/demo)").strip()
    tag = uuid.uuid4().hex[:8]
    for n in (1, 2):
        _upload(http, f"kept-{tag}-{n}.txt", f"upload {n} of {tag}")
    run = store.run("systemctl start ntier-backup-files.service")
    assert run.rc == 0, run.stderr + store.run("journalctl -u ntier-backup-files --no-pager -n 20").stdout
    before = _file_sums(uploads_host, media)
    mine = sorted(f for f in before if tag in f)
    assert len(mine) == 2, before
    uploads_host.check_output(f"rm {media}/{mine[0]} && printf 'overwritten' > {media}/{mine[1]}"
                              f" && printf 'new' > {media}/new-{tag}.txt")
    refused, out = run_site("-e", "ntier_restore_uploads=deadbeef", playbook="playbooks/restore.yml")
    assert refused != 0 and "has no snapshot of the uploads by that id" in out, out[-2000:]
    assert not uploads_host.file(f"{media}/{mine[0]}").exists
    rc, out = run_site("-e", "ntier_restore_uploads=latest", playbook="playbooks/restore.yml")
    assert rc == 0, out[-3000:]
    after = _file_sums(uploads_host, media)
    assert {f: after.get(f) for f in before} == before
    assert uploads_host.file(f"{media}/new-{tag}.txt").content_string == "new"


def test_restic_check_reads_every_pack_and_fails_on_a_damaged_one(store):
    check = store.run(f"{RESTIC} check --read-data")
    assert check.rc == 0, check.stdout + check.stderr
    pack = store.check_output("find /var/lib/ntier-backup/restic/data -type f -size +1k | sort | head -1").strip()
    assert pack, "no pack in restic's repository"
    store.check_output(f"cp -p {pack} /root/ntier-pack-saved")
    try:
        store.check_output(f"printf 'damaged' | dd of={pack} bs=1 seek=200 conv=notrunc status=none")
        damaged = store.run(f"{RESTIC} check --read-data")
        assert damaged.rc != 0, "restic check passed with a damaged pack: " + damaged.stdout
    finally:
        store.check_output(f"cp -p /root/ntier-pack-saved {pack} && rm -f /root/ntier-pack-saved")
    assert store.run(f"{RESTIC} check --read-data").rc == 0


def _psql(db, sql, database="demo"):
    return db.check_output(f"runuser -u postgres -- psql -d {database} -XAtc {shlex.quote(sql)}").strip()


def _restore_db(target, new_http):
    """restore.yml to ``target`` under a client that reads and one that writes: (the
    read outages, the write outages), each [(start, end)] in seconds, printed."""
    writes = Writes(new_http())
    writes.prefix = "during-restore"
    with Reads(new_http()) as reads, writes:
        time.sleep(2)
        began = time.monotonic()
        rc, out = run_site("-e", f"ntier_restore_db={target}", playbook="playbooks/restore.yml")
        took = time.monotonic() - began
        time.sleep(3)
    assert rc == 0, out[-4000:]
    read_gaps = outages(reads.done, lambda s: s[1] == 200)
    write_gaps = outages(writes.done, lambda s: s[2] == 302)
    print(f"\nrestore to {target}: restore.yml took {took:.0f} s; reads failed for {[round(b - a, 1) for a, b in read_gaps]} s, "
          f"writes for {[round(b - a, 1) for a, b in write_gaps]} s; {len(reads.done)} reads, {len(writes.done)} writes")
    # reads go on: only the swap stops them, for a few seconds; writes stop, then come back
    assert len(read_gaps) <= 1 and all(b - a <= 15 for a, b in read_gaps), read_gaps
    assert write_gaps and reads.done[-1][1] == 200 and writes.done[-1][2] == 302, (write_gaps, writes.done[-3:])
    return read_gaps, write_gaps


def _table_sums(db):
    """Every table counted and summed (TABLE_SUMS), the notes without those the writing
    client of _restore_db leaves (before writes stop, after they are back)."""
    sums = json.loads(_psql(db, TABLE_SUMS))
    sums["public.notes_note"] = _psql(db, "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                                          " FROM notes_note t WHERE text NOT LIKE 'during-restore-%'")
    return sums


def test_the_database_comes_back_to_its_latest_point_and_to_a_time(store, db, http, new_http, groups, hosts):
    """R1, the time T (every table counted and summed), R2, WAL switched. restore.yml to
    latest: R1 and R2 there, every table as before it. Then to T: R1 there, R2 gone,
    every table as at T; then to latest again, the same. Reads answer throughout but for
    the swap; writes stop and come back. The old data directory is kept each time. A
    Patroni cluster: the leader stays the leader, and the other members come back as its
    replicas with the restored data."""
    # a target in the future, or before the oldest backup: refused before any change
    for target, says in (("2099-01-01 00:00:00+00:00", "that is in the future"),
                         ("2000-01-01 00:00:00+00:00", "that is before the end of the oldest backup kept")):
        rc, out = run_site("-e", f"ntier_restore_db='{target}'", playbook="playbooks/restore.yml")
        assert rc != 0 and says in out and "Nothing has changed" in out, out[-2000:]
    assert _psql(db, "SHOW default_transaction_read_only") == "off"
    kept = "ls -d /var/lib/postgresql/*/main.before-restore-* 2>/dev/null || true"
    aside = len(db.check_output(kept).split())
    tag = uuid.uuid4().hex[:8]
    assert http.post_form("/notes/", data={"text": f"r1-{tag}"}).status == 302
    time.sleep(1.5)
    at_t = _psql(db, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'")
    sums_t = _table_sums(db)
    time.sleep(1.5)
    assert http.post_form("/notes/", data={"text": f"r2-{tag}"}).status == 302
    _psql(db, "SELECT pg_switch_wal()", "postgres")
    sums_latest = _table_sums(db)
    assert sums_latest != sums_t

    def whole(want):
        """A cluster: the same leader, every other member running as its replica, with the
        restored notes (read on each)."""
        if not CLUSTER:
            return
        leader = patroni_leader(hosts, groups["db"])
        assert hosts[leader] is db, f"{leader} leads after the restore"
        replicas = [hosts[name] for name in groups["db"] if name != leader]
        assert wait_until(lambda: all(_psql(r, "SELECT pg_is_in_recovery()", "postgres") == "t" and notes(r) == want
                                      for r in replicas), 120, 3), patroni_members(db)
        # and none would be read-only once promoted (the clone copies the leader's settings)
        assert [_psql(r, "SHOW default_transaction_read_only", "postgres") for r in replicas] == ["off"] * len(replicas)

    def notes(host=None):
        return _psql(host or db, f"SELECT string_agg(text, ',' ORDER BY id) FROM notes_note WHERE text LIKE 'r_-{tag}'")

    _restore_db("latest", new_http)
    assert notes() == f"r1-{tag},r2-{tag}"
    assert _table_sums(db) == sums_latest
    whole(f"r1-{tag},r2-{tag}")
    _restore_db(f"'{at_t}'", new_http)
    assert notes() == f"r1-{tag}"
    whole(f"r1-{tag}")
    restored = _table_sums(db)
    assert restored == sums_t, {t: (sums_t.get(t), restored.get(t)) for t in set(sums_t) | set(restored)
                                if sums_t.get(t) != restored.get(t)}
    # and the latest point again: the timeline of the restore to T can be followed (it forks
    # from the one live at T)
    _restore_db("latest", new_http)
    assert notes() == f"r1-{tag}" and _table_sums(db) == sums_t
    whole(f"r1-{tag}")
    assert len(db.check_output(kept).split()) == aside + 3, "the old data directories were not kept"


def test_writes_go_on_with_the_repository_unreachable_and_pg_wal_stays_bounded(store, db, http):
    """The backup host drops the database host's packets to pgBackRest (8432) while the
    site writes and about 200 MiB of WAL are made: every write passes, the WAL waiting to be
    archived stays under the bound (ntier_backup_wal_queue_max, 64 MiB in this scenario:
    4 segments) and pgBackRest drops the rest; let through again, archiving catches up, and
    a full backup closes the gap (as README says to)."""
    data = db.check_output("runuser -u postgres -- psql -XAtc 'SHOW data_directory'").strip()
    ready = f"ls {data}/pg_wal/archive_status | grep -c '[.]ready$' || true"
    block = (f"nft add table inet ntier_test && nft add chain inet ntier_test input '{{ type filter hook input priority -20; }}'"
             f" && nft add rule inet ntier_test input ip saddr {private_address(db)} tcp dport 8432 drop")
    store.check_output(block)
    try:
        waiting = []
        tag = uuid.uuid4().hex[:8]
        _psql(db, "CREATE TABLE IF NOT EXISTS ntier_wal_filler (b text)", "postgres")
        for i in range(10):
            assert http.post_form("/notes/", data={"text": f"unreachable-{tag}-{i}"}).status == 302
            _psql(db, "INSERT INTO ntier_wal_filler SELECT repeat(md5(random()::text), 30)"
                      " FROM generate_series(1, 20000); SELECT pg_switch_wal()", "postgres")
            waiting.append(int(db.check_output(ready).strip()))
        # pgBackRest gives up on the repository within about a minute (io-timeout 15 s, 4
        # tries), then drops the WAL past the bound
        made = time.monotonic()
        settled = wait_until(lambda: waiting.append(int(db.check_output(ready).strip())) or waiting[-1] <= 6, 120, 3)
        print(f"\nWAL segments waiting while the repository was unreachable: {waiting}; back under the bound "
              f"{round(settled - made) if settled else None} s after the last one was made")
        assert settled, f"the WAL waiting for the backup host stayed past the bound for 2 minutes: {waiting}"
    finally:
        store.run("nft delete table inet ntier_test")
        _psql(db, "DROP TABLE IF EXISTS ntier_wal_filler", "postgres")
    segment = db.check_output("runuser -u postgres -- psql -tAc 'SELECT pg_walfile_name(pg_switch_wal())'").strip()
    assert wait_until(lambda: _info(store)["archive"][-1]["max"] >= segment, 180, 3), (segment, _info(store)["archive"])
    assert wait_until(lambda: int(db.check_output(ready).strip()) == 0, 120, 3)
    assert store.run("systemctl start ntier-backup@full.service").rc == 0
    check = _pgbackrest(store, "check")
    assert check.rc == 0, check.stdout + check.stderr
