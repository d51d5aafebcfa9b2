"""Filters that turn the inventory into the topology the roles need.

``ntier.django.topology`` computes, from the inventory groups and each host's private
address, where every tier listens and how the others reach it. ``ntier.django.topology_errors``
lists what is wrong with an inventory, each message naming the variable or group and the fix.
The first play of site.yml fails on any error, before a host is touched.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re

TIERS = ("db", "cache", "web", "media", "lb")
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
SETTINGS_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
LOOPBACK = "127.0.0.1"
# What reaches a system account, a path, a unit name, SQL or a config file
ACCOUNT = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$")
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")
RELATIVE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
HOST_NAME = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
PIP_INDEX = re.compile(r"^https?://[^\s'\"\\]+$")
DEPLOYMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
URL_PATH = re.compile(r"^/([A-Za-z0-9._~-]+/)*$")
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# a systemd OnCalendar expression's characters (systemd checks the rest when it loads the timer)
ON_CALENDAR = re.compile(r"^[A-Za-z0-9*:.,/~ -]{1,80}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# Accounts and names a project may not take: Debian's base accounts (base-passwd), the
# accounts of the services this collection installs, and names of PostgreSQL and systemd
# that mean something else. The hosts' ssh users are refused too (topology_errors).
RESERVED_NAMES = frozenset("""
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats nobody
    _apt systemd-network systemd-resolve systemd-timesync systemd-journal messagebus sshd polkitd
    postgres memcache haproxy keepalived_script nginx apache apache2 ssl-cert ntier-media ntier
    admin sudo staff users adm public template0 template1 pg_signal_backend current_user session_user
""".split())
# Directories a project's root may not be, nor lie under (the system's own)
SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin",
               "/sys", "/tmp", "/usr", "/var/lib", "/var/log", "/var/cache", "/var/tmp", "/var/run")


def _group(groups, name):
    return list(groups.get(name) or [])


def topology(groups, addresses, cache_port=11211, vip=""):
    web = _group(groups, "web")
    db = _group(groups, "db")
    cache = _group(groups, "cache")
    media = _group(groups, "media")
    lb = _group(groups, "lb")
    # the host that pulls the backups (pgBackRest's repository); None: no backups
    backup_host = (_group(groups, "backup") or [None])[0]
    db_host = db[0] if db else None
    # three database hosts or more: PostgreSQL under Patroni, etcd on the same hosts; the
    # first is where the databases live first (moved there, or already there)
    db_cluster = len(db) >= 3

    db_local = not db_cluster and db_host is not None and set(web) <= {db_host}
    cache_local = len(cache) == 1 and set(web) <= set(cache)
    # a dedicated media tier: media hosts that are not web hosts (web nodes mount its store)
    media_dedicated = bool(media) and not set(media) & set(web)
    # the hosts that answer the public: the load balancers, or else the web hosts
    front = lb or web

    def addr(host):
        return LOOPBACK if host is None else addresses[host]

    def sources(hosts):
        return sorted({addresses[h] for h in hosts})

    firewall = {}
    if db_cluster:
        clients = sorted(set(sources(web)) | set(sources(db)))
        for h in db:
            firewall.setdefault(h, []).extend([
                {"name": "postgresql", "port": 5432, "sources": clients, "unit": "patroni@.service"},
                {"name": "patroni-api", "port": 8008, "sources": clients, "unit": "patroni@.service"},
                {"name": "pgbouncer", "port": 6432, "sources": sources(web), "unit": "pgbouncer.service"},
                {"name": "etcd-client", "port": 2379, "sources": sources(db), "unit": "etcd.service"},
                {"name": "etcd-peer", "port": 2380, "sources": sources(db), "unit": "etcd.service"},
            ])
    elif not db_local and db_host is not None:
        firewall.setdefault(db_host, []).append({"name": "postgresql", "port": 5432, "sources": sources(web),
                                              "unit": "postgresql@.service"})
    if backup_host is not None:
        # pgBackRest over TLS both ways: the backup host takes backups from the database
        # hosts' pgBackRest servers, their PostgreSQL pushes WAL to the backup host's
        for h in db:
            for rule in firewall.get(h, []):
                if rule.get("unit") in ("postgresql@.service", "patroni@.service"):
                    rule["reaches"] = sources([backup_host])
            firewall.setdefault(h, []).append({"name": "pgbackrest", "port": 8432, "sources": sources([backup_host]),
                                            "unit": "pgbackrest.service"})
        firewall.setdefault(backup_host, []).append({"name": "pgbackrest", "port": 8432, "sources": sources(db),
                                                  "unit": "pgbackrest.service"})
    if not cache_local:
        for h in cache:
            firewall.setdefault(h, []).append({"name": "memcached", "port": cache_port, "sources": sources(web),
                                            "unit": "memcached.service"})
    if media_dedicated:
        for h in media:
            firewall.setdefault(h, []).append({"name": "media-http", "port": 80, "sources": sources(front)})
    if lb:
        for h in web:
            firewall.setdefault(h, []).append({"name": "web-http", "port": 80, "sources": sources(lb)})

    return {
        "web_hosts": web,
        "db_host": db_host,
        # a cluster: each web node's local HAProxy (role db_proxy), which follows the primary
        "db_address": LOOPBACK if db_local or db_cluster else addr(db_host),
        "db_port": 5000 if db_cluster else 5432,
        # reads that may lag (the local proxy's replica endpoint); 0: none, reads go to db_port
        "db_replica_port": 5001 if db_cluster else 0,
        # the primary without the pool (migrations); 0: the same as db_port
        "db_direct_port": 5002 if db_cluster else 0,
        # through the local proxy the server's name is not the address connected to: the
        # certificate is checked against the deployment's CA (which signs only servers of
        # this deployment), not against the address
        "db_sslmode": "verify-ca" if db_cluster else "verify-full",
        "db_listen_addresses": {h: ["localhost"] if db_local else ["localhost", addr(h)] for h in db},
        "db_cluster": db_cluster,
        # the members of the Patroni cluster ([] for one database host), in the group's order
        "db_members": [{"name": h, "address": addresses[h]} for h in db] if db_cluster else [],
        "db_allowed_clients": [] if db_local else sources(web),
        "cache_hosts": cache,
        "cache_locations": [f"{LOOPBACK}:{cache_port}"] if cache_local else [f"{addresses[h]}:{cache_port}" for h in cache],
        "cache_listen_addresses": {
            h: [LOOPBACK] if cache_local else [LOOPBACK, addresses[h]] for h in cache
        },
        "media_hosts": media,
        "media_dedicated": media_dedicated,
        # the media store web nodes mount: the first media host; the others are standbys,
        # copies refreshed from it, serving the files when it is down
        "media_store_host": media[0] if media_dedicated else None,
        "media_store_address": addresses[media[0]] if media_dedicated else None,
        "media_replicas": media[1:] if media_dedicated else [],
        # what the store's SFTP account admits: the web nodes, and the standbys that copy it
        "media_clients": sources(web + media[1:]) if media_dedicated else [],
        "media_addresses": sources(media) if media_dedicated else [],
        # how the web nodes' nginx reaches the media tier (without load balancers)
        "media_upstreams": ([f"{addresses[media[0]]}:80"] + [f"{addresses[h]}:80 backup" for h in media[1:]])
                           if media_dedicated else [],
        "lb_hosts": lb,
        "front_hosts": front,
        "front_addresses": sources(front),
        # web nodes behind load balancers answer plain HTTP to them only
        "web_behind_lb": bool(lb),
        "lb_addresses": sources(lb),
        "web_backends": [{"name": h, "address": addresses[h]} for h in web],
        # where the load balancers send /static/ and /media/ (none: the web nodes serve them)
        "files_backends": [{"name": h, "address": addresses[h], "backup": i > 0} for i, h in enumerate(media)]
                          if media_dedicated else [],
        "vip": vip or None,
        "backup_host": backup_host,
        "backup_address": addresses[backup_host] if backup_host is not None else None,
        # the database hosts the backup host takes backups from (pg1, pg2, ... in this order)
        "backup_db_hosts": [{"name": h, "address": addresses[h]} for h in db] if backup_host is not None else [],
        # the host whose uploads the backup host copies (the store the web nodes write, or
        # the web host that keeps them), over a read-only SFTP view
        "backup_uploads_host": media[0] if backup_host is not None and media else None,
        "backup_uploads_address": addresses[media[0]] if backup_host is not None and media else None,
        "firewall": firewall,
        "single_host": len({*web, *db, *cache, *media, *lb}) == 1,
    }


def _release(hostvars, host):
    return str((hostvars[host].get("ansible_facts") or {}).get("distribution_major_version", "?"))


def db_release_errors(hostvars, hosts, projects=None, backup_hosts=None):
    """Errors when the database hosts run different Debian releases (their facts): a
    PostgreSQL major version (15 on Debian 12, 17 on 13) streams only to itself. With
    ``projects``, also a project that asks for server-side binding (prepared statements)
    where a cluster's PgBouncer cannot keep them (1.18, Debian 12). With ``backup_hosts``,
    also a backup host whose release is not the database hosts' (pgBackRest speaks only to
    its own version: 2.45 on Debian 12, 2.55 on 13)."""
    releases = {}
    for host in hosts or []:
        releases.setdefault(_release(hostvars, host), []).append(host)
    backup_errors = []
    for host in backup_hosts or []:
        if len(releases) == 1 and _release(hostvars, host) not in releases:
            backup_errors.append(
                f"The backup host {host} runs Debian {_release(hostvars, host)} and the database hosts Debian "
                f"{next(iter(releases))}: pgBackRest works only between hosts of one version. Give the backup host "
                "the database hosts' release (upgrade them together).")
    if len(releases) < 2:
        errors = backup_errors
        if len(hosts or []) >= 3 and "12" in releases:
            for i, project in enumerate(projects or []):
                if project.get("db_server_side_binding"):
                    errors.append(
                        f"ntier_projects[{i}] ({project.get('name')}) sets db_server_side_binding, but the database "
                        "cluster's PgBouncer on Debian 12 (1.18) cannot keep prepared statements in transaction "
                        "pooling: set it to false, or run the database hosts on Debian 13 (PgBouncer 1.24).")
        return errors
    listing = "; ".join(f"Debian {r}: {', '.join(sorted(h))}" for r, h in sorted(releases.items()))
    return [f"The hosts of group 'db' run different Debian releases ({listing}): PostgreSQL replicates only "
            "between servers of one major version. Give every database host the same release (upgrade the "
            "cluster first, then the new hosts join it)."]


def _weak_key(key):
    key = str(key)
    return len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")


def _weak_password(password):
    password = str(password)
    classes = sum(any(f(c) for c in password) for f in (str.islower, str.isupper, str.isdigit))
    return len(password) < 16 or len(set(password)) < 8 or classes < 2


def _path_errors(label, key, value, absolute=True):
    """Paths are normalised, of plain characters, absolute or relative as their use needs."""
    value = str(value)
    if absolute:
        if not SAFE_PATH.match(value) or posixpath.normpath(value) != value or value == "/":
            return [f"{label}.{key} is '{value}': give a normalised absolute path of letters, digits and ._-/ "
                    "(no '..', no trailing /), e.g. /srv/django/mysite."]
        return []
    if not RELATIVE_PATH.match(value) or posixpath.normpath(value) != value or value.split("/")[0] == "..":
        return [f"{label}.{key} is '{value}': give a normalised path inside the source, of letters, digits and ._-/ "
                "(no leading /, no '..')."]
    return []


def project_errors(project, label="the project", ssh_users=("root",)):
    """The checks of one project that need no other project, no host and no controller
    file: every key that reaches a shell, a path, SQL or a config file has the form its use
    needs, and the secrets are strong. A list of messages, each naming ``label``.KEY.

    The cluster role runs it on every entry of ``ntier_projects`` (within
    ``topology_errors``), the django_app role on its own inputs: one set of rules."""
    errors = []
    name = project.get("name", "")
    if not PROJECT_NAME.match(str(name)):
        errors.append(f"{label}.name is '{name}': use lower-case letters, digits and _ (31 at most), starting with a letter.")
    label = f"{label} ({name})"
    ssh_users = set(ssh_users)
    for key in ("user", "db_name", "db_user"):
        value = project.get(key)
        if value is not None and not ACCOUNT.match(str(value)):
            errors.append(f"{label}.{key} is '{value}': use lower-case letters, digits and _ (31 at most), starting with a letter.")
    for key in ("user", "db_name", "db_user"):
        value = project.get(key) or name
        given = f"{key} is '{value}'" if project.get(key) else f"{key} is '{value}' (the project's name)"
        if value in RESERVED_NAMES or str(value).startswith(("pg_", "systemd")):
            errors.append(f"{label}.{given}, a system account or reserved name: the project would take it over; "
                          f"set {key} to a name of its own.")
        elif value in ssh_users and key == "user":
            errors.append(f"{label}.{given}, the account Ansible logs in with: the project would take it over and "
                          f"lock Ansible out; set user to a name of its own.")
    root = project.get("root")
    if root is not None:
        found = _path_errors(label, "root", root)
        errors += found
        if not found and (root in ("/srv", "/home", "/opt", "/var", "/srv/django")
                          or any(root == d or root.startswith(d + "/") for d in SYSTEM_DIRS)):
            errors.append(f"{label}.root is '{root}', a system directory: give a directory of the project's own, "
                          "e.g. /srv/django/<name>.")
    python = project.get("python")
    if python is not None:
        errors += _path_errors(label, "python", python)
    for key in ("source_subdir", "requirements_file"):
        value = project.get(key)
        if value:
            errors += _path_errors(label, key, value, absolute=False)
    index = project.get("pip_index_url")
    if index and not PIP_INDEX.match(str(index)):
        # (the value is a secret: not repeated)
        errors.append(f"{label}.pip_index_url is not an http(s) URL without spaces or quotes: give the index as pip "
                      "takes it, e.g. https://user:token@pypi.example.com/simple/.")
    version = project.get("version")
    if version and not VERSION.match(str(version)):
        errors.append(f"{label}.version is '{version}': use letters, digits and ._+- (63 at most, starting with a "
                      "letter or digit), e.g. v1.4.2; it names a directory.")
    keep = project.get("keep_releases")
    if keep is not None and (not isinstance(keep, int) or isinstance(keep, bool) or keep < 2):
        errors.append(f"{label}.keep_releases is {keep}: keep 2 or more (the current release and the one a rollback goes to).")
    for package in project.get("system_packages") or []:
        if not DEBIAN_PACKAGE.match(str(package)):
            errors.append(f"{label}.system_packages has '{package}': give Debian package names (e.g. libpq5).")
    for server_name in project.get("server_names") or []:
        if not HOST_NAME.match(str(server_name)) or len(str(server_name)) > 253:
            errors.append(f"{label}.server_names has '{server_name}': give host names (letters, digits, - and .), "
                          "e.g. www.example.com.")
    health = project.get("health_path")
    if health is not None and not URL_PATH.match(str(health)):
        errors.append(f"{label}.health_path is '{health}': give a path that starts and ends with /, of letters, "
                      "digits and ._~-, e.g. /-/health/.")
    for setting in (project.get("extra_settings") or {}):
        if not SETTING_NAME.match(str(setting)):
            errors.append(f"{label}.extra_settings has '{setting}': Django settings are upper-case names "
                          "(letters, digits, _), e.g. SESSION_COOKIE_AGE.")
    fallbacks = project.get("secret_key_fallbacks")
    if fallbacks is not None:
        weak = [i for i, key in enumerate(fallbacks) if _weak_key(key)]
        if weak:
            errors.append(f"{label}.secret_key_fallbacks has weak keys (positions {', '.join(map(str, weak))}): every "
                          "accepted key must be as strong as secret_key (50 or more random characters).")
        if project.get("secret_key") is not None and project.get("secret_key") in fallbacks:
            errors.append(f"{label}.secret_key_fallbacks holds secret_key itself: list only the old keys.")
    password = project.get("db_password")
    if password is not None and _weak_password(password):
        errors.append(f"{label}.db_password is too weak ({len(str(password))} characters): use 16 or more random "
                      "characters mixing letters and digits, or remove it to have one generated on the controller.")
    for key in ("settings_module", "wsgi_module"):
        value = project.get(key, "")
        if key in project and not SETTINGS_MODULE.match(str(value)):
            errors.append(f"{label}.{key} is '{value}': give a dotted Python module path, e.g. mysite.settings.production.")
    for key in ("extra_installed_apps", "extra_middleware"):
        for entry in project.get(key) or []:
            if not SETTINGS_MODULE.match(str(entry)):
                errors.append(f"{label}.{key} has '{entry}': give a dotted Python path, e.g. django.contrib.postgres.")
    # the declared type (bool) would take "no" as false, but the value is used as given
    if not isinstance(project.get("contrib_postgres", True), bool):
        errors.append(f"{label}.contrib_postgres is '{project['contrib_postgres']}': set it to true or false.")
    if not project.get("server_names"):
        errors.append(f"{label}.server_names is empty: list the host names the site answers to.")
    key = project.get("secret_key")
    if key is not None and _weak_key(key):
        errors.append(f"{label}.secret_key is too weak ({len(str(key))} characters): use 50 or more random characters, "
                      "or remove it to have one generated on the controller.")
    return errors


def _whole(value):
    """A number given with -e key=6 arrives as the text '6': that text as the number; any
    other value as it is (the caller refuses what is not a whole number)."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _backup_errors(backup):
    """The backups' settings (ntier_backup_*): retentions of 1 or more, a schedule of systemd
    calendar expressions for full (required), diff and incr backups."""
    errors = []
    for key in ("retention_full", "retention_diff"):
        value = _whole(backup.get(key, 1))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(f"ntier_backup_{key} is {value!r}: give a whole number of 1 or more (the backups kept).")
    queue = backup.get("wal_queue_max", "1GiB")
    if not re.match(r"^[1-9][0-9]{0,5}(MiB|GiB|TiB)$", str(queue)):
        errors.append(f"ntier_backup_wal_queue_max is {queue!r}: give a size in MiB, GiB or TiB, e.g. '1GiB' (the WAL "
                      "that may wait for the backup host).")
    schedule = backup.get("schedule")
    if not isinstance(schedule, dict) or set(schedule) - {"full", "diff", "incr"} or "full" not in schedule:
        errors.append(f"ntier_backup_schedule is {schedule!r}: give a mapping with full (required), diff and incr, each "
                      "a systemd OnCalendar expression, e.g. {full: 'Sun *-*-* 01:00:00'}.")
    else:
        for kind, when in schedule.items():
            if not ON_CALENDAR.match(str(when)):
                errors.append(f"ntier_backup_schedule.{kind} is {when!r}: give a systemd OnCalendar expression "
                              "(letters, digits, spaces and * : . , / ~ -), e.g. 'Sun *-*-* 01:00:00'.")
    return errors


def topology_errors(groups, web_server="gunicorn", projects=None, secret_keys=None, vip="", hostvars=None,
                    admins=None, deployment=None, secrets_dir=None, data_empty_ok=None, db_routing=None,
                    backup=None):
    """Return a list of messages, empty when the inventory can be deployed.

    ``hostvars`` (optional) gives each host's ``ansible_user`` (a project may not take it
    over) and ``ntier_private_address`` (an IP address, not the virtual IP).
    """
    errors = []
    projects = projects if projects is not None else []
    secret_keys = secret_keys or {}
    ssh_users, addresses = {"root"}, {}
    for host in _group(groups, "all") if hostvars is not None else []:
        hv = hostvars[host]
        ssh_users.add(str(hv.get("ansible_user") or "root"))
        if hv.get("ntier_private_address"):
            addresses[host] = str(hv.get("ntier_private_address"))
    web, db, cache, media, lb = (set(_group(groups, t)) for t in ("web", "db", "cache", "media", "lb"))
    for tier, what in (("db", "the PostgreSQL server"), ("web", "the Django web servers"), ("cache", "the memcached servers"),
                       ("media", "the host that serves static files and uploads (the web host, on one server)")):
        if not _group(groups, tier):
            if tier == "web" and lb:
                errors.append(
                    f"Group 'lb' has {len(lb)} host(s) but group 'web' is empty: a load balancer needs at least "
                    "one web node behind it, add the Django web servers to group 'web'."
                )
                continue
            errors.append(
                f"The inventory has no host in group '{tier}': add {what} to it "
                "(for one server, put the same host in every group, as inventories/single does)."
            )
    backup_hosts = _group(groups, "backup")
    if len(backup_hosts) > 1:
        errors.append(f"Group 'backup' has {len(backup_hosts)} hosts ({', '.join(sorted(backup_hosts))}): it takes one "
                      "host, which keeps the backups; list one.")
    if set(backup_hosts) & db:
        errors.append(f"Host {', '.join(sorted(set(backup_hosts) & db))} is in group 'backup' and in group 'db': a backup on "
                      "the disk it protects is lost with it; give the backups a host that is not a database host.")
    if len(db) == 2:
        errors.append(
            f"Group 'db' has 2 hosts ({', '.join(sorted(db))}): a replicated database needs 3 (Patroni's etcd keeps "
            "a majority only with 3 members when one is lost); add a third host to 'db', or keep one."
        )
    for other, why in (("web", "both answer on ports 80 and 443"), ("media", "both answer on port 80")):
        both = sorted(lb & set(_group(groups, other)))
        if both:
            errors.append(
                f"Hosts {', '.join(both)} are in group 'lb' and in group '{other}', which cannot share a host ({why}): "
                f"give the load balancers their own hosts."
            )
    if media & web and media - web:
        errors.append(
            f"Group 'media' mixes web hosts ({', '.join(sorted(media & web))}) and dedicated hosts "
            f"({', '.join(sorted(media - web))}): either the web host serves the files itself (one web host, "
            "media = that host) or the media tier has its own hosts, none of them in 'web'."
        )
    elif media and media <= web and len(web) > 1:
        errors.append(
            f"Group 'web' has {len(web)} hosts but the files are served by web hosts ({', '.join(sorted(media))}): "
            "an upload written on one node would be missing on the others. Put a dedicated host (not in 'web') "
            "in group 'media'."
        )
    if len(lb) > 1 and not vip:
        errors.append(
            f"Group 'lb' has {len(lb)} hosts but ntier_vip is not set: several load balancers need a virtual IP "
            "that moves between them (set ntier_vip to a free address of their network), or keep one host in 'lb'."
        )
    if vip and not lb:
        errors.append("ntier_vip is set but group 'lb' is empty: the virtual IP belongs to the load balancers; add them or remove ntier_vip.")
    if vip:
        try:
            address = ipaddress.IPv4Address(str(vip))
        except ValueError:
            address = None
        if address is None or address.is_loopback or address.is_multicast or address.is_unspecified or address.is_link_local:
            errors.append(f"ntier_vip is '{vip}': give an IPv4 address (a free one on the load balancers' network).")
        else:
            owners = sorted(h for h, a in addresses.items() if a == str(vip))
            if owners:
                errors.append(f"ntier_vip is '{vip}', the address of {', '.join(owners)}: the virtual IP must be a "
                              "free address that no host has, on the load balancers' network.")
    for host, address in sorted(addresses.items()):
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            errors.append(f"ntier_private_address of {host} is '{address}': give the IP address other tiers reach "
                          "this host on (e.g. 10.0.0.12), or remove it to use the default route's.")
    for index, admin in enumerate(admins or []):
        if not EMAIL.match(str(admin.get("email", ""))):
            errors.append(f"ntier_admins[{index}].email is '{admin.get('email')}': give an e-mail address.")
        if any(c in str(admin.get("name", "")) for c in "\n\r<>\"'\\"):
            errors.append(f"ntier_admins[{index}].name has line breaks, quotes or <>: give a plain name.")
    if deployment is not None and not DEPLOYMENT.match(str(deployment)):
        errors.append(f"ntier_deployment is '{deployment}': give a short name of lower-case letters, digits, "
                      "'.', '_' or '-' (it names the controller's secrets directory), e.g. 'shop-prod'.")
    if secrets_dir is not None and (not SAFE_PATH.match(str(secrets_dir)) or posixpath.normpath(str(secrets_dir)) != secrets_dir
                                    or secrets_dir == "/"):
        errors.append(f"ntier_secrets_dir is '{secrets_dir}': give an absolute, normalised path on the controller "
                      "(no '..', no trailing '/'), e.g. /home/ops/.ntier-django/secrets/shop-prod.")
    for key, value in (db_routing or {}).items():
        value = _whole(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(f"ntier_db_{key} is {value!r}: give a whole number of 1 or more.")
    if backup is not None:
        errors += _backup_errors(backup)
    for kind in data_empty_ok or []:
        if kind not in ("db", "media"):
            errors.append(f"ntier_data_empty_ok lists '{kind}': it may list db and media only.")
    if web_server == "mod_wsgi" and (lb or media - web):
        errors.append(
            "ntier_web_server is mod_wsgi, which is supported on web hosts that answer the public and serve the "
            "files themselves: behind group 'lb' or with a dedicated 'media' tier, use gunicorn."
        )
    if not projects:
        errors.append("ntier_projects is empty: list at least one Django project (name, source, settings_module, wsgi_module, server_names).")
    seen = set()
    claimed = {}
    taken = {}
    for index, project in enumerate(projects):
        label = f"ntier_projects[{index}]"
        name = project.get("name", "")
        if PROJECT_NAME.match(str(name)) and name in seen:
            errors.append(f"{label}.name '{name}' is used twice: every project needs its own name.")
        seen.add(name)
        key = secret_keys.get(name, project.get("secret_key"))
        errors += project_errors({**project, "secret_key": key} if key is not None else project, label, ssh_users)
        label = f"ntier_projects[{index}] ({name})"
        # two projects may not share what names a system account, a directory or a database
        for key, default in (("user", name), ("root", f"/srv/django/{name}"), ("db_name", name), ("db_user", name)):
            value = project.get(key) or default
            other = taken.get((key, value))
            if other is not None and other != name:
                errors.append(f"{label}.{key} is '{value}', already that of project '{other}': every project needs "
                              f"its own {key}.")
            taken.setdefault((key, value), name)
        root = project.get("root") or f"/srv/django/{name}"
        for key_value, other in list(taken.items()):
            if key_value[0] == "root" and other != name and (root.startswith(key_value[1] + "/") or key_value[1].startswith(root + "/")):
                errors.append(f"{label}.root '{root}' and project '{other}''s root '{key_value[1]}' lie inside each "
                              "other: give each project a directory of its own.")
        source = project.get("source", "")
        if not source:
            errors.append(f"{label}.source is not set: give the path of the project's code on the controller.")
        elif not os.path.exists(source):
            errors.append(f"{label}.source '{source}' does not exist on the controller: fix the path (a directory or a .tar.gz).")
        certificate = [project.get(k) or "" for k in ("tls_certificate", "tls_certificate_key")]
        if any(certificate) and not all(certificate):
            errors.append(f"{label}: tls_certificate and tls_certificate_key go together: set both, or neither for a self-signed certificate.")
        for key, path in zip(("tls_certificate", "tls_certificate_key"), certificate):
            if path and not (os.path.isabs(path) and os.path.isfile(path)):
                errors.append(
                    f"{label}.{key} '{path}' is not a file on the controller: give its absolute path "
                    "(e.g. \"{{ inventory_dir }}/files/...\")."
                )
        for server_name in project.get("server_names") or []:
            if server_name in claimed and claimed[server_name] != name:
                errors.append(
                    f"{label}.server_names claims '{server_name}', already a name of project '{claimed[server_name]}': "
                    "every host name belongs to one site (all sites share ports 80 and 443)."
                )
            claimed.setdefault(server_name, name)
    return errors


def keepalived_instance(lbs, host, addresses):
    """One load balancer's part in the VRRP instance: its own address, its peers' (unicast)
    and its priority. The first load balancer of the inventory holds the virtual IP while
    it is healthy (150, then 140, 130...)."""
    lbs = list(lbs or [])
    if host not in lbs:
        raise ValueError(f"keepalived_instance: {host} is not in group lb")
    return {"address": addresses[host], "peers": [addresses[h] for h in lbs if h != host],
            "priority": 150 - 10 * lbs.index(host)}


def public_address_errors(addresses, allowed=False):
    """Errors for hosts whose private address (what the other tiers reach them on:
    database, cache and media traffic, unencrypted memcached among it) is a public one,
    unless ``allowed`` (ntier_public_addresses_ok)."""
    if allowed:
        return []
    errors = []
    for host, address in sorted(addresses.items()):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if not (ip.is_private or ip.is_loopback or ip.is_link_local):
            errors.append(
                f"{host} would be reached by the other tiers on {address}, a public address: the database, the "
                "cache (memcached has no authentication) and the media store would talk across the internet. "
                "Give the host's address on a private network (ntier_private_address), or, if that network is "
                "public but filtered or encrypted, set ntier_public_addresses_ok: true."
            )
    return errors


def private_addresses(hostvars, hosts):
    """Map each host to the address other hosts reach it on.

    ``ntier_private_address`` when the inventory sets it, else the address of the default
    route's interface (from gathered facts), else ``ansible_host``.
    """
    out = {}
    for host in hosts:
        hv = hostvars[host]
        address = hv.get("ntier_private_address")
        if not address:
            facts = hv.get("ansible_facts") or {}
            address = (facts.get("default_ipv4") or {}).get("address") or hv.get("ansible_host") or host
        out[host] = str(address)
    return out


# connections besides the web tier's: migrations, management commands, the moves' dumps,
# an admin's psql (PostgreSQL keeps superuser_reserved_connections, 3, apart as well)
DB_SPARE_CONNECTIONS = 10


def db_connections(hostvars, web_hosts, projects, given=None):
    """What the database must admit: every web node runs one WSGI process per CPU plus one
    per project (gunicorn_workers, apache_wsgi_processes), each holding one persistent
    connection (CONN_MAX_AGE), twice over while a graceful restart overlaps old and new
    processes, plus DB_SPARE_CONNECTIONS. Returns {needed, max_connections, error}:
    max_connections is ``given`` (ntier_db_max_connections) or the larger of needed and
    PostgreSQL's 100; error names the fix when ``given`` is below what is needed."""
    processes = 0
    for host in web_hosts:
        facts = hostvars[host].get("ansible_facts") or {}
        processes += int(facts.get("processor_vcpus") or 1) + 1
    needed = 2 * processes * max(len(projects or []), 1) + DB_SPARE_CONNECTIONS
    error = ""
    if given is not None and int(given) < needed:
        error = (f"ntier_db_max_connections is {given}, but the web tier can hold {needed} connections "
                 f"({len(web_hosts)} web node(s), one process per CPU plus one, {len(projects or [])} project(s), "
                 f"twice over during a graceful restart, plus {DB_SPARE_CONNECTIONS}): raise it to {needed} or more, "
                 "or leave it out to let the run size it.")
    return {"needed": needed, "max_connections": int(given) if given is not None else max(needed, 100), "error": error}


# a restore's target time: a date, a time and an offset from UTC (PostgreSQL's text), never
# a local time whose zone the reader guesses
RESTORE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([+-]\d{2}(:?\d{2})?|Z)$")
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{8,64}$")


def restore_errors(groups, db=None, uploads=None):
    """What playbooks/restore.yml refuses before it connects anywhere: no backup host, no
    explicit target, a target that is neither "latest" nor a time with its offset (the
    database) or a restic snapshot id (the uploads)."""
    if not _group(groups, "backup"):
        return ["This deployment has no backup host (no 'backup' group in the inventory): there is nothing to "
                "restore from. Nothing has changed."]
    if db in (None, "") and uploads in (None, ""):
        return ["Say what to restore: -e ntier_restore_db=latest (or a time with its offset from UTC, such as "
                "'2026-12-05 13:45:00+00:00') for the database, and/or -e ntier_restore_uploads=latest (or a snapshot "
                "id that restic lists) for the uploads. Nothing has changed."]
    errors = []
    if db not in (None, "", "latest") and not RESTORE_TIME.match(str(db)):
        errors.append(f"ntier_restore_db is {db!r}: give latest, or a time with its offset from UTC such as "
                      "'2026-12-05 13:45:00+00:00' (a time without one would be read in the database host's zone).")
    if uploads not in (None, "", "latest") and not SNAPSHOT_ID.match(str(uploads)):
        errors.append(f"ntier_restore_uploads is {uploads!r}: give latest, or a snapshot id (8 to 64 hexadecimal "
                      "characters) from the list restic gives on the backup host.")
    return errors


class FilterModule:
    def filters(self):
        return {"keepalived_instance": keepalived_instance, "restore_errors": restore_errors, "db_connections": db_connections,
                "topology": topology, "topology_errors": topology_errors, "project_errors": project_errors, "private_addresses": private_addresses,
                "public_address_errors": public_address_errors, "db_release_errors": db_release_errors}
