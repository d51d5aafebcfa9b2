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
WEB_SERVERS = ("gunicorn", "mod_wsgi")
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
SETTINGS_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
LOOPBACK = "127.0.0.1"


def _group(groups, name):
    return list(groups.get(name) or [])


def topology(groups, addresses, cache_port=11211):
    web = _group(groups, "web")
    db = _group(groups, "db")
    cache = _group(groups, "cache")
    media = _group(groups, "media")
    db_host = db[0] if db else None

    db_local = db_host is not None and set(web) <= {db_host}
    cache_local = len(cache) == 1 and set(web) <= set(cache)

    def addr(host):
        return LOOPBACK if host is None else addresses[host]

    return {
        "web_hosts": web,
        "db_host": db_host,
        "db_address": LOOPBACK if db_local else addr(db_host),
        "db_listen_addresses": ["localhost"] if db_local else ["localhost", addr(db_host)],
        "db_allowed_clients": [] if db_local else sorted({addresses[h] for h in web}),
        "cache_hosts": cache,
        "cache_locations": [f"{LOOPBACK}:{cache_port}"] if cache_local else [f"{addresses[h]}:{cache_port}" for h in cache],
        "cache_listen_addresses": {
            h: [LOOPBACK] if cache_local else [LOOPBACK, addresses[h]] for h in cache
        },
        "media_hosts": media,
        "single_host": len({*web, *db, *cache, *media}) == 1,
    }


def topology_errors(groups, web_server="gunicorn", projects=None, secret_keys=None):
    """Return a list of messages, empty when the inventory can be deployed."""
    errors = []
    projects = projects if projects is not None else []
    secret_keys = secret_keys or {}
    for tier, what in (("db", "the PostgreSQL server"), ("web", "the Django web servers"), ("cache", "the memcached servers")):
        if not _group(groups, tier):
            errors.append(
                f"The inventory has no host in group '{tier}': add {what} to it "
                "(for one server, put the same host in every group, as inventories/single does)."
            )
    if len(_group(groups, "db")) > 1:
        errors.append(
            f"Group 'db' has {len(_group(groups, 'db'))} hosts ({', '.join(_group(groups, 'db'))}): "
            "database replication is not supported yet, keep exactly one host in 'db'."
        )
    stray_media = sorted(set(_group(groups, "media")) - set(_group(groups, "web")))
    if stray_media:
        errors.append(
            f"Hosts {', '.join(stray_media)} are in group 'media' but not in 'web': a dedicated media tier "
            "is not supported yet, put the media hosts in 'web' too or leave 'media' empty."
        )
    if web_server not in WEB_SERVERS:
        errors.append(f"ntier_web_server is '{web_server}': set it to one of {', '.join(WEB_SERVERS)}.")
    if not projects:
        errors.append("ntier_projects is empty: list at least one Django project (name, source, settings_module, wsgi_module, server_names).")
    seen = set()
    claimed = {}
    for index, project in enumerate(projects):
        label = f"ntier_projects[{index}]"
        if not isinstance(project, dict):
            errors.append(f"{label} must be a mapping with name, source, settings_module, wsgi_module and server_names.")
            continue
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
        for key in ("settings_module", "wsgi_module"):
            value = project.get(key, "")
            if not SETTINGS_MODULE.match(str(value)):
                errors.append(f"{label}.{key} is '{value}': give a dotted Python module path, e.g. mysite.settings.production.")
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
