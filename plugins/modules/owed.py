#!/usr/bin/python
"""What a project's running processes owe: the one reader and writer of its record."""

from __future__ import annotations

DOCUMENTATION = r"""
module: owed
short_description: Record, read or forget what a project's processes owe (a restart or a reload)
description:
  - A run that changes what the processes read at start (environment, mounts, a new
    release) records C(restart); one that changes what they read on reload (settings,
    secrets) records C(reload). The record survives a run that fails before the processes
    pick it up, so the next run still restarts them. C(restart) outranks C(reload).
  - The record is one root-only file (mode 0600) holding the word.
options:
  path:
    description: The record file.
    type: path
    required: true
  owe:
    description:
      - What this run adds; the record keeps the stronger of it and what was owed before.
        Empty - only read.
    type: str
    choices: ["", reload, restart]
    default: ""
  state:
    description: C(present) records (or reads); C(absent) forgets (the processes picked it up).
    type: str
    choices: [present, absent]
    default: present
author: ntier.django developers
"""

EXAMPLES = r"""
- name: Remember that the processes must reload for new settings
  ntier.django.owed:
    path: /srv/django/demo/config/.pending
    owe: reload
"""

RETURN = r"""
owed:
  description: What the processes owe now ("" for nothing; "" after state=absent).
  type: str
  returned: always
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

RANK = {"": 0, "reload": 1, "restart": 2}


def stronger(before, owe):
    """The stronger of two debts ("" < reload < restart); an unknown record counts as restart."""
    before = before if before in RANK else "restart"
    return before if RANK[before] >= RANK[owe] else owe


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def write(path, word):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".owed.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (word + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "owe": {"type": "str", "default": "", "choices": ["", "reload", "restart"]},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        supports_check_mode=True,
    )
    path, owe, state = module.params["path"], module.params["owe"], module.params["state"]
    before = read(path)
    if state == "absent":
        existed = os.path.lexists(path)
        if existed and not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=existed, owed="")
    after = stronger(before, owe)
    changed = after != before
    if changed and not module.check_mode:
        write(path, after)
    module.exit_json(changed=changed, owed=after, diff={"before": before + "\n", "after": after + "\n"})


if __name__ == "__main__":
    main()
