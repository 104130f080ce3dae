#!/usr/bin/env bash
# Prepare a Debian 12 machine for developing and testing lxe. Run as root.
#
# Usage: scripts/setup.sh [--no-build] [--help]
#
#   1. installs the build and runtime packages (skipped when all are installed)
#   2. starts the LXD daemon if nothing answers on its unix socket
#      (systemd if it is PID 1, otherwise a detached `lxd --group root`)
#   3. ensures storage pool "default" (driver dir) and a "default" profile with
#      a root disk on it and no nic; creates no network; and lxe's copy-on-write
#      pool "lxe" (btrfs on a loop file; LXE_STORAGE_POOL, LXE_STORAGE_DRIVER=btrfs|zfs|none,
#      LXE_STORAGE_SIZE=8GiB) for `lxe --storage-pool lxe`
#   4. imports the busybox test image (alias "busybox") via make-busybox-image.sh, and builds
#      the OCI test images of the loopback registries and the LXD images of the loopback
#      simplestreams server (test-registry.sh / test-simplestreams.sh build; scripts/test.sh
#      starts and stops them)
#   5. configures and builds the project in <repo>/build (skip with --no-build)
#
# Idempotent: a second run changes nothing and needs no network access.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
BUILD=1

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "==> $*"; }
die() { echo "setup.sh: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must be run as root"

LXD_DIR_PATH=${LXD_DIR:-/var/lib/lxd}
LXD_SOCKET=$LXD_DIR_PATH/unix.socket
LXD_LOG=/var/log/lxd-lxe.log

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config git
    libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
    libsqlite3-dev libsqlitecpp-dev libcpp-httplib-dev nlohmann-json3-dev
    libspdlog-dev catch2 libboost-dev libcli11-dev libyaml-cpp-dev sqlite3
    lxd busybox-static python3
    # pod networking: LXD makes bridges only with a firewall tool and dnsmasq, and picks its
    # firewall driver when the daemon starts (so these come before LXD starts); curl for the tests
    iptables dnsmasq-base curl
    containernetworking-plugins   # CNI mode, and pinned pods on lxe's bridge (bridge, static): /usr/lib/cni
    btrfs-progs                   # lxe's copy-on-write storage pool (LXD's btrfs driver needs it)
    iproute2 util-linux           # the network tests: ip, ss, nsenter
    zlib1g-dev                    # the streaming server: SPDY/3.1 header compression
    tmux                          # crictl-e2e drives `crictl exec -it` in a terminal
    libssl-dev openssl            # the streaming server's TLS; its tests make a certificate
    skopeo umoci                  # image pulls: registry to OCI layout, layout to rootfs
    docker-registry               # the tests' loopback registries (scripts/test-registry.sh)
    xz-utils                      # the simplestreams test server's split images
    clang libclang-rt-14-dev    # the request fuzzer (scripts/fuzz.sh): libFuzzer, ASan, UBSan
    prometheus-cpp-dev            # lxe's own /metrics (--metrics-port)
    libseccomp-dev libcap-dev     # seccomp profiles and capabilities (lxe-init links both statically)
    prometheus                    # promtool: the tests lint /metrics with it (only promtool is used)
)

# ---------------------------------------------------------------- 1. packages
# Wait while another apt/dpkg is running (e.g. a background install), rather
# than failing on the dpkg lock. apt's own DPkg::Lock::Timeout covers the rest.
wait_for_package_managers() {
    local waited=0 busy c f
    while :; do
        busy=
        for f in /proc/[0-9]*/comm; do
            c=$(cat "$f" 2>/dev/null) || continue
            case "$c" in
                apt|apt-get|aptitude|dpkg|unattended-upgr) busy=$c; break ;;
            esac
        done
        [[ -z $busy ]] && return 0
        if (( waited == 0 )); then log "waiting for running '$busy' to finish (dpkg lock)"; fi
        (( waited >= 3600 )) && die "gave up waiting for '$busy' after ${waited}s"
        sleep 5; waited=$((waited + 5))
    done
}

missing_packages() {
    local p st
    for p in "${PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || st=
        [[ $st == ii* ]] || echo "$p"
    done
}

log "checking packages"
mapfile -t MISSING < <(missing_packages)
if [[ ${#MISSING[@]} -gt 0 ]]; then
    wait_for_package_managers
    # re-check: a background install may have just provided everything
    mapfile -t MISSING < <(missing_packages)
fi
if [[ ${#MISSING[@]} -eq 0 ]]; then
    log "all ${#PACKAGES[@]} packages already installed"
else
    log "installing missing packages: ${MISSING[*]}"
    export DEBIAN_FRONTEND=noninteractive
    APT_OPTS=(-o DPkg::Lock::Timeout=1800 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    log "apt-get update"
    apt-get "${APT_OPTS[@]}" update
    # lxd's other Recommends (apparmor, lxd-agent) are not needed here: no AppArmor, no VMs.
    log "apt-get install"
    apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${PACKAGES[@]}"
    mapfile -t MISSING < <(missing_packages)
    [[ ${#MISSING[@]} -eq 0 ]] || die "packages still not installed: ${MISSING[*]}"
fi

# ---------------------------------------------------------------- 2. LXD daemon
lxd_answers() {
    if command -v curl >/dev/null 2>&1; then
        curl -sf --max-time 5 --unix-socket "$LXD_SOCKET" http://lxd/1.0 >/dev/null 2>&1
    else
        [[ -S $LXD_SOCKET ]] && timeout 10 lxc query /1.0 >/dev/null 2>&1
    fi
}

# Is an LXD daemon process (started by hand) already running, maybe still
# initialising? Its argv[0] ends in "lxd" and it has no subcommand.
lxd_daemon_running() {
    local f argv0 argv1
    for f in /proc/[0-9]*/cmdline; do
        argv0='' argv1=''
        { IFS= read -r -d '' argv0 && IFS= read -r -d '' argv1 || true; } 2>/dev/null < "$f" || continue
        [[ ${argv0##*/} == lxd ]] || continue
        [[ -z $argv1 || $argv1 == -* ]] && return 0
    done
    return 1
}

if lxd_answers; then
    log "LXD is running (socket $LXD_SOCKET answers)"
else
    if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]] \
        && systemctl cat lxd.service >/dev/null 2>&1; then
        log "starting LXD via systemd"
        systemctl start lxd
    elif lxd_daemon_running; then
        log "an LXD daemon process is already running; waiting for it"
    else
        log "starting LXD by hand: lxd --group root --logfile $LXD_LOG (detached)"
        # The daemon outlives this script: it must not keep any descriptor it would inherit open
        # (a caller's lock file or a test runner's pipe would stay held for LXD's whole life).
        (
            for fd in /proc/self/fd/*; do
                fd=${fd##*/}
                if [[ $fd -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
            done
            exec setsid nohup lxd --group root --logfile "$LXD_LOG" </dev/null >>"$LXD_LOG.stderr" 2>&1
        ) &
        disown || true
    fi
    log "lxd waitready --timeout 60"
    if ! lxd waitready --timeout 60; then
        tail -n 20 "$LXD_LOG" "$LXD_LOG.stderr" >&2 2>/dev/null || true
        die "LXD did not become ready"
    fi
    lxd_answers || die "LXD is ready but $LXD_SOCKET does not answer (LXD_DIR mismatch?)"
    log "LXD is up"
fi

# ---------------------------------------------------------------- 3. LXD init
# Not `lxd init --auto`: it fails looking for a free subnet for lxdbr0.
pool_driver() { lxc storage list --format csv 2>/dev/null | awk -F, -v p="$1" '$1 == p {print $2}'; }

driver=$(pool_driver default)
if [[ -z $driver ]]; then
    log "creating storage pool 'default' (dir)"
    lxc storage create default dir
elif [[ $driver != dir ]]; then
    log "storage pool 'default' exists with driver '$driver' (not dir); leaving it as is"
else
    log "storage pool 'default' (dir) exists"
fi

dev_get() { lxc profile device get default "$1" "$2" 2>/dev/null || true; }

root_type=$(dev_get root type)
if [[ -z $root_type ]]; then
    log "adding root disk (pool default, path /) to profile 'default'"
    lxc profile device add default root disk path=/ pool=default
else
    [[ $root_type == disk ]] || die "profile 'default' has a device 'root' of type '$root_type'"
    if [[ $(dev_get root pool) != default ]]; then
        log "setting profile 'default' root disk pool to 'default'"
        lxc profile device set default root pool=default
    fi
    if [[ $(dev_get root path) != / ]]; then
        log "setting profile 'default' root disk path to /"
        lxc profile device set default root path=/
    fi
    log "profile 'default' has root disk on pool 'default'"
fi

mapfile -t DEVICES < <(lxc profile device list default 2>/dev/null)
for d in "${DEVICES[@]}"; do
    [[ -n $d ]] || continue
    if [[ $(dev_get "$d" type) == nic ]]; then
        log "removing nic device '$d' from profile 'default'"
        lxc profile device remove default "$d"
    fi
done

# ---------------------------------------------------------------- 3b. lxe's storage pool
# A copy-on-write pool makes an instance's create a snapshot of the image instead of a copy: on
# this LXD 0.18 s against 0.41 s for the busybox image on dir, and the gap grows with the image
# (docs/operating.md, Storage). LXD makes the pool on a loop file of its own. lxe uses it when
# started with --storage-pool lxe; the test suite uses it where it exists.
POOL_NAME=${LXE_STORAGE_POOL:-lxe}
POOL_DRIVER=${LXE_STORAGE_DRIVER:-btrfs}   # btrfs, zfs (where zfsutils are installed) or none
POOL_SIZE=${LXE_STORAGE_SIZE:-8GiB}
if [[ $POOL_DRIVER == none ]]; then
    log "no storage pool for lxe (LXE_STORAGE_DRIVER=none)"
elif lxc storage show "$POOL_NAME" >/dev/null 2>&1; then
    log "storage pool '$POOL_NAME' exists"
elif lxc storage create "$POOL_NAME" "$POOL_DRIVER" size="$POOL_SIZE"; then
    log "created storage pool '$POOL_NAME' ($POOL_DRIVER on a $POOL_SIZE loop file)"
else
    log "warning: could not create a $POOL_DRIVER storage pool '$POOL_NAME'; lxe runs on the default pool" \
        "(slower creates), and the storage pool tests are skipped"
fi

# ---------------------------------------------------------------- 4. test image
log "ensuring busybox test image"
"$SCRIPT_DIR/make-busybox-image.sh" --alias busybox
# critest's MaskedPaths spec runs `sh -c ls` and wants the shell to exec /bin/ls from PATH, as the
# upstream busybox image's shell does; Debian's busybox-static runs its applets in-process. Debian's
# dynamic busybox is such a shell: it conflicts with busybox-static, so it is only downloaded, and
# test-registry.sh makes it the /bin/sh of the critest busybox stand-in.
SHELL_DEB_DIR=${LXE_TEST_IMAGES_DIR:-/var/cache/lxe-test-images}/debs
if ! compgen -G "$SHELL_DEB_DIR/busybox_*.deb" >/dev/null; then
    mkdir -p "$SHELL_DEB_DIR"
    log "downloading Debian's dynamic busybox package (the stand-in image's shell)"
    (cd "$SHELL_DEB_DIR" && apt-get -q -o APT::Sandbox::User=root download busybox) ||
        log "warning: could not download busybox; critest's MaskedPaths spec will fail"
fi
"$SCRIPT_DIR/test-registry.sh" build
"$SCRIPT_DIR/test-simplestreams.sh" build

# ---------------------------------------------------------------- 5. build
if [[ $BUILD -eq 1 ]]; then
    [[ -f $REPO/CMakeLists.txt ]] || die "$REPO/CMakeLists.txt not found (use --no-build)"
    log "configuring $REPO/build"
    cmake -S "$REPO" -B "$REPO/build" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
    log "building"
    cmake --build "$REPO/build"
else
    log "skipping build (--no-build)"
fi

log "setup complete"
