# Shared by the end-to-end scripts (crictl-e2e.sh, kubelet-e2e.sh): sourced, never run.
# A PASS or FAIL line per check, "N passed, M failed" last, and LXD objects by name prefix.
# shellcheck shell=bash

passed=0
failed=0
last_failed=0  # whether the latest check failed


pass() {
  last_failed=0
  passed=$((passed + 1))
  echo "PASS: $1"
}

# fail MESSAGE [DETAIL]: DETAIL (the first 25 lines) is indented under the FAIL line.
fail() {
  last_failed=1
  failed=$((failed + 1))
  echo "FAIL: $1"
  if [[ $# -gt 1 && -n $2 ]]; then
    printf '%s\n' "$2" | sed 's/^/      | /' | head -n 25
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  if [[ $failed -ne 0 ]]; then exit 1; fi
  exit 0
}

# Stops here when the check just made failed and everything after it depends on it.
require() {
  if [[ $last_failed -ne 0 ]]; then
    echo "cannot continue after: $1"
    finish
  fi
}

# wait_for SECONDS COMMAND...: polls COMMAND every half second until it succeeds or time is up.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@"; do
    if [[ $SECONDS -ge $deadline ]]; then return 1; fi
    sleep 0.5
  done
}

# "instance NAME" and "profile NAME" lines for the LXD objects whose names start with $1.
lxd_objects() {
  { lxc list --format csv -c n 2>/dev/null || true; } | awk -v p="$1" 'index($0, p) == 1 {print "instance " $0}'
  { lxc profile list --format csv 2>/dev/null || true; } | awk -F, -v p="$1" 'index($1, p) == 1 {print "profile " $1}'
}

# The same without the instances a running lxe keeps ready ("<prefix>--ready-<hex>",
# --ready-instances): $1 is "<prefix>-". A clean stop of lxe deletes those too.
lxd_objects_but_ready() {
  lxd_objects "$1" | awk -v r="instance $1-ready-" 'index($0, r) != 1'
}
