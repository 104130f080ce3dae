#!/usr/bin/env bash
# Build a tiny LXD test image from Debian's busybox-static (/bin/busybox) and
# import it into the local LXD under an alias (default: "busybox").
#
# Usage: scripts/make-busybox-image.sh [--alias NAME] [--force]
#
# Idempotent: if the alias already exists nothing is built (unless --force,
# which deletes the old image behind the alias and imports a fresh one).
#
# Containers start either with busybox init as PID 1 (plain `lxc launch busybox
# c1`; /etc/inittab starts nothing; a clean `lxc stop` works, ~3 s) or with an
# explicit PID 1:  lxc launch busybox c1 -c raw.lxc='lxc.init.cmd = /bin/sleep 1000'
# (a PID 1 without signal handlers ignores SIGPWR, so stop such containers with
# --force / timeout 0; a clean stop fails after its timeout).
set -euo pipefail

ALIAS=busybox
FORCE=0
BUSYBOX=${BUSYBOX:-/bin/busybox}

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --alias) ALIAS=${2:?--alias needs a value}; shift 2 ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "make-busybox-image: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "==> $*"; }

alias_exists() { lxc image alias list --format csv 2>/dev/null | cut -d, -f1 | grep -qxF "$1"; }

if alias_exists "$ALIAS"; then
    if [[ $FORCE -eq 0 ]]; then
        log "image alias '$ALIAS' already exists; nothing to do"
        exit 0
    fi
    log "--force: deleting existing image '$ALIAS'"
    lxc image delete "$ALIAS"
fi

if [[ ! -x $BUSYBOX ]] || ! "$BUSYBOX" --list >/dev/null 2>&1; then
    echo "make-busybox-image: $BUSYBOX missing or not busybox (apt-get install busybox-static)" >&2
    exit 1
fi
if ldd "$BUSYBOX" >/dev/null 2>&1; then  # ldd succeeds only on dynamic executables
    echo "make-busybox-image: $BUSYBOX is not statically linked (install busybox-static, not busybox)" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/lxe-busybox-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/rootfs
mkdir -p "$ROOT"

log "building busybox rootfs in $ROOT"
# Usual directories (LXC mounts proc, sys, dev itself; they only need to exist).
for d in bin sbin usr/bin usr/sbin usr/local/bin etc dev proc sys run tmp var/tmp \
         var/log var/run-unused root home mnt opt lib srv; do
    mkdir -p "$ROOT/$d"
done
rmdir "$ROOT/var/run-unused"
ln -s ../run "$ROOT/var/run"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
chmod 0700 "$ROOT/root"

install -m 0755 "$BUSYBOX" "$ROOT/bin/busybox"

# Every applet is linked into /bin, and additionally into its canonical place
# (busybox --list-full: sbin/ip, usr/bin/env, ...) so both /bin/env and
# /usr/bin/env, /bin/ip and /sbin/ip work.
while read -r path; do
    name=${path##*/}
    [[ -z $name || $name == busybox ]] && continue
    [[ -e $ROOT/bin/$name || -L $ROOT/bin/$name ]] || ln -s busybox "$ROOT/bin/$name"
    dir=${path%/*}
    if [[ $dir != "$path" && $dir != bin ]]; then
        mkdir -p "$ROOT/$dir"
        [[ -e $ROOT/$path || -L $ROOT/$path ]] || ln -s /bin/busybox "$ROOT/$path"
    fi
done < <("$ROOT/bin/busybox" --list-full)

cat > "$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$ROOT/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
EOF
cat > "$ROOT/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0640 "$ROOT/etc/shadow"
cat > "$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
echo busybox > "$ROOT/etc/hostname"
: > "$ROOT/etc/resolv.conf"
cat > "$ROOT/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
# busybox init: no gettys/askfirst shells (there are no ttys); just sit as PID 1.
cat > "$ROOT/etc/inittab" <<'EOF'
::ctrlaltdel:/bin/true
EOF
cat > "$ROOT/etc/profile" <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF

ARCH=$(uname -m)
BBVER=$("$ROOT/bin/busybox" 2>/dev/null | awk 'NR==1 {print $2}') || true
NOW=$(date +%s)
mkdir -p "$WORK/meta/templates"
cat > "$WORK/meta/metadata.yaml" <<EOF
architecture: $ARCH
creation_date: $NOW
properties:
  description: busybox test image for lxe (BusyBox ${BBVER:-unknown})
  os: busybox
  release: "$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"
  architecture: $ARCH
templates:
  /etc/hostname:
    when:
      - create
      - copy
      - rename
    template: hostname.tpl
EOF
echo '{{ container.name }}' > "$WORK/meta/templates/hostname.tpl"

log "packing meta.tar.gz and rootfs.tar.gz"
tar -C "$WORK/meta" --numeric-owner --owner=0 --group=0 -czf "$WORK/meta.tar.gz" metadata.yaml templates
tar -C "$ROOT" --numeric-owner -czf "$WORK/rootfs.tar.gz" .

log "importing image as '$ALIAS'"
lxc image import "$WORK/meta.tar.gz" "$WORK/rootfs.tar.gz" --alias "$ALIAS"
log "image '$ALIAS' imported"
