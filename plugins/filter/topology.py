"""Filters that turn the inventory into the topology the roles need.

``ntier.django.topology`` computes, from the inventory groups and each host's private
address, where every tier listens and how the others reach it. ``ntier.django.topology_errors``
lists what is wrong with an inventory, each message naming the variable or group and the fix.
The first play of site.yml fails on any error, before a host is touched.
"""

from __future__ import annotations

import os
import re

DOCUMENTATION = r"""
name: topology
short_description: Compute the deployment topology from the inventory groups
description:
  - Returns a mapping with the database host and address, the addresses PostgreSQL and
    memcached listen on, the clients PostgreSQL admits, and the cache locations Django uses.
  - When every tier sits on one host, services listen on loopback only.
positional: _input
options:
  _input:
    description: The inventory groups (the C(groups) variable).
    type: dict
    required: true
  addresses:
    description: Mapping of host name to the private address other hosts reach it on.
    type: dict
    required: true
  cache_port:
    description: memcached port.
    type: int
    default: 11211
"""

EXAMPLES = r"""
- name: Show the topology
  ansible.builtin.debug:
    msg: "{{ groups | ntier.django.topology(addresses=my_addresses) }}"
"""

RETURN = r"""
_value:
  description: The topology.
  type: dict
"""

TIERS = ("db", "cache", "web", "media", "lb")
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
SETTINGS_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
LOOPBACK = "127.0.0.1"


def _group(groups, name):
    return list(groups.get(name) or [])


def topology(groups, addresses, cache_port=11211, vip=""):
    web = _group(groups, "web")
    db = _group(groups, "db")
    cache = _group(groups, "cache")
    media = _group(groups, "media")
    lb = _group(groups, "lb")
    db_host = db[0] if db else None

    db_local = db_host is not None and set(web) <= {db_host}
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
    if not db_local and db_host is not None:
        firewall.setdefault(db_host, []).append({"name": "postgresql", "port": 5432, "sources": sources(web)})
    if not cache_local:
        for h in cache:
            firewall.setdefault(h, []).append({"name": "memcached", "port": cache_port, "sources": sources(web)})
    if media_dedicated:
        for h in media:
            firewall.setdefault(h, []).append({"name": "media-http", "port": 80, "sources": sources(front)})
    if lb:
        for h in web:
            firewall.setdefault(h, []).append({"name": "web-http", "port": 80, "sources": sources(lb)})

    return {
        "web_hosts": web,
        "db_host": db_host,
        "db_address": LOOPBACK if db_local else addr(db_host),
        "db_listen_addresses": ["localhost"] if db_local else ["localhost", addr(db_host)],
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
        "firewall": firewall,
        "single_host": len({*web, *db, *cache, *media, *lb}) == 1,
    }


def topology_errors(groups, web_server="gunicorn", projects=None, secret_keys=None, vip=""):
    """Return a list of messages, empty when the inventory can be deployed."""
    errors = []
    projects = projects if projects is not None else []
    secret_keys = secret_keys or {}
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
    if len(db) > 1:
        errors.append(
            f"Group 'db' has {len(db)} hosts ({', '.join(sorted(db))}): "
            "database replication is not supported yet, keep exactly one host in 'db'."
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
    if vip and not re.match(r"^\d{1,3}(\.\d{1,3}){3}$", str(vip)):
        errors.append(f"ntier_vip is '{vip}': give an IPv4 address (a free one on the load balancers' network).")
    if web_server == "mod_wsgi" and (lb or media - web):
        errors.append(
            "ntier_web_server is mod_wsgi, which is supported on web hosts that answer the public and serve the "
            "files themselves: behind group 'lb' or with a dedicated 'media' tier, use gunicorn."
        )
    if not projects:
        errors.append("ntier_projects is empty: list at least one Django project (name, source, settings_module, wsgi_module, server_names).")
    seen = set()
    claimed = {}
    for index, project in enumerate(projects):
        label = f"ntier_projects[{index}]"
        name = project.get("name", "")
        if not PROJECT_NAME.match(str(name)):
            errors.append(f"{label}.name is '{name}': use lower-case letters, digits and _ (31 at most), starting with a letter.")
        elif name in seen:
            errors.append(f"{label}.name '{name}' is used twice: every project needs its own name.")
        seen.add(name)
        label = f"ntier_projects[{index}] ({name})"
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
        for key in ("settings_module", "wsgi_module"):
            value = project.get(key, "")
            if not SETTINGS_MODULE.match(str(value)):
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
        for server_name in project.get("server_names") or []:
            if server_name in claimed and claimed[server_name] != name:
                errors.append(
                    f"{label}.server_names claims '{server_name}', already a name of project '{claimed[server_name]}': "
                    "every host name belongs to one site (all sites share ports 80 and 443)."
                )
            claimed.setdefault(server_name, name)
        key = secret_keys.get(name)
        if key is not None and (len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")):
            errors.append(
                f"{label}.secret_key is too weak ({len(key)} characters): use 50 or more random characters, "
                "or remove it to have one generated on the controller."
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


class FilterModule:
    def filters(self):
        return {"topology": topology, "topology_errors": topology_errors, "private_addresses": private_addresses}
