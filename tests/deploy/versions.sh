#!/bin/bash
# Make the demo project's versions the deploy scenario ships, under OUT/:
#   v2      a new stylesheet (new hashed static file), a new page text and a
#           backwards-compatible migration (a new nullable column: v1 keeps working) that
#           writes a row naming the host it ran on
#   broken  v2 whose WSGI module fails at import: it builds, migrates and passes
#           "check --deploy", but no worker boots (the canary's health check fails)
#   badmig  v2 with a migration that fails (the deploy stops before any switch)
#   newpy   v2 requiring a Django that Debian 12's Python 3.11 cannot install (Django 6
#           needs 3.12): the deploy stops at the build, naming the requirement and the fix
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$1
rm -rf "$OUT"; mkdir -p "$OUT"
cp -r "$TOP/demo/project" "$OUT/v2"
printf '\n/* v2 */\nbody { border-top: 4px solid #2a6; }\n' >> "$OUT/v2/notes/static/notes/style.css"
sed -i 's|</body>|<p class="version">version 2</p></body>|' "$OUT/v2/notes/templates/notes/base.html"
cat > "$OUT/v2/notes/migrations/0002_note_source.py" <<'PY'
import socket

from django.db import migrations, models


def record(apps, schema_editor):
    # each run of this migration leaves a row: the deploy scenario counts them (once) and
    # compares their time with the first node's drain (before any switch)
    apps.get_model("notes", "Note").objects.create(text=f"migration 0002 ran on {socket.gethostname()}")


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.AddField("note", "source", models.CharField(max_length=40, null=True, blank=True)),
                  migrations.RunPython(record, migrations.RunPython.noop)]
PY
python3 - "$OUT/v2/notes/models.py" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("    text = models.CharField(max_length=200)\n",
              "    text = models.CharField(max_length=200)\n    source = models.CharField(max_length=40, null=True, blank=True)\n", 1)
open(p, "w").write(s)
PY
cp -r "$OUT/v2" "$OUT/broken"
printf '\nraise RuntimeError("this release fails to boot, on purpose")\n' >> "$OUT/broken/demosite/wsgi.py"
cp -r "$OUT/v2" "$OUT/badmig"
cat > "$OUT/badmig/notes/migrations/0003_fails.py" <<'PY'
from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("this migration fails, on purpose")


class Migration(migrations.Migration):
    dependencies = [("notes", "0002_note_source")]
    operations = [migrations.RunPython(fail, migrations.RunPython.noop)]
PY
cp -r "$OUT/v2" "$OUT/newpy"
printf 'Django>=6.0,<7.0\n' > "$OUT/newpy/requirements.txt"
grep -q "version 2" "$OUT/v2/notes/templates/notes/base.html"
grep -q "source = models" "$OUT/v2/notes/models.py"
