#!/bin/bash
# Build a Debian test-host image with systemd as PID 1: debootstrap a rootfs, then
# `podman import` it as localhost/ntier-debian:<suite>. No image registry is needed.
#
#   tools/build-image.sh bookworm     # Debian 12 (default)
#   tools/build-image.sh trixie       # Debian 13
#   FORCE=1 tools/build-image.sh ...  # rebuild even if the image exists
#
# The hosts accept ssh as root and as a sudo user "ansible" with the key
# ~/.ssh/ntier_test_ed25519 (made here if missing); Molecule talks to them through podman.
set -euo pipefail
SUITE=${1:-bookworm}
case $SUITE in bookworm|trixie) ;; *) echo "unsupported suite: $SUITE (bookworm|trixie)" >&2; exit 2;; esac
IMAGE=localhost/ntier-debian:$SUITE
DEST=/var/lib/ntier-django/rootfs-$SUITE
KEY=/root/.ssh/ntier_test_ed25519
install -d -m700 /root/.ssh
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C ntier-test -f "$KEY"
# The image records the fingerprint of the key it accepts; an image made for another key
# (a new home directory, a key made again) is rebuilt, not reused: the hosts would refuse
# Ansible with "Permission denied (publickey)".
KEYID=$(ssh-keygen -l -f "$KEY.pub" | awk '{print $2}')
if [ -z "${FORCE:-}" ] && podman image exists "$IMAGE" &&
   [ "$(podman image inspect "$IMAGE" --format '{{index .Labels "ntier.test-key"}}')" = "$KEYID" ]; then
  echo "image $IMAGE present"; exit 0
fi
# The Debian mirror this machine's apt already uses: never hard-code a registry host.
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
[ -n "$MIRROR" ] || { echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }
INCLUDE=systemd,systemd-sysv,dbus,libpam-systemd,python3,python3-apt,openssh-server,sudo,iproute2,ca-certificates,procps,locales,curl,netbase,debian-archive-keyring
rm -rf "$DEST"; mkdir -p "$(dirname "$DEST")"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$DEST" "$MIRROR" >/dev/null

rm -f "$DEST/etc/apt/sources.list"
cat > "$DEST/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
# the mirror may be a dated snapshot: do not reject its Release files as expired
cat > "$DEST/etc/apt/apt.conf.d/99ntier-test" <<'APT'
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
APT
rm -f "$DEST/usr/sbin/policy-rc.d"
# Trust what this machine trusts: a local CA (e.g. of a TLS-inspecting egress proxy) that
# the machine's own pip and apt rely on must be known to the test hosts too.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$DEST/usr/local/share/ca-certificates/"
  chroot "$DEST" update-ca-certificates >/dev/null 2>&1
fi

install -d -m700 "$DEST/root/.ssh"
install -m600 "$KEY.pub" "$DEST/root/.ssh/authorized_keys"
printf 'PermitRootLogin prohibit-password\nUseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n' \
  > "$DEST/etc/ssh/sshd_config.d/10-ntier-test.conf"
# host keys must differ per container: generated at first boot
rm -f "$DEST"/etc/ssh/ssh_host_*
cat > "$DEST/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
[Install]
WantedBy=multi-user.target
UNIT
chroot "$DEST" systemctl enable ssh-hostkeys.service ssh.service systemd-networkd.service >/dev/null 2>&1
# podman configures the container's network before boot: nothing to wait for (with
# NET_ADMIN, networkd runs and wait-online would hold units after network-online.target
# for two minutes, then fail)
chroot "$DEST" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
chroot "$DEST" useradd -m -s /bin/bash ansible
echo 'ansible ALL=(ALL) NOPASSWD:ALL' > "$DEST/etc/sudoers.d/ansible"; chmod 440 "$DEST/etc/sudoers.d/ansible"
uid=$(chroot "$DEST" id -u ansible)
install -d -m700 -o "$uid" -g "$uid" "$DEST/home/ansible/.ssh"
install -m600 -o "$uid" -g "$uid" "$KEY.pub" "$DEST/home/ansible/.ssh/authorized_keys"
echo 'en_US.UTF-8 UTF-8' > "$DEST/etc/locale.gen"; chroot "$DEST" locale-gen >/dev/null 2>&1 || true
echo 'LANG=C.UTF-8' > "$DEST/etc/default/locale"
: > "$DEST/etc/machine-id"; rm -f "$DEST/var/lib/dbus/machine-id"
for u in systemd-timesyncd.service getty@tty1.service systemd-firstboot.service console-getty.service; do
  chroot "$DEST" systemctl mask "$u" >/dev/null 2>&1 || true
done
chroot "$DEST" apt-get clean
rm -rf "$DEST"/var/lib/apt/lists/*
# ansible's apt(cache_valid_time) reads the mtime of lists/: make the empty lists look stale
touch -d @0 "$DEST/var/lib/apt/lists"

old=$(podman image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null || true)
tar -C "$DEST" --numeric-owner -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV container=podman' --change "LABEL ntier.test-key=$KEYID" - "$IMAGE" >/dev/null
rm -rf "$DEST"
# the image this one replaces, unless a container still uses it
[ -z "$old" ] || podman image rm "$old" >/dev/null 2>&1 || true
echo "image $IMAGE built"
