"""Subject Alternative Names of a certificate from a site's server names."""

from __future__ import annotations

import ipaddress

DOCUMENTATION = r"""
name: subject_alt_names
short_description: Subject Alternative Names for a list of server names
description:
  - Each IPv4 or IPv6 address becomes C(IP:<address>), every other name C(DNS:<name>).
positional: _input
options:
  _input:
    description: Host names and addresses a site answers to.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: SANs of a site reached by name and by address
  ansible.builtin.debug:
    msg: "{{ ['demo.example.test', '192.0.2.10'] | ntier.django.subject_alt_names }}"
    # ['DNS:demo.example.test', 'IP:192.0.2.10']
"""

RETURN = r"""
_value:
  description: The names, each prefixed with its type.
  type: list
  elements: str
"""


def subject_alt_names(names):
    out = []
    for name in names:
        name = str(name)
        try:
            out.append(f"IP:{ipaddress.ip_address(name)}")
        except ValueError:
            out.append(f"DNS:{name}")
    return out


class FilterModule:
    def filters(self):
        return {"subject_alt_names": subject_alt_names}
