"""Where the data lives, and whether an inventory change moves it or strands it.

Every host that holds data records it in a local fact (``ntier_django.data``): the
database (``db``) and the uploaded files (``media``: project name -> directory). The
controller keeps a ledger of the last deployment's data hosts next to the secrets. Before
any change, ``ntier.django.data_plan`` compares both with the inventory: data that sits on
another host of the inventory is moved there by site.yml; data whose only copy sits on a
host the inventory no longer lists is refused, with the fix.
"""

from __future__ import annotations

WHAT = {"db": "the database", "media": "the uploaded files"}


def data_targets(topology):
    """The host each kind of data must live on for this topology."""
    media = topology.get("media_store_host") or (topology.get("media_hosts") or [None])[0]
    return {"db": topology.get("db_host"), "media": media}


def holdings(hostvars, hosts):
    """Each host's recorded data, from its ntier_django local fact ({} when it has none)."""
    out = {}
    for host in hosts:
        facts = hostvars[host].get("ansible_facts") or {}
        fact = (facts.get("ansible_local") or {}).get("ntier_django") or {}
        out[host] = dict(fact.get("data") or {})
    return out


def data_plan(holdings, topology, ledger=None, empty_ok=()):
    ledger = ledger or {}
    empty_ok = set(empty_ok or ())
    errors = []
    plan = {"errors": errors, "db_from": None, "media_from": None}
    for kind, target in data_targets(topology).items():
        if target is None:
            continue
        if (holdings.get(target) or {}).get(kind):
            continue
        holders = sorted(h for h, data in holdings.items() if h != target and (data or {}).get(kind))
        if holders and kind == "media" and not topology.get("media_dedicated"):
            errors.append(
                f"The uploaded files are on the media tier ({', '.join(holders)}) but the inventory makes {target} "
                "serve them from its own disk: moving uploads back off the media tier is not supported yet, keep "
                "the dedicated media host in group 'media'."
            )
        elif len(holders) == 1:
            plan[f"{kind}_from"] = holders[0]
        elif len(holders) > 1:
            errors.append(
                f"{WHAT[kind].capitalize()} should move to {target}, but {', '.join(holders)} all hold a copy: "
                "keep only the host that served last (its local fact /etc/ansible/facts.d/ntier_django.fact), "
                "or remove the stale copy's record."
            )
        elif ledger.get(kind) == target and kind not in empty_ok:
            errors.append(
                f"{WHAT[kind].capitalize()} of the last deployment live{'s' if kind == 'db' else ''} on {target}, "
                f"but {target} records none (rebuilt, or its local fact /etc/ansible/facts.d/ntier_django.fact "
                f"was lost): put the data back on {target} (restore it, or its fact), or, if starting empty is "
                f"intended, run with ntier_data_empty_ok: [{kind}]."
            )
        elif ledger.get(kind) and ledger[kind] != target:
            errors.append(
                f"{WHAT[kind].capitalize()} of the last deployment live{'s' if kind == 'db' else ''} on {ledger[kind]}, which is not in the "
                f"inventory any more (or no longer holds it), and {target} is empty: keep {ledger[kind]} in the "
                f"inventory (under all.hosts, in no group) until a run of site.yml has moved the data to {target}."
            )
    return plan


def deployment_errors(hostvars, hosts, deployment):
    """Errors for the hosts whose local fact names another deployment than ``deployment``
    ({id, secrets_dir, controller}: the identifier kept in this run's secrets directory):
    this run would hand them new secrets (another checkout, machine, home or -i spelling
    found another secrets directory). Hosts with no record, or one without an identifier
    (an earlier version's), are accepted."""
    errors = []
    for host in hosts:
        facts = hostvars[host].get("ansible_facts") or {}
        fact = (facts.get("ansible_local") or {}).get("ntier_django") or {}
        theirs = fact.get("deployment") or {}
        if not theirs.get("id") or theirs.get("id") == deployment.get("id"):
            continue
        errors.append(
            f"{host} was deployed with the secrets in {theirs.get('secrets_dir', '?')} on "
            f"{theirs.get('controller', '?')}, but this run uses {deployment.get('secrets_dir')} "
            f"on {deployment.get('controller')}, which holds another deployment's secrets (or was "
            "made new by this run): it would change every password and key of the running site. "
            "Run with ntier_secrets_dir set to the directory that deployed it (copy it to this "
            "machine first, mode 0700), or set ntier_deployment to the name it was deployed with."
        )
    return errors


TIERS = ("db", "cache", "media", "web", "lb")


def _media_dirs(projects, store_dir, dedicated):
    """{project name: where its uploads live}: in the media store, or on the web host."""
    if dedicated:
        return {p["name"]: f"{store_dir}/{p['name']}/media" for p in projects}
    return {p["name"]: p.get("media_root") or f"/srv/django/{p['name']}/media" for p in projects}


def host_record(topology, host, group_names, projects, store_dir, deployment=None):
    """What ``host`` records about itself after a run (its ntier_django local fact): the
    tiers it serves, the data it holds and the deployment it belongs to. ``projects`` are
    complete entries (ntier.django.project_layout)."""
    targets = data_targets(topology)
    media = _media_dirs(projects, store_dir, topology.get("media_dedicated")) if host == targets["media"] else {}
    record = {"tiers": sorted(g for g in group_names if g in TIERS),
              "data": {"db": host == targets["db"], "media": media}}
    if deployment:
        record["deployment"] = dict(deployment)
    return record


def moved_record(fact, kind, holds, projects, store_dir):
    """A host's local fact after a move of ``kind`` (db or media) to or from it: ``holds``
    says whether it holds that data now (moves go into the dedicated media store)."""
    data = dict((fact or {}).get("data") or {})
    if kind == "db":
        data["db"] = bool(holds)
    elif kind == "media":
        data["media"] = _media_dirs(projects, store_dir, True) if holds else {}
    else:
        raise ValueError(f"moved_record: kind must be db or media, not {kind!r}")
    return {**(fact or {}), "data": data}


def moves_to(plan, host, topology):
    """{db: host, media: host}: where the data that moves to ``host`` comes from ("" when
    none moves there), from a data plan (``data_plan``)."""
    targets = data_targets(topology)
    return {kind: (plan.get(f"{kind}_from") or "") if targets[kind] == host else "" for kind in ("db", "media")}


def media_move_parts(hostvars, host, projects):
    """What a media move carries from ``host`` ("" or None: nothing): each project's upload
    directory there (its local fact) and its collected static files, as
    [{key: project, value: directory, kind: media or static}]."""
    if not host:
        return []
    facts = hostvars[host].get("ansible_facts") or {}
    media = (((facts.get("ansible_local") or {}).get("ntier_django") or {}).get("data") or {}).get("media") or {}
    return ([{"key": name, "value": path, "kind": "media"} for name, path in media.items()]
            + [{"key": p["name"], "value": p["static_root"], "kind": "static"} for p in projects])


def upload_dirs(projects, topology, store_dir):
    """{project name: its upload directory} on the host that keeps the uploads (the media
    store, or the web host without a media tier of its own)."""
    return _media_dirs(projects, store_dir, topology.get("media_dedicated"))


def data_ledger(topology):
    """What the controller records after a deployment: the host of each kind of data."""
    return {k: v for k, v in data_targets(topology).items() if v is not None}


class FilterModule:
    def filters(self):
        return {"data_plan": data_plan, "data_ledger": data_ledger, "data_targets": data_targets,
                "data_holdings": holdings, "deployment_errors": deployment_errors,
                "host_record": host_record, "moved_record": moved_record, "moves_to": moves_to,
                "media_move_parts": media_move_parts, "upload_dirs": upload_dirs}
