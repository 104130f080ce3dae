#!/usr/bin/env bash
# Builds the request fuzzer (fuzz/, clang's libFuzzer with ASan and UBSan) in <repo>/build-fuzz and
# runs it for a bounded time on a copy of the committed seeds (fuzz/corpus). Fails on any finding:
# the input is saved under <repo>/build-fuzz/findings/ and printed; replay it with
#   build-fuzz/bin/lxe_fuzz_requests <file>
# (LXE_FUZZ_TRACE=1 says how far an input gets). Prints "SKIP: ..." and exits 0 when clang or its
# fuzzer runtime (libclang-rt-14-dev) is not installed; scripts/setup.sh installs both.
#
# Usage: scripts/fuzz.sh [seconds]      (default 60)
#   LXE_FUZZ_JOBS=N   run N fuzzing processes in parallel (default 1)
set -euo pipefail

# The whole script is one function, read before any of it runs: bash reads a script as it goes, so
# editing this file during a long run would otherwise make the running copy execute other lines.
main() {
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  seconds=${1:-60}
  [[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz.sh: seconds must be a positive number" >&2; exit 2; }
  build="$repo/build-fuzz"
  jobs=${LXE_FUZZ_JOBS:-1}

  if ! command -v clang++ >/dev/null 2>&1; then
    echo "SKIP: clang++ is not installed (apt-get install clang libclang-rt-14-dev)"
    exit 0
  fi
  if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
      clang++ -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
    echo "SKIP: clang++ cannot link a libFuzzer target (apt-get install libclang-rt-14-dev)"
    exit 0
  fi

  # One run at a time per build directory: a second would build into, and empty, the first's files.
  mkdir -p "$build"
  exec 9>"$build/.fuzz.lock"
  flock -n 9 || { echo "fuzz.sh: another fuzz.sh is running in $build" >&2; exit 1; }

  if [[ ! -f "$build/build.ninja" ]]; then
    CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLXE_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
  fi
  cmake --build "$build" --target lxe_fuzz_requests
  fuzzer="$build/bin/lxe_fuzz_requests"

  # The committed seeds stay as they are: libFuzzer adds what it finds to a scratch copy.
  work="$build/corpus"
  findings="$build/findings"
  rm -rf "$work"
  mkdir -p "$work" "$findings"
  cp "$repo"/fuzz/corpus/* "$work"/
  log="$build/fuzz.log"
  stamp="$build/.fuzz-started"
  touch "$stamp"

  echo "fuzz.sh: fuzzing for ${seconds}s ($jobs job(s)); log in $log"
  start=$(date +%s)
  status=0
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384
        -dict="$repo/fuzz/requests.dict" -artifact_prefix="$findings/" -print_final_stats=1)
  if [[ $jobs -gt 1 ]]; then
    # -fork keeps going after a finding is saved; the run still fails because of it below.
    "$fuzzer" "${args[@]}" -fork="$jobs" "$work" >"$log" 2>&1 || status=$?
  else
    "$fuzzer" "${args[@]}" "$work" >"$log" 2>&1 || status=$?
  fi
  elapsed=$(( $(date +%s) - start ))

  grep -E '^#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb|cov: [0-9]+' "$log" | tail -n 4 || true
  mapfile -t found < <(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$stamp" 2>/dev/null)
  if [[ $status -ne 0 || ${#found[@]} -gt 0 ]]; then
    echo "fuzz.sh: FINDING after ${elapsed}s (exit status $status); the report:" >&2
    report='lxe request fuzzer:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
    if grep -q -E "$report" "$log"; then
      grep -E -A40 "$report" "$log" | head -n 80 >&2
    else
      tail -n 40 "$log" >&2
    fi
    for f in "${found[@]}"; do echo "fuzz.sh: input saved as $f" >&2; done
    exit 1
  fi
  echo "fuzz.sh: no finding in ${elapsed}s; corpus now $(find "$work" -type f | wc -l) inputs"
}

main "$@"
