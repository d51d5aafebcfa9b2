"""Which release each project of a web node switches to: a deploy, a switch back after a
failed switch, a rollback.

A node's status is {project: {current, previous, pending}} (the django_app role's status
entry point): the release "current" points at ("" when none), the one before it, and
whether its processes owe a restart or reload.
"""

from __future__ import annotations


def switch_due(status, targets):
    """Whether a node must leave the rotation: a project is to run another release than it
    does, or its processes owe a restart or reload."""
    status = status or {}
    return any(s.get("pending") for s in status.values()) or any(
        s.get("current", "") != targets.get(name) for name, s in status.items())


def switch_back_targets(status, what="current"):
    """After a failed switch, {project: release} to go back to (``what="current"``), or
    {project: its "previous" link, "-" for none} (``what="previous"``); projects that ran
    nothing before are left out."""
    if what not in ("current", "previous"):
        raise ValueError(f"switch_back_targets: what must be current or previous, not {what!r}")
    out = {}
    for name, s in (status or {}).items():
        if s.get("current"):
            out[name] = s["current"] if what == "current" else (s.get("previous") or "-")
    return out


def rollback_choices(projects, statuses):
    """{project: the sorted distinct "previous" of every node's status}; "" stands for a
    node with none. One element: the nodes agree on the release to roll back to."""
    return {p["name"]: sorted({((s or {}).get(p["name"]) or {}).get("previous", "") for s in statuses})
            for p in projects}


def rollback_targets(choices, release=""):
    """{project: release}: the given ``release`` for every project, else the one release the
    nodes agree on (``rollback_choices``). Raises when they do not agree."""
    if release:
        return {name: release for name in choices}
    out = {}
    for name, options in choices.items():
        if len(options) != 1 or not options[0]:
            raise ValueError(f"rollback_targets: the nodes do not agree on the release of {name}: {options}")
        out[name] = options[0]
    return out


class FilterModule:
    def filters(self):
        return {"switch_due": switch_due, "switch_back_targets": switch_back_targets,
                "rollback_choices": rollback_choices, "rollback_targets": rollback_targets}
