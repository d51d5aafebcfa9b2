#!/bin/bash
# Build a Debian test-host image with systemd as PID 1: debootstrap a rootfs, then
# `podman import` it as localhost/ntier-debian:<suite>. No image registry is needed.
#
#   tools/build-image.sh bookworm            # Debian 12 (default), bare
#   tools/build-image.sh trixie              # Debian 13, bare
#   tools/build-image.sh bookworm preloaded  # localhost/ntier-debian-preloaded:bookworm
#   FORCE=1 tools/build-image.sh ...         # rebuild even if the image exists
#
# bare: what a fresh Debian server has (the scenarios that test installing use it).
# preloaded: the bare image plus the Debian packages listed in tools/image-packages.txt,
# installed and their services disabled, so that a host boots like a bare one but the
# roles' own apt tasks find the packages there (rebuilt when the list or the bare image
# changes). Both images send apt and pip through the controller's package caches while
# they answer (tools/package-cache.sh), and straight to the registries otherwise.
#
# The hosts accept ssh as root and as a sudo user "ansible" with the key
# ~/.ssh/ntier_test_ed25519 (made here if missing); Molecule talks to them through podman.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=${1:-bookworm}
FLAVOR=${2:-bare}
case $SUITE in bookworm|trixie) ;; *) echo "unsupported suite: $SUITE (bookworm|trixie)" >&2; exit 2;; esac
case $FLAVOR in bare|preloaded) ;; *) echo "unsupported flavor: $FLAVOR (bare|preloaded)" >&2; exit 2;; esac
IMAGE=localhost/ntier-debian:$SUITE
# the controller's package cache, when it runs (tools/package-cache.sh)
PROXY=$("$HERE/package-cache.sh" url apt 2>/dev/null || true)

if [ "$FLAVOR" = preloaded ]; then
  FORCE="" "$0" "$SUITE" bare
  PRELOADED=localhost/ntier-debian-preloaded:$SUITE
  # what the image is made of: the bare image and the package list
  PKGS=$(sed 's/#.*//' "$HERE/image-packages.txt" | xargs)
  MADEOF="$(podman image inspect "$IMAGE" --format '{{.Id}}') $(printf '%s' "$PKGS" | sha256sum | cut -c1-16)"
  if [ -z "${FORCE:-}" ] && podman image exists "$PRELOADED" &&
     [ "$(podman image inspect "$PRELOADED" --format '{{index .Labels "ntier.made-of"}}')" = "$MADEOF" ]; then
    echo "image $PRELOADED present"; exit 0
  fi
  old=$(podman image inspect "$PRELOADED" --format '{{.Id}}' 2>/dev/null || true)
  BUILDER=ntier-image-build-$SUITE
  podman rm -f "$BUILDER" >/dev/null 2>&1 || true
  # No service starts in the build (policy-rc.d); the units the packages enabled are
  # disabled again: the roles enable and start what a host's tiers need.
  # shellcheck disable=SC2016,SC2086  # expanded in the container; $PKGS: one word each
  podman run --name "$BUILDER" --systemd=false "$IMAGE" /bin/bash -euc '
    printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    before=$(systemctl list-unit-files --state=enabled --no-legend | awk "{print \$1}" | sort)
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
    after=$(systemctl list-unit-files --state=enabled --no-legend | awk "{print \$1}" | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after"))
    [ -z "$new" ] || systemctl disable $new 2>/dev/null
    rm -f /usr/sbin/policy-rc.d
    apt-get clean; rm -rf /var/lib/apt/lists/*; touch -d @0 /var/lib/apt/lists' build $PKGS
  podman commit -q --change 'CMD ["/sbin/init"]' --change "LABEL ntier.made-of=$MADEOF" "$BUILDER" "$PRELOADED" >/dev/null
  podman rm "$BUILDER" >/dev/null
  [ -z "$old" ] || podman image rm "$old" >/dev/null 2>&1 || true
  echo "image $PRELOADED built"; exit 0
fi
DEST=/var/lib/ntier-django/rootfs-$SUITE
KEY=/root/.ssh/ntier_test_ed25519
install -d -m700 /root/.ssh
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C ntier-test -f "$KEY"
# The image records the fingerprint of the key it accepts; an image made for another key
# (a new home directory, a key made again) is rebuilt, not reused: the hosts would refuse
# Ansible with "Permission denied (publickey)".
# It also records the checksum of this script: a changed recipe makes a new image.
KEYID=$(ssh-keygen -l -f "$KEY.pub" | awk '{print $2}')
RECIPE=$(sha256sum "$0" | cut -c1-16)
if [ -z "${FORCE:-}" ] && podman image exists "$IMAGE" &&
   [ "$(podman image inspect "$IMAGE" --format '{{index .Labels "ntier.test-key"}} {{index .Labels "ntier.recipe"}}')" = "$KEYID $RECIPE" ]; then
  echo "image $IMAGE present"; exit 0
fi
# The Debian mirror this machine's apt already uses: never hard-code a registry host.
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
[ -n "$MIRROR" ] || { echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }
INCLUDE=systemd,systemd-sysv,dbus,libpam-systemd,python3,python3-apt,openssh-server,sudo,iproute2,ca-certificates,procps,locales,curl,netbase,debian-archive-keyring
rm -rf "$DEST"; mkdir -p "$(dirname "$DEST")"
http_proxy=$PROXY debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$DEST" "$MIRROR" >/dev/null

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
# apt goes through the controller's package cache while it answers, directly otherwise
# (a host of this image outside the test bed, or the cache stopped)
install -d "$DEST/usr/local/lib/ntier-test"
cat > "$DEST/usr/local/lib/ntier-test/apt-proxy" <<'DETECT'
#!/bin/bash
# apt's Proxy-Auto-Detect ($1: the URI): packages through the package cache on the podman
# host, if it answers. Index files (dists/) go direct: apt-cacher-ng 3.7 hung clients that
# refreshed the same index in the same second (nine hosts at once in the cluster scenario).
case $1 in */dists/*) echo DIRECT; exit 0;; esac
if timeout 1 bash -c ': < /dev/tcp/host.containers.internal/3142' 2>/dev/null; then
  echo http://host.containers.internal:3142
else
  echo DIRECT
fi
DETECT
chmod 755 "$DEST/usr/local/lib/ntier-test/apt-proxy"
echo 'Acquire::http::Proxy-Auto-Detect "/usr/local/lib/ntier-test/apt-proxy";' > "$DEST/etc/apt/apt.conf.d/01ntier-test-proxy"
# pip's index: the controller's caching mirror when it answers at boot, pip's own default
# otherwise (/etc/pip.conf is written or removed before sshd lets Ansible in)
cat > "$DEST/usr/local/lib/ntier-test/pip-index" <<'DETECT'
#!/bin/bash
if timeout 1 bash -c ': < /dev/tcp/host.containers.internal/3141' 2>/dev/null; then
  printf '[global]\nindex-url = http://host.containers.internal:3141/index/\ntrusted-host = host.containers.internal\n' > /etc/pip.conf
else
  rm -f /etc/pip.conf
fi
DETECT
chmod 755 "$DEST/usr/local/lib/ntier-test/pip-index"
cat > "$DEST/etc/systemd/system/ntier-test-pip-index.service" <<'UNIT'
[Unit]
Description=Point pip at the test controller's package cache, if it answers
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/local/lib/ntier-test/pip-index
[Install]
WantedBy=multi-user.target
UNIT
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
chroot "$DEST" systemctl enable ssh-hostkeys.service ntier-test-pip-index.service ssh.service systemd-networkd.service >/dev/null 2>&1
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
  --change 'ENV container=podman' --change "LABEL ntier.test-key=$KEYID" --change "LABEL ntier.recipe=$RECIPE" - "$IMAGE" >/dev/null
rm -rf "$DEST"
# the image this one replaces, unless a container still uses it
[ -z "$old" ] || podman image rm "$old" >/dev/null 2>&1 || true
echo "image $IMAGE built"
