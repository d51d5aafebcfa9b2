#!/bin/bash
# Print a virtual IP for the test load balancers: the address .250 of a podman network's
# subnet (podman hands out addresses from the bottom, and the tests start few hosts).
set -euo pipefail
subnet=$(podman network inspect "$1" --format '{{range .Subnets}}{{.Subnet}} {{end}}' | awk '{print $1}')
echo "${subnet%.*}.250"
