#!/bin/bash
# Print the address of a test host (podman container) on its first network.
# Used by Molecule inventories so that Ansible reaches the hosts over ssh, as it reaches
# real servers (ssh with pipelining is also ~3x faster than the podman connection).
set -euo pipefail
podman inspect "$1" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' | awk '{print $1}'
