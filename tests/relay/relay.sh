#!/bin/bash
# The relay role (the data moves' transport) on the controller, two inventory hosts on a
# local connection standing for the old and the new host: a file carried, every private
# directory 0700 and removed afterwards; a move larger than the free space refused, with
# its fix, before any directory is made (tests/relay/relay.yml asserts each).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/hosts"
export ANSIBLE_CONFIG="$TOP/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$TOP/collections" ANSIBLE_NOCOLOR=1
cat > "$work/hosts.yml" <<INV
all:
  vars: {ansible_connection: local, ansible_python_interpreter: "$(command -v python3)",
         ansible_become_method: su, relay_test_dir: "$work"}
  hosts: {src: , dst: }
INV
if out=$(ansible-playbook -i "$work/hosts.yml" "$TOP/tests/relay/relay.yml" 2>&1); then
  echo "relay: a file carried, its directories private and removed; a move larger than the disk refused"
else
  echo "$out" | tail -40; echo "relay: FAILED"; exit 1
fi
