#!/usr/bin/env bash
# A private containerd for scripts/bench.sh --peer containerd: Debian's containerd and runc, on a
# socket and in state folders of its own under DIR, with a loopback-subnet bridge CNI config and
# two images built locally from the test registry's busybox OCI layout (no registry is reached).
#
#   scripts/bench-peer-containerd.sh start DIR   installs containerd and runc if missing, starts
#                                                containerd, imports lxe.test/busybox:1 (the
#                                                containers) and lxe.test/pause:1 (the sandboxes),
#                                                prints the lxe-bench flags that use it
#   scripts/bench-peer-containerd.sh stop DIR    kills it and its shims, unmounts and deletes DIR
#                                                and its bridge: nothing is left behind
#
# Config as the issue asks: restrict_oom_score_adj = true (these VMs refuse a lower score), CNI
# bridge lxebpeer0 on 10.231.0.0/24 without masquerade (containerd 1.6 wants an interface with an
# address, a loopback-only list fails RunPodSandbox). Needs scripts/setup.sh (skopeo, umoci, the
# CNI plugins, the test images).
set -euo pipefail

IMAGES=${LXE_TEST_IMAGES_DIR:-/var/cache/lxe-test-images}/oci
BRIDGE=lxebpeer0
SUBNET=10.231.0.0/24

die() { echo "bench-peer-containerd: $*" >&2; exit 1; }

start() {
    local dir=$1
    if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
        echo "bench-peer-containerd: installing containerd and runc (Debian's)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends containerd runc >&2
    fi
    [[ -f $IMAGES/index.json ]] || die "no test images in $IMAGES (run scripts/setup.sh)"
    mkdir -p "$dir"/{root,state,cni,images,logs}
    cat > "$dir/cni/10-bench.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "lxe-bench-peer",
 "plugins": [{"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "dataDir": "$dir/ipam"}},
             {"type": "loopback"}]}
EOF
    cat > "$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "lxe.test/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
EOF
    setsid containerd --config "$dir/config.toml" > "$dir/containerd.log" 2>&1 < /dev/null &
    echo $! > "$dir/containerd.pid"
    for _ in $(seq 100); do [[ -S $dir/containerd.sock ]] && break; sleep 0.1; done
    [[ -S $dir/containerd.sock ]] || die "containerd did not start (see $dir/containerd.log)"
    # The images: busybox as the test registry built it, and the same with `sleep` as the pause.
    skopeo copy -q "oci:$IMAGES:busybox" "oci:$dir/images/layout:busybox"
    skopeo copy -q "oci:$IMAGES:busybox" "oci:$dir/images/layout:pause"
    umoci config --image "$dir/images/layout:pause" --config.cmd sleep --config.cmd 2147483647
    local ref
    for ref in busybox pause; do
        skopeo copy -q "oci:$dir/images/layout:$ref" "docker-archive:$dir/images/$ref.tar:lxe.test/$ref:1"
        ctr -a "$dir/containerd.sock" -n k8s.io images import "$dir/images/$ref.tar" >&2
    done
    local version
    version="containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}') (Debian), bridge CNI"
    printf '%s\n' --peer-socket "$dir/containerd.sock" --peer-name containerd --peer-image lxe.test/busybox:1 \
        --note "peer: $version, restrict_oom_score_adj, its own state folder"
}

stop() {
    local dir=$1 pid mnt
    [[ -d $dir ]] || return 0
    if [[ -f $dir/containerd.pid ]]; then
        pid=$(cat "$dir/containerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # Shims (and the pods they hold) of this containerd only: their command line names its socket.
    for pid in $(pgrep -f "containerd-shim.*-address $dir/containerd.sock" || true); do
        kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
    done
    # Mounts under DIR (rootfs overlays, shm, netns), deepest first.
    for mnt in $(awk -v d="$dir" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$mnt" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -rf "$dir"
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || die "usage: $0 start DIR"; start "$2" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop DIR"; stop "$2" ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
