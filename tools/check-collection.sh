#!/bin/bash
# Build the collection, install the tarball offline into a fresh directory, and check that a
# playbook there can call every role (and the site playbook) by its fully qualified name.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "[defaults]\n" > "$work/ansible.cfg"
cd "$TOP"
ansible-galaxy collection build --force --output-path "$work" . >/dev/null
tarball=$(ls "$work"/ntier-django-*.tar.gz)
echo "built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
if tar -tzf "$tarball" | grep -E '^(molecule|tests|tools|demo|\.venv|collections)/' >/dev/null; then
  echo "test scaffolding leaked into the tarball" >&2; exit 1
fi
ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-galaxy collection install --offline --no-deps -p "$work/collections" "$tarball" >/dev/null
roles=$(ls "$work/collections/ansible_collections/ntier/django/roles")
{
  echo "---"
  echo "- name: Every role of ntier.django by its FQCN"
  echo "  hosts: all"
  echo "  gather_facts: false"
  echo "  roles:"
  for r in $roles; do echo "    - ntier.django.$r"; done
  echo "- name: The collection's site playbook"
  echo "  ansible.builtin.import_playbook: ntier.django.site"
} > "$work/play.yml"
(cd "$work" && ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$work/ansible.cfg" \
  ansible-playbook -i localhost, play.yml --syntax-check >/dev/null)
echo "installed offline into a fresh directory; roles called by FQCN: $(echo $roles | tr ' ' ',')"
