#!/usr/bin/env bash
# Runs lxe-bench against a freshly started lxe on the real LXD and prints its markdown report.
#
#   scripts/bench.sh [--quick] [--out FILE] [other lxe-bench flags]
#
# --quick finishes in about a minute; without it (the full run) it takes several minutes and creates
# about 1,100 LXD instances. Needs root and the LXD of scripts/setup.sh with the busybox image.
# The report goes to stdout, progress to stderr. Everything made in LXD is named
# lxebench-<6 hex>-...; lxe-bench removes it at the end and on failure or Ctrl-C, and this script
# sweeps the prefix once more on exit in case lxe-bench itself was killed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [[ $EUID -ne 0 ]]; then
  echo "bench.sh: run as root (lxe and LXD's socket need it)" >&2
  exit 1
fi

ninja -C "$build" lxe lxe-init lxe-bench >&2

prefix="lxebench-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sweep() { "$build/bin/lxe-bench" --sweep-only --prefix "$prefix" || true; }
trap sweep EXIT

echo "bench.sh: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bin/lxe-bench" --prefix "$prefix" "$@"
