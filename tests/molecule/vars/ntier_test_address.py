"""Vars plugin of the Molecule scenarios: each test host's address, read from podman.

Molecule's podman driver names no address (it reaches containers with "podman exec"); the
scenarios reach their hosts over ssh, as Ansible reaches real servers, so each host needs
ansible_host. A template in the inventory (a lookup of "podman inspect") would run at every
task, about 80 ms each time, and under delegation would name the host delegated for. This
plugin gives each running container of ours its address once per ansible-playbook run, as a
plain value. Enabled by .config/molecule/config.yml (vars_plugins, vars_plugins_enabled).
"""
import json
import subprocess

from ansible.inventory.host import Host
from ansible.plugins.vars import BaseVarsPlugin

DOCUMENTATION = """
    name: ntier_test_address
    short_description: ansible_host of the Molecule scenarios' podman containers
    description:
      - Sets ansible_host of a host named like a running podman container to the container's
        address on its first network. Test bed only; not part of the collection.
"""

_addresses = {}


def _refresh():
    """Every running container's first address, from one "podman ps" and one inspect."""
    names = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                           check=False).stdout.split()
    if not names:
        return
    listing = subprocess.run(["podman", "inspect", *names], capture_output=True, text=True, check=False)
    for container in json.loads(listing.stdout or "[]"):
        networks = container.get("NetworkSettings", {}).get("Networks") or {}
        addresses = [n.get("IPAddress") for n in networks.values() if n.get("IPAddress")]
        if addresses:
            _addresses[container["Name"].lstrip("/")] = addresses[0]


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = True

    def get_vars(self, loader, path, entities, cache=True):
        found = {}
        for entity in entities if isinstance(entities, list) else [entities]:
            if not isinstance(entity, Host) or not entity.name.startswith("ntier-"):
                continue
            if entity.name not in _addresses:
                _refresh()
            if entity.name in _addresses:
                found["ansible_host"] = _addresses[entity.name]
        return found
