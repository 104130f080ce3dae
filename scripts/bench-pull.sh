#!/usr/bin/env bash
# Does an image pull slow lxe's hot path? Builds the ~100 MB test image, starts the loopback
# registry (scripts/test-registry.sh), and runs lxe-bench-pull: ListContainers p50/p99 while lxe is
# idle, while it pulls the image, and while the same pull runs by hand without lxe; and the pull's
# duration through lxe against by hand. Prints a markdown table.
#
#   scripts/bench-pull.sh [--rounds N] [--no-build]
#
# Needs root and the LXD of scripts/setup.sh. Leaves no image behind.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
args=()
build_first=1
for a in "$@"; do
  if [[ $a == --no-build ]]; then build_first=0; else args+=("$a"); fi
done
if [[ $build_first -eq 1 ]]; then cmake --build "$build" --target lxe-bench-pull >&2; fi
"$root/scripts/test-registry.sh" build --big >&2
"$root/scripts/test-registry.sh" start >&2
eval "$("$root/scripts/test-registry.sh" env)"
exec "$build/bin/lxe-bench-pull" --registries-conf "$LXE_TEST_REGISTRIES_CONF" "${args[@]}"
