#!/usr/bin/env bash
# Runs lxe's whole test suite: unit tests and the integration tests against the real LXD that
# scripts/setup.sh provides. Builds first (incrementally) so the tests never run stale binaries.
#
# Usage: scripts/test.sh [extra ctest arguments, e.g. -L unit or -R store]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build"
exec ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
