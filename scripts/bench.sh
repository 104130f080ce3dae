#!/usr/bin/env bash
# Runs lxe-bench against a freshly started lxe on the real LXD and prints its markdown report
# (docs/benchmarks.md).
#
#   scripts/bench.sh [--quick] [--no-build] [--peer containerd] [--out FILE] [other lxe-bench flags]
#
# --peer containerd also starts a private containerd (scripts/bench-peer-containerd.sh: Debian's
# containerd and runc, installed if missing, on a socket and folders of their own) and the
# lifecycle section runs the same CRI calls through it with the same client: the report gets a
# table of both and their ratio. The containerd and everything it made are removed at the end.
#
# --quick finishes in about a minute (20 containers). Without it (the full run) it takes about
# 18 minutes on 2 cores and creates about 1,100 LXD instances (100 pods, 1000 containers).
# Needs root and the LXD of scripts/setup.sh with the busybox image. The report goes to stdout,
# progress to stderr. --no-build skips the incremental build of lxe, lxe-init and lxe-bench.
#
# Everything made in LXD is named lxebench-<6 hex>-... and marked user.lxe.test-pid=<PID of
# lxe-bench>. lxe-bench removes it at the end, on failure and on Ctrl-C; this script sweeps the
# prefix once more on exit in case lxe-bench itself was killed, and every run first deletes the
# objects of earlier runs whose lxe-bench is gone. Nothing else in LXD is touched.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [[ $EUID -ne 0 ]]; then
  echo "bench.sh: run as root (lxe and LXD's socket need it)" >&2
  exit 1
fi

build_first=1
peer=""
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-build) build_first=0 ;;
    --peer) peer=${2:-}; shift ;;
    --peer=*) peer=${1#--peer=} ;;
    *) args+=("$1") ;;
  esac
  shift
done
if [[ -n $peer && $peer != containerd ]]; then
  echo "bench.sh: --peer $peer: the only peer it can set up is containerd" >&2
  exit 2
fi
if (( build_first )); then
  # A fresh clone after scripts/setup.sh --no-build has no build folder yet: configure it as
  # scripts/test.sh does.
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  ninja -C "$build" lxe lxe-init lxe-bench >&2
fi

prefix="lxebench-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sweep() { "$build/bin/lxe-bench" --sweep-only --prefix "$prefix" || true; }
peer_dir=""
cleanup() {
  sweep
  if [[ -n $peer_dir ]]; then "$root/scripts/bench-peer-containerd.sh" stop "$peer_dir" || true; fi
}
trap cleanup EXIT
if [[ $peer == containerd ]]; then
  peer_dir="/tmp/lxe-bench-containerd-${prefix#lxebench-}"
  "$root/scripts/bench-peer-containerd.sh" start "$peer_dir" > "$peer_dir.flags"  # set -e: a failure stops here
  mapfile -t peer_flags < "$peer_dir.flags"
  rm -f "$peer_dir.flags"
  args+=("${peer_flags[@]}")
fi

echo "bench.sh: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no -- src bench 2>/dev/null)" ]]; then
  commit="$commit + uncommitted changes under src/ or bench/"
fi
"$build/bin/lxe-bench" --prefix "$prefix" --note "source tree at commit $commit" ${args[@]+"${args[@]}"}
