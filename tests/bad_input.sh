#!/bin/bash
# Bad input is refused before any host is touched, with a message naming the fix.
# Each case runs site.yml (or a role) against an inventory whose only host points at a
# closed port on loopback: if validation let it through, the run would fail as unreachable
# instead of with the expected message, and no machine could be changed.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ANSIBLE_CONFIG="$TOP/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$TOP/collections" ANSIBLE_NOCOLOR=1
export ANSIBLE_HOST_KEY_CHECKING=False
pass=0 fail=0

inventory() {  # inventory NAME GROUPS_YAML VARS_YAML
  mkdir -p "$work/$1/group_vars"
  printf '%s\n' "$2" > "$work/$1/hosts.yml"
  printf '%s\n' "$3" > "$work/$1/group_vars/all.yml"
}

expect() {  # expect NAME "message" command...
  local name=$1 msg=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$msg" <<<"$out" && ! grep -q 'UNREACHABLE' <<<"$out"; then
    pass=$((pass + 1)); echo "ok: $name"
  else
    fail=$((fail + 1)); echo "FAILED: $name (rc=$rc, expected: $msg)"; echo "$out" | tail -25
  fi
}

host='{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}}}}'
nodb='{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {cache: {hosts: {h1: }}, web: {hosts: {h1: }}}}}'
project="ntier_secrets_dir: $work/secrets
ntier_projects:
  - name: demo
    source: $TOP/demo/project
    settings_module: demosite.settings.production
    wsgi_module: demosite.wsgi
    server_names: [demo.example.test]"

inventory nodb "$nodb" "$project"
expect "no database host" "The inventory has no host in group 'db'" \
  ansible-playbook -i "$work/nodb" "$TOP/site.yml"

inventory webserver "$host" "$project
ntier_web_server: uwsgi"
expect "unsupported web server" "value of ntier_web_server must be one of: gunicorn, mod_wsgi, got: uwsgi" \
  ansible-playbook -i "$work/webserver" "$TOP/site.yml"

inventory lagbudget "$host" "$project
ntier_db_replica_lag_bytes: 0"
expect "a replica lag budget of zero" "ntier_db_replica_lag_bytes is 0: give a whole number of 1 or more." \
  ansible-playbook -i "$work/lagbudget" "$TOP/site.yml"
inventory poolsize "$host" "$project
ntier_db_pool_size: 0"
expect "a pool of no connection" "ntier_db_pool_size is 0: give a whole number of 1 or more." \
  ansible-playbook -i "$work/poolsize" "$TOP/site.yml"
backup2='{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}, b1: {ansible_host: 127.0.0.1, ansible_port: 1}, b2: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}, backup: {hosts: {b1: , b2: }}}}}'
inventory backup2 "$backup2" "$project"
expect "two backup hosts" "Group 'backup' has 2 hosts (b1, b2): it takes one host" \
  ansible-playbook -i "$work/backup2" "$TOP/site.yml"
backupdb='{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}, backup: {hosts: {h1: }}}}}'
inventory backupdb "$backupdb" "$project"
expect "the backups on the database host" "is in group 'backup' and in group 'db': a backup on the disk it protects" \
  ansible-playbook -i "$work/backupdb" "$TOP/site.yml"
inventory retention "$host" "$project
ntier_backup_retention_full: 0"
expect "a retention of zero" "ntier_backup_retention_full is 0: give a whole number of 1 or more (the backups kept)." \
  ansible-playbook -i "$work/retention" "$TOP/site.yml"
inventory walqueue "$host" "$project
ntier_backup_wal_queue_max: 1G"
expect "a WAL queue bound pgBackRest would read otherwise" "ntier_backup_wal_queue_max is '1G': give a size in MiB, GiB or TiB" \
  ansible-playbook -i "$work/walqueue" "$TOP/site.yml"
inventory schedule "$host" "$project
ntier_backup_schedule: {full: \"Sun 01:00\\nExecStartPre=/bin/sh -c id\"}"
expect "a schedule that would write a unit line" "ntier_backup_schedule.full is" \
  ansible-playbook -i "$work/schedule" "$TOP/site.yml"
backup1='{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}, b1: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}, backup: {hosts: {b1: }}}}}'
inventory backup1 "$backup1" "$project"
expect "a restore without a target" "Say what to restore: -e ntier_restore_db=latest" \
  ansible-playbook -i "$work/backup1" "$TOP/playbooks/restore.yml"
expect "a restore time without its offset" "ntier_restore_db is '2026-12-05 13:45:00': give latest, or a time with its offset" \
  ansible-playbook -i "$work/backup1" "$TOP/playbooks/restore.yml" -e "ntier_restore_db='2026-12-05 13:45:00'"
expect "a restore of a snapshot id that is a path" "ntier_restore_uploads is '../x': give latest, or a snapshot id" \
  ansible-playbook -i "$work/backup1" "$TOP/playbooks/restore.yml" -e ntier_restore_uploads=../x
inventory nobackup "$host" "$project"
expect "a restore without a backup host" "This deployment has no backup host" \
  ansible-playbook -i "$work/nobackup" "$TOP/playbooks/restore.yml" -e ntier_restore_uploads=latest
inventory pinning "$host" "$project
ntier_db_pinning_seconds: -5"
expect "a negative pinning time" "ntier_db_pinning_seconds is -5: give a whole number of 1 or more." \
  ansible-playbook -i "$work/pinning" "$TOP/site.yml"

# the declared interface (roles/cluster/meta/argument_specs.yml): a misspelled key, a
# wrong type, a missing key
inventory typo "$host" "${project}
    requirement_file: requirements/prod.txt"
expect "a misspelled project key" "ntier_projects.requirement_file. Supported parameters include:" \
  ansible-playbook -i "$work/typo" "$TOP/site.yml"

inventory keep "$host" "${project}
    keep_releases: many"
expect "a project key of the wrong type" "argument 'keep_releases' is of type str found in 'ntier_projects'" \
  ansible-playbook -i "$work/keep" "$TOP/site.yml"

inventory nowsgi "$host" "${project/    wsgi_module: demosite.wsgi
/}"
expect "a project without its WSGI module" "missing required arguments: wsgi_module found in ntier_projects" \
  ansible-playbook -i "$work/nowsgi" "$TOP/site.yml"

inventory weakkey "$host" "${project}
    secret_key: too-short-secret"
expect "weak SECRET_KEY" "secret_key is too weak (16 characters)" \
  ansible-playbook -i "$work/weakkey" "$TOP/site.yml"

inventory nosource "$host" "${project/$TOP\/demo\/project/\/nonexistent\/project}"
expect "missing project path" "source '/nonexistent/project' does not exist on the controller" \
  ansible-playbook -i "$work/nosource" "$TOP/site.yml"

inventory badapp "$host" "${project}
    extra_installed_apps: [django.contrib.postgres, 'os; import shutil']"
expect "an app that is not a dotted path" "extra_installed_apps has 'os; import shutil': give a dotted Python path" \
  ansible-playbook -i "$work/badapp" "$TOP/site.yml"

# growing: tiers that cannot share a host, a load balancer with nothing behind it, two
# load balancers without a virtual IP, two databases, and data left on a removed host
g() {  # g NAME "children" : an inventory of closed-port hosts in the given groups
  printf '{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}, h2: {ansible_host: 127.0.0.1, ansible_port: 1}, h3: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {%s}}}' "$1"
}
inventory lbnoweb "$(g 'lb: {hosts: {h2: }}, db: {hosts: {h1: }}, cache: {hosts: {h1: }}, media: {hosts: {h1: }}')" "$project"
expect "load balancer without web nodes" "Group 'lb' has 1 host(s) but group 'web' is empty" \
  ansible-playbook -i "$work/lbnoweb" "$TOP/site.yml"
inventory twolb "$(g 'lb: {hosts: {h2: , h3: }}, db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}')" "$project"
expect "two load balancers without a virtual IP" "several load balancers need a virtual IP" \
  ansible-playbook -i "$work/twolb" "$TOP/site.yml"
inventory lbweb "$(g 'lb: {hosts: {h1: }}, db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}')" "$project"
expect "load balancer and web server on one host" "are in group 'lb' and in group 'web', which cannot share a host" \
  ansible-playbook -i "$work/lbweb" "$TOP/site.yml"
inventory twodb "$(g 'db: {hosts: {h1: , h2: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}')" "$project"
expect "two database hosts (no quorum)" "Group 'db' has 2 hosts (h1, h2): a replicated database needs 3" \
  ansible-playbook -i "$work/twodb" "$TOP/site.yml"
# the last deployment's database lived on old-db, which this inventory no longer lists; the
# only host is the controller itself (read-only facts), so nothing could be changed anyway
mkdir -p "$work/orphan-secrets" && chmod 700 "$work/orphan-secrets"
printf '{"db": "old-db", "media": "h1"}\n' > "$work/orphan-secrets/ledger.json"
inventory orphan '{all: {hosts: {h1: {ansible_connection: local, ansible_python_interpreter: '"$(command -v python3)"'}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}}}}' \
  "${project/ntier_secrets_dir: $work\/secrets/ntier_secrets_dir: $work/orphan-secrets}"
expect "database left on a removed host" "lives on old-db, which is not in the inventory any more" \
  ansible-playbook -i "$work/orphan" "$TOP/site.yml"

# what reaches a system account, a path, SQL or a config file (#13): each key of a project
# on its own. pkey NAME "message" "key: value" adds the key to the demo project.
pkey() {
  inventory "$1" "$host" "${project}
    $3"
  expect "$1" "$2" ansible-playbook -i "$work/$1" "$TOP/site.yml"
}
pkey name-root "user is 'root' (the project's name), a system account or reserved name" "name: root"
pkey user-www "user is 'www-data', a system account or reserved name" "user: www-data"
pkey dbname-postgres "db_name is 'postgres', a system account or reserved name" "db_name: postgres"
pkey dbuser-sql "db_user is 'x; drop role postgres': use lower-case letters" "db_user: 'x; drop role postgres'"
pkey root-relative "root is 'srv/demo': give a normalised absolute path" "root: srv/demo"
pkey root-dotdot "root is '/srv/django/../../etc': give a normalised absolute path" "root: /srv/django/../../etc"
pkey root-system "root is '/etc/demo', a system directory" "root: /etc/demo"
pkey version-path "version is '../../x': use letters, digits and ._+-" "version: ../../x"
pkey requirements-out "requirements_file is '../secrets.txt': give a normalised path inside the source" "requirements_file: ../secrets.txt"
pkey subdir-absolute "source_subdir is '/src': give a normalised path inside the source" "source_subdir: /src"
pkey python-relative "python is 'python3': give a normalised absolute path" "python: python3"
pkey package-shell "system_packages has 'libpq5; rm -rf /': give Debian package names" "system_packages: ['libpq5; rm -rf /']"
pkey servername-config "server_names has 'demo.example.test; return 200': give host names" "server_names: ['demo.example.test; return 200']"
pkey health-config "health_path is '/health; x': give a path that starts and ends with /" "health_path: '/health; x'"
pkey setting-name "extra_settings has 'debug': Django settings are upper-case names" "extra_settings: {debug: true}"
pkey fallback-weak "secret_key_fallbacks has weak keys (positions 0)" "secret_key_fallbacks: [old-short-key]"
pkey dbpassword-weak "db_password is too weak (6 characters)" "db_password: secret"
pkey keep-one "keep_releases is 1: keep 2 or more" "keep_releases: 1"
pkey bad-name "name is 'Demo-Site': use lower-case letters" "name: Demo-Site"

# the account Ansible logs in with
inventory sshuser '{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_user: deploy}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}}}}' "${project}
    user: deploy"
expect "the ssh user as the project's user" "user is 'deploy', the account Ansible logs in with" \
  ansible-playbook -i "$work/sshuser" "$TOP/site.yml"

# two projects that would share an account, a directory or a database, or a host name
second="
  - name: shop
    source: $TOP/demo/project
    settings_module: demosite.settings.production
    wsgi_module: demosite.wsgi
    server_names: [shop.example.test]"
pkey2() {  # pkey2 NAME "message" "key: value" : the second project gets the key
  inventory "$1" "$host" "${project}${second}
    $3"
  expect "$1" "$2" ansible-playbook -i "$work/$1" "$TOP/site.yml"
}
pkey2 shared-user "user is 'demo', already that of project 'demo'" "user: demo"
pkey2 shared-db "db_name is 'demo', already that of project 'demo'" "db_name: demo"
pkey2 nested-root "root '/srv/django/demo/shop' and project 'demo''s root '/srv/django/demo' lie inside each other" "root: /srv/django/demo/shop"
pkey2 shared-name "name 'demo' is used twice" "name: demo"
inventory shared-host "$host" "${project}${second/shop.example.test/demo.example.test}"
expect "a host name of two sites" "claims 'demo.example.test', already a name of project 'demo'" \
  ansible-playbook -i "$work/shared-host" "$TOP/site.yml"

# the other variables: addresses and admins
inventory vipform "$(g 'lb: {hosts: {h2: , h3: }}, db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}')" "$project
ntier_vip: 10.0.0.300"
expect "a virtual IP that is no address" "ntier_vip is '10.0.0.300': give an IPv4 address" \
  ansible-playbook -i "$work/vipform" "$TOP/site.yml"
inventory vipowned '{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1}, h2: {ansible_host: 127.0.0.1, ansible_port: 1, ntier_private_address: 10.0.0.2}, h3: {ansible_host: 127.0.0.1, ansible_port: 1}}, children: {lb: {hosts: {h2: , h3: }}, db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}}}}' "$project
ntier_vip: 10.0.0.2"
expect "a virtual IP that is a host's own" "ntier_vip is '10.0.0.2', the address of h2" \
  ansible-playbook -i "$work/vipowned" "$TOP/site.yml"
inventory privaddr '{all: {hosts: {h1: {ansible_host: 127.0.0.1, ansible_port: 1, ntier_private_address: db.internal}}, children: {db: {hosts: {h1: }}, cache: {hosts: {h1: }}, web: {hosts: {h1: }}, media: {hosts: {h1: }}}}}' "$project"
expect "a private address that is no IP address" "ntier_private_address of h1 is 'db.internal': give the IP address" \
  ansible-playbook -i "$work/privaddr" "$TOP/site.yml"
inventory admin "$host" "$project
ntier_admins: [{name: Ops, email: 'ops at example'}]"
expect "an admin without an e-mail address" "ntier_admins[0].email is 'ops at example': give an e-mail address" \
  ansible-playbook -i "$work/admin" "$TOP/site.yml"
inventory deployment "$host" "$project
ntier_deployment: ../prod"
expect "a deployment name that is a path" "ntier_deployment is '../prod': give a short name" \
  ansible-playbook -i "$work/deployment" "$TOP/site.yml"

inventory secretsdir "$host" "${project/ntier_secrets_dir: $work\/secrets/ntier_secrets_dir: secrets/../x}"
expect "a relative secrets directory" "ntier_secrets_dir is 'secrets/../x': give an absolute, normalised path" \
  ansible-playbook -i "$work/secretsdir" "$TOP/site.yml"

inventory emptyok "$host" "$project
ntier_data_empty_ok: [uploads]"
expect "an unknown kind of data allowed empty" "value of ntier_data_empty_ok must be one or more of: db, media. Got no match for: uploads" \
  ansible-playbook -i "$work/emptyok" "$TOP/site.yml"

inventory tlshalf "$host" "${project}
    tls_certificate: /etc/ssl/certs/ssl-cert-snakeoil.pem"
expect "a certificate without its key" "tls_certificate and tls_certificate_key go together" \
  ansible-playbook -i "$work/tlshalf" "$TOP/site.yml"

cat > "$work/role.yml" <<'PLAY'
- name: A role called with a mistyped variable
  hosts: h1
  gather_facts: false
  roles:
    - role: ntier.django.gunicorn
      vars:
        gunicorn_nmae: demo
        gunicorn_wsgi_app: demosite.wsgi:application
PLAY
expect "role argument spec" "'gunicorn_name' is undefined" \
  ansible-playbook -i "$work/webserver" "$work/role.yml"

cat > "$work/role2.yml" <<'PLAY'
- name: A role called with a value of the wrong type
  hosts: h1
  gather_facts: false
  roles:
    - role: ntier.django.cache
      vars:
        cache_port: eleven
        cache_memory_mb: 64
        cache_threads: 2
PLAY
expect "role argument type" "cache_port" \
  ansible-playbook -i "$work/webserver" "$work/role2.yml"

cat > "$work/role3.yml" <<'PLAY'
- name: The django_app role alone, asked to run a project as root
  hosts: h1
  gather_facts: false
  roles:
    - role: ntier.django.django_app
      vars:
        django_app_name: demo
        django_app_user: root
        django_app_source: /nonexistent
        django_app_settings_module: demosite.settings
        django_app_server_names: [demo.example.test]
        django_app_secret_key: "{{ 'k3y-' * 20 }}"
        django_app_database: {name: demo, user: demo, host: 127.0.0.1, password: short}
PLAY
expect "the django_app role alone, user root" "django_app (demo).user is 'root', a system account or reserved name" \
  ansible-playbook -i "$work/webserver" "$work/role3.yml"
expect "the django_app role alone, a weak database password" "django_app (demo).db_password is too weak" \
  ansible-playbook -i "$work/webserver" "$work/role3.yml"

# the secrets of a refused run are not generated: nothing was half-applied
if [ -e "$work/secrets" ]; then fail=$((fail + 1)); echo "FAILED: a refused run left secrets behind"; else pass=$((pass + 1)); echo "ok: nothing generated by refused runs"; fi

echo "bad input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
