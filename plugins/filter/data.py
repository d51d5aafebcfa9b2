"""Where the data lives, and whether an inventory change moves it or strands it.

Every host that holds data records it in a local fact (``ntier_django.data``): the
database (``db``) and the uploaded files (``media``: project name -> directory). The
controller keeps a ledger of the last deployment's data hosts next to the secrets. Before
any change, ``ntier.django.data_plan`` compares both with the inventory: data that sits on
another host of the inventory is moved there by site.yml; data whose only copy sits on a
host the inventory no longer lists is refused, with the fix.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: data_plan
short_description: Plan the data moves an inventory change needs, or refuse it
description:
  - Returns C(errors) (messages naming the host and the fix), C(db_from) and C(media_from)
    (the host to move the database or the uploads from, or null).
positional: _input
options:
  _input:
    description: Mapping of every inventory host to its recorded data (the C(data) key of its ntier_django local fact).
    type: dict
    required: true
  topology:
    description: The topology (ntier.django.topology).
    type: dict
    required: true
  ledger:
    description: The data hosts of the last deployment, as the controller recorded them.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Plan the moves
  ansible.builtin.set_fact:
    plan: "{{ holdings | ntier.django.data_plan(topology=_ntier_topology, ledger=ledger) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
"""

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


def data_plan(holdings, topology, ledger=None):
    ledger = ledger or {}
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
        elif ledger.get(kind) and ledger[kind] != target:
            errors.append(
                f"{WHAT[kind].capitalize()} of the last deployment lives on {ledger[kind]}, which is not in the "
                f"inventory any more (or no longer holds it), and {target} is empty: keep {ledger[kind]} in the "
                f"inventory (under all.hosts, in no group) until a run of site.yml has moved the data to {target}."
            )
    return plan


def data_ledger(topology):
    """What the controller records after a deployment: the host of each kind of data."""
    return {k: v for k, v in data_targets(topology).items() if v is not None}


class FilterModule:
    def filters(self):
        return {"data_plan": data_plan, "data_ledger": data_ledger, "data_targets": data_targets,
                "data_holdings": holdings}
