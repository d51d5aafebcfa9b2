#!/usr/bin/python
"""Documentation of the ntier.django.packages action (plugins/action/packages.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: packages
short_description: Install Debian packages, asking apt only for those the package facts lack
description:
  - Where the host's package facts were gathered (M(ansible.builtin.package_facts), which
    the first plays of the collection's playbooks run once), packages already installed are
    not asked of apt at all; the others go to M(ansible.builtin.apt) with C(state=present)
    and C(update_cache) (cache valid for an hour), and the facts learn them. Without package
    facts, every package goes to apt.
  - One call of apt costs about a second per host on a converged host; a role's install task
    runs in every converge.
options:
  name:
    description: Debian package names.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
  action:
    support: full
author: ntier.django developers
"""

EXAMPLES = r"""
- name: Install nginx
  ntier.django.packages:
    name: [nginx]
"""

RETURN = r"""
changed:
  description: Whether apt installed something.
  type: bool
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"name": {"type": "list", "elements": "str", "required": True}},
                           supports_check_mode=True)
    module.fail_json(msg="ntier.django.packages runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
