#!/usr/bin/python
"""Stop and disable systemd units when they exist; a unit that is not there is fine."""

from __future__ import annotations

DOCUMENTATION = r"""
module: unit_absent
short_description: Stop and disable systemd units that exist (a service a host no longer runs)
description:
  - For each unit, reads C(systemctl show) once. A unit systemd does not know (its package
    is not installed) is left alone; one that is active is stopped, one that is enabled is
    disabled. Nothing else changes; the unit files and the data stay.
  - Replaces a stat of the unit file plus ansible.builtin.systemd_service, which fails on a
    unit that does not exist (service_facts would cost about six times as much, every run).
options:
  name:
    description: Unit names (C(.service) is implied when no suffix is given).
    type: list
    elements: str
    required: true
author: ntier.django developers
"""

EXAMPLES = r"""
- name: Stop and disable Apache (nginx serves this host)
  ntier.django.unit_absent:
    name: apache2
"""

RETURN = r"""
stopped:
  description: The units stopped (or, in check mode, that would be).
  type: list
  elements: str
  returned: always
disabled:
  description: The units disabled (or, in check mode, that would be).
  type: list
  elements: str
  returned: always
"""

import re

from ansible.module_utils.basic import AnsibleModule

UNIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@\\-]*$")
RUNNING = ("active", "activating", "reloading", "deactivating")
ENABLED = ("enabled", "enabled-runtime", "linked", "linked-runtime")


def parse_show(text):
    """{property: value} from "systemctl show --property=..."."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def plan(props):
    """(stop, disable) for one unit's properties."""
    if props.get("LoadState") in ("not-found", "") or props.get("LoadState") is None:
        return False, False
    return props.get("ActiveState") in RUNNING, props.get("UnitFileState") in ENABLED


def main():
    module = AnsibleModule(argument_spec={"name": {"type": "list", "elements": "str", "required": True}},
                           supports_check_mode=True)
    systemctl = module.get_bin_path("systemctl", required=True)
    stopped, disabled = [], []
    for unit in module.params["name"]:
        if not UNIT.match(unit):
            module.fail_json(msg=f"not a systemd unit name: {unit!r}")
        rc, out, err = module.run_command(
            [systemctl, "show", "--property=LoadState,ActiveState,UnitFileState", "--", unit])
        if rc != 0:
            module.fail_json(msg=f"systemctl show {unit}: {err.strip()}", rc=rc)
        stop, disable = plan(parse_show(out))
        for wanted, verb, done in ((stop, "stop", stopped), (disable, "disable", disabled)):
            if not wanted:
                continue
            if not module.check_mode:
                rc, out, err = module.run_command([systemctl, verb, "--", unit])
                if rc != 0:
                    module.fail_json(msg=f"systemctl {verb} {unit}: {err.strip()}", rc=rc)
            done.append(unit)
    module.exit_json(changed=bool(stopped or disabled), stopped=stopped, disabled=disabled)


if __name__ == "__main__":
    main()
