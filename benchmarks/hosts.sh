# Sourced by the benchmark scripts that start hosts of their own: set NET, HOSTS, STATE
# and SUITE first. Defines down (remove those hosts, their network and state), up (start
# them, write each address into $STATE/host_vars and the shared connection settings into
# $STATE/group_vars/all.yml, which the script then extends), and start, which every
# script calls first with its own arguments.
down() {
  for h in $HOSTS; do podman rm -f -t 10 "$h" >/dev/null 2>&1 || true; done
  podman network rm "$NET" >/dev/null 2>&1 || true
  rm -rf "$STATE"
  tools/cleanup-netavark.sh || true
}

up() {
  down
  podman network create "$NET" >/dev/null
  for h in $HOSTS; do
    podman run -d --name "$h" --hostname "$h" --network "$NET" --systemd=always --cap-add SYS_ADMIN \
      --cap-add NET_ADMIN --device /dev/fuse "localhost/ntier-debian:$SUITE" >/dev/null
  done
  sleep 5
  mkdir -p "$STATE/host_vars" "$STATE/group_vars"
  for h in $HOSTS; do printf 'ansible_host: %s\n' "$(tools/podman-ip.sh "$h")" > "$STATE/host_vars/$h.yml"; done
  cat > "$STATE/group_vars/all.yml" <<VARS
ansible_user: ansible
ansible_become: true
ansible_ssh_private_key_file: /root/.ssh/ntier_test_ed25519
ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
ntier_secrets_dir: $STATE/secrets
VARS
}

# start [--wrk] [ARGS...]: "down" as the first of ARGS removes the hosts and exits.
# Otherwise: the controller (and wrk with --wrk), its venv, Ansible's connection settings
# for the hosts, removal of the hosts at exit unless KEEP is set, and the hosts started.
start() {
  local wrk=; [ "${1:-}" = --wrk ] && { wrk=1; shift; }
  [ "${1:-}" = down ] && { down; exit 0; }
  [ -z "$wrk" ] || command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
  NTIER_SUITES=$SUITE tools/setup-controller.sh >/dev/null
  # shellcheck disable=SC1091
  . .venv/bin/activate
  export ANSIBLE_PIPELINING=1 ANSIBLE_FORKS=10 ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s" \
    ANSIBLE_NOCOLOR=1
  [ -n "${KEEP:-}" ] || trap down EXIT
  up
}
