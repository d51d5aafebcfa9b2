#!/bin/bash
# Build the collection, install the tarball offline into a fresh directory, and check that a
# playbook there can call every role (and the site playbook) by its fully qualified name, and
# that ansible-doc documents every filter there.
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
# Every filter of the installed copy (the names its FilterModules give) has a documentation page
# of its own (ansible-doc: its name, a short description, from the installed files) and is listed.
plugins="$work/collections/ansible_collections/ntier/django/plugins/filter"
filters=$(python3 - "$plugins" <<'PY'
import importlib.util, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print("\n".join(module.FilterModule().filters()))
PY
)
[ -n "$filters" ] || { echo "no filter found in $plugins" >&2; exit 1; }
adoc() { (cd "$work" && ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$work/ansible.cfg" \
  ansible-doc -t filter "$@"); }
for f in $filters; do
  if ! adoc --json "ntier.django.$f" 2>"$work/err" | python3 -c '
import json, sys
doc = json.load(sys.stdin)["ntier.django." + sys.argv[1]]["doc"]
sys.exit(not (doc["name"] == sys.argv[1] and doc.get("short_description") and doc["filename"].startswith(sys.argv[2])))
' "$f" "$plugins" 2>/dev/null; then
    echo "filter ntier.django.$f: ansible-doc shows no documentation of its own (plugins/filter/$f.yml" \
      "missing or shadowed by a DOCUMENTATION in its .py) $(tr '\n' ' ' <"$work/err")" >&2; exit 1
  fi
done
unlisted=$(adoc -l --json ntier.django | python3 -c '
import json, sys
listed = {k.split(".")[-1] for k, v in json.load(sys.stdin).items() if v and v != "UNDOCUMENTED"}
print(" ".join(f for f in sys.argv[1:] if f not in listed))' $filters)
if [ -n "$unlisted" ]; then echo "ansible-doc -t filter -l ntier.django lists no description of: $unlisted" >&2; exit 1; fi
echo "filters documented and listed by ansible-doc: $(echo $filters | wc -w)"
