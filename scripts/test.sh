#!/usr/bin/env bash
# Runs lxe's whole test suite: unit tests and the integration tests against the real LXD that
# scripts/setup.sh provides. Builds first (incrementally) so the tests never run stale binaries.
#
# The loopback OCI registries the image tests pull from (scripts/test-registry.sh) and the
# loopback simplestreams server of the LXD-remote tests (scripts/test-simplestreams.sh) run while
# the tests do: started here unless they already answer, stopped afterwards if this script
# started them.
#
# Usage: scripts/test.sh [extra ctest arguments, e.g. -L unit or -R store]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build"
started_registries=0
if ! curl -sf --max-time 2 http://127.0.0.1:${LXE_TEST_REGISTRY_PORT:-5000}/v2/ >/dev/null 2>&1; then
  started_registries=1
fi
started_simplestreams=0
if ! curl -sfk --max-time 2 https://127.0.0.1:${LXE_TEST_SIMPLESTREAMS_PORT:-8443}/streams/v1/index.json >/dev/null 2>&1; then
  started_simplestreams=1
fi
"$repo/scripts/test-registry.sh" start
"$repo/scripts/test-simplestreams.sh" start
eval "$("$repo/scripts/test-registry.sh" env)"
eval "$("$repo/scripts/test-simplestreams.sh" env)"
stop_servers() {
  if [[ $started_registries -eq 1 ]]; then "$repo/scripts/test-registry.sh" stop; fi
  if [[ $started_simplestreams -eq 1 ]]; then "$repo/scripts/test-simplestreams.sh" stop; fi
}
trap stop_servers EXIT
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
