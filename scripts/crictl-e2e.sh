#!/usr/bin/env bash
# End-to-end check of lxe through crictl: starts its own lxe (temp socket, temp store, its own LXD
# name prefix), drives one pod through its whole life with crictl, checks every step, and leaves
# nothing behind in LXD.
#
#   runp -> create -> start -> ps (Running) -> logs (hello) -> exec -s (output, exit code)
#   -> exec, exec -i, exec -r websocket, exec -it in tmux (resize, exit code) -> port-forward
#   -> attach -i to a shell with stdin_once
#   -> update --memory/--cpu-quota (live: LXD limits and the cgroup change, same init PID)
#   -> kill -9 lxe, restart it: ps shows the same container Running, same init PID, and logs
#      has what it printed while lxe was down
#   -> second container reaches the first over 127.0.0.1 -> stats, statsp -> stop -> inspect (exit code, reason)
#   -> rm -> a container exiting with 3 (inspect: CONTAINER_EXITED, exitCode 3)
#   -> pull from the loopback registry and through its docker.io mirror, images --digests,
#      inspecti, a container of an OCI image without a command (entrypoint, env, working dir), rmi
#   -> stopp -> rmp
#   -> no LXD instance or profile with the run's prefix is left
#
# Usage: scripts/crictl-e2e.sh [LXE_BIN_DIR]   (default: build/bin of this repository)
#
# Needs crictl (skipped, exit 0, when it is not installed), lxc, a running LXD and the `busybox`
# image alias (scripts/setup.sh / scripts/make-busybox-image.sh). Prints a PASS or FAIL line per
# check and ends with "N passed, M failed"; exits non-zero when anything failed.
# shellcheck disable=SC2317  # cleanup and the wait_for predicates are called indirectly
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${1:-$repo/build/bin}

if ! command -v crictl >/dev/null 2>&1; then
  echo "SKIP: crictl is not installed; nothing to do"
  exit 0
fi
if ! command -v lxc >/dev/null 2>&1; then
  echo "SKIP: lxc is not installed (LXD is needed); nothing to do"
  exit 0
fi
lxe_bin=$bin_dir/lxe
if [[ ! -x $lxe_bin ]]; then
  echo "FAIL: no lxe binary at $lxe_bin (build first: ninja -C build)"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d /tmp/lxe-crictl-e2e.XXXXXX)
prefix="lxee2e-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
sock=$work/lxe.sock
lxe_log=$work/lxe.log
log_dir=$work/logs
lxe_pid=""
# shellcheck source=scripts/e2e-lib.sh
source "$repo/scripts/e2e-lib.sh"

# A config file of its own: without one, crictl 1.32 warns on stderr about /etc/crictl.yaml, which
# would mix into the IDs the checks read.
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n' "$sock" "$sock" >"$work/crictl.yaml"
crictl_() {
  crictl --config "$work/crictl.yaml" --timeout 60s "$@"
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n $lxe_pid ]] && kill -0 "$lxe_pid" 2>/dev/null; then
    timeout 90 crictl --config "$work/crictl.yaml" --timeout 30s rmp -f -a >/dev/null 2>&1
    kill -TERM "$lxe_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$lxe_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$lxe_pid" 2>/dev/null
    wait "$lxe_pid" 2>/dev/null
  fi
  # Sweep whatever lxe left, but only objects carrying this run's prefix.
  local kind name
  while read -r kind name; do
    [[ $name == "$prefix-"* ]] || continue
    echo "cleanup: deleting leftover LXD $kind $name"
    if [[ $kind == instance ]]; then lxc delete --force "$name" >/dev/null 2>&1; fi
  done < <(lxd_objects "$prefix-")
  while read -r kind name; do
    [[ $name == "$prefix-"* && $kind == profile ]] || continue
    lxc profile delete "$name" >/dev/null 2>&1
  done < <(lxd_objects "$prefix-")
  if [[ $rc -ne 0 && -f $lxe_log ]]; then
    echo "--- last lines of the lxe log ($lxe_log) ---"
    tail -n 40 "$lxe_log"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A command failing outside a check is a bug in this script or a broken environment: say where.
trap 'echo "FAIL: unexpected error at line $LINENO: $BASH_COMMAND"; echo "$passed passed, $((failed + 1)) failed"' ERR

# --- lxe ---------------------------------------------------------------------------------------
mkdir -p "$log_dir"
registries_conf=${LXE_TEST_REGISTRIES_CONF:-/var/lib/lxe-test-registry/registries.conf}
# lxc's config naming the loopback simplestreams server as remote "lxetest" (scripts/test-simplestreams.sh).
"$repo/scripts/test-simplestreams.sh" lxc-config "$work/lxc" >/dev/null
"$lxe_bin" --socket "$sock" --db "$work/state/lxe.db" --lxd-name-prefix "$prefix" --network-plugin none \
  --registries-conf "$registries_conf" --lxd-remote-config "$work/lxc/config.yml" --debug 2>"$lxe_log" &
lxe_pid=$!
up=0
for _ in $(seq 1 75); do
  if ! kill -0 "$lxe_pid" 2>/dev/null; then break; fi
  if [[ -S $sock ]] && crictl_ version >/dev/null 2>&1; then
    up=1
    break
  fi
  sleep 0.2
done
if [[ $up -eq 1 ]]; then
  pass "lxe is up (prefix $prefix, socket $sock)"
else
  fail "lxe did not come up on $sock" "$(tail -n 20 "$lxe_log" 2>/dev/null)"
fi
require "starting lxe"

if out=$(crictl_ inspecti busybox 2>&1); then
  pass "image busybox is known to lxe"
else
  fail "image busybox is not available (scripts/make-busybox-image.sh imports it)" "$out"
fi
require "image check"

# --- configs -----------------------------------------------------------------------------------
uid="e2e-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/pod.json" <<EOF
{
  "metadata": {"name": "e2e-pod", "namespace": "default", "uid": "$uid", "attempt": 0},
  "hostname": "e2e-host",
  "log_directory": "$log_dir",
  "dns_config": {"servers": ["10.96.0.10"], "searches": ["default.svc.cluster.local"], "options": ["ndots:5"]},
  "labels": {"app": "lxe-e2e"},
  "linux": {}
}
EOF
cat >"$work/server.json" <<'EOF'
{
  "metadata": {"name": "server", "attempt": 0},
  "image": {"image": "busybox"},
  "command": ["sh", "-c", "echo hello; mkdir -p /w && echo pf-page > /w/index.html && httpd -p 127.0.0.1:8081 -h /w; (while true; do echo tick $(date +%s); sleep 1; done) & nc -l -p 8080 -e echo hi; sleep 3600"],
  "log_path": "server.log",
  "linux": {}
}
EOF
cat >"$work/client.json" <<'EOF'
{
  "metadata": {"name": "client", "attempt": 0},
  "image": {"image": "busybox"},
  "command": ["sh", "-c", "for i in $(seq 1 30); do nc 127.0.0.1 8080 && break; sleep 1; done; sleep 3600"],
  "log_path": "client.log",
  "linux": {}
}
EOF
cat >"$work/shell.json" <<'EOF'
{
  "metadata": {"name": "shell", "attempt": 0},
  "image": {"image": "busybox"},
  "command": ["sh"],
  "stdin": true,
  "stdin_once": true,
  "log_path": "shell.log",
  "linux": {}
}
EOF
cat >"$work/exit3.json" <<'EOF'
{
  "metadata": {"name": "exit3", "attempt": 0},
  "image": {"image": "busybox"},
  "command": ["sh", "-c", "exit 3"],
  "log_path": "exit3.log",
  "linux": {}
}
EOF

# container_field ID TEMPLATE: one go-template over `crictl inspect`.
container_field() {
  crictl_ inspect -o go-template --template "$2" "$1" 2>&1
}
# ps_state ID: the container's state (CONTAINER_RUNNING, ...) when `crictl ps -a` lists it, else
# nothing. crictl 1.29's ps has no go-template output, so the state comes from inspect.
ps_state() {
  local listed
  listed=$(crictl_ ps -a -q --id "$1" 2>/dev/null || true)
  [[ $listed == "$1" ]] || return 0
  crictl_ inspect -o go-template --template '{{.status.state}}' "$1" 2>/dev/null || true
}

# --- runp --------------------------------------------------------------------------------------
if pod=$(crictl_ runp "$work/pod.json" 2>&1) && [[ $pod =~ ^[0-9a-f]{64}$ ]]; then
  state=$(crictl_ inspectp -o go-template --template '{{.status.state}}' "$pod" 2>&1 || true)
  if [[ $state == SANDBOX_READY ]]; then
    pass "runp: pod ${pod:0:13} is SANDBOX_READY"
  else
    fail "runp: pod ${pod:0:13} state is '$state', want SANDBOX_READY"
  fi
else
  fail "runp" "$pod"
fi
require "runp"

# --- create / start / ps -----------------------------------------------------------------------
if server=$(crictl_ create "$pod" "$work/server.json" "$work/pod.json" 2>&1) && [[ $server =~ ^[0-9a-f]{64}$ ]]; then
  state=$(ps_state "$server")
  if [[ $state == CONTAINER_CREATED ]]; then
    pass "create: container ${server:0:13} is CONTAINER_CREATED"
  else
    fail "create: container ${server:0:13} state is '$state', want CONTAINER_CREATED"
  fi
else
  fail "create" "$server"
fi
require "create"

if out=$(crictl_ start "$server" 2>&1); then
  pass "start"
else
  fail "start" "$out"
fi
require "start"

is_running() { [[ $(ps_state "$1") == CONTAINER_RUNNING ]]; }
if wait_for 15 is_running "$server"; then
  pass "ps: server is Running"
else
  fail "ps: server is not Running" "$(crictl_ ps -a 2>&1)"
fi

# --- logs --------------------------------------------------------------------------------------
logs_have() { crictl_ logs "$1" 2>/dev/null | grep -qx "$2"; }
if wait_for 15 logs_have "$server" hello; then
  pass "logs: server printed 'hello'"
else
  fail "logs: no 'hello' in the server's logs" "$(crictl_ logs "$server" 2>&1)"
fi

# --- exec -s -----------------------------------------------------------------------------------
# crictl 1.29 turns a non-zero exit code into an error ("... exited with N: ...") and exit status 1,
# so the exit code and the output are checked with two commands.
if out=$(crictl_ exec -s "$server" sh -c 'echo out; exit 3' 2>&1); then
  fail "exec -s: 'exit 3' succeeded, want exit code 3" "$out"
elif [[ $out == *"exited with 3"* ]]; then
  pass "exec -s: exit code 3 reported"
else
  fail "exec -s: exit code 3 not reported" "$out"
fi
if out=$(crictl_ exec -s "$server" sh -c 'echo exec-out-marker; echo exec-err-marker >&2' 2>&1) &&
   grep -qx exec-out-marker <<<"$out" && grep -qx exec-err-marker <<<"$out"; then
  pass "exec -s: stdout and stderr returned"
else
  fail "exec -s: output missing" "$out"
fi
if out=$(crictl_ exec -s "$server" hostname 2>&1) && grep -qx e2e-host <<<"$out"; then
  pass "exec -s: hostname is the pod's (e2e-host)"
else
  fail "exec -s: hostname is not e2e-host" "$out"
fi
if out=$(crictl_ exec -s "$server" cat /etc/resolv.conf 2>&1) &&
   grep -qx 'nameserver 10.96.0.10' <<<"$out" && grep -qx 'search default.svc.cluster.local' <<<"$out" &&
   grep -qx 'options ndots:5' <<<"$out"; then
  pass "exec -s: /etc/resolv.conf follows the pod's dns_config"
else
  fail "exec -s: /etc/resolv.conf does not follow dns_config" "$out"
fi

# --- streaming: exec, exec -i, exec -it (in tmux), port-forward -------------------------------------
# crictl 1.32's streaming exec turns a non-zero exit code into "command terminated with exit code N"
# and exit status 1.
if out=$(crictl_ exec "$server" sh -c 'echo stream-out; echo stream-err >&2; exit 3' 2>&1); then
  fail "exec: 'exit 3' succeeded, want exit code 3" "$out"
elif [[ $out == *"command terminated with exit code 3"* && $out == *stream-out* && $out == *stream-err* ]]; then
  pass "exec: output on both streams and exit code 3 (streaming server, SPDY)"
else
  fail "exec: output or exit code 3 missing" "$out"
fi
if out=$(printf 'typed line\n' | crictl_ exec -i "$server" sh -c 'read l; echo "got: $l"' 2>&1) && [[ $out == "got: typed line" ]]; then
  pass "exec -i: stdin reaches the command"
else
  fail "exec -i: stdin did not reach the command" "$out"
fi
if out=$(crictl_ exec -r websocket "$server" echo over-websocket 2>&1) && [[ $out == over-websocket ]]; then
  pass "exec -r websocket: output"
else
  fail "exec -r websocket" "$out"
fi
if command -v tmux >/dev/null 2>&1; then
  tmux_session="lxe-e2e-$$"
  tmux new-session -d -s "$tmux_session" -x 120 -y 40 \
    "crictl --config '$work/crictl.yaml' exec -it '$server' sh; echo \"crictl-exit=\$?\"; sleep 60"
  pane() { tmux capture-pane -t "$tmux_session" -p -J; }  # -J: wrapped lines joined
  pane_has() { pane | grep -q -- "$1"; }
  wait_for 15 pane_has '/ #' || true
  tmux send-keys -t "$tmux_session" 'stty size' Enter
  wait_for 10 pane_has '^40 120' || true
  tmux resize-window -t "$tmux_session" -x 100 -y 30
  sleep 1
  tmux send-keys -t "$tmux_session" 'stty size; tty' Enter
  wait_for 10 pane_has '^30 100' || true
  tmux send-keys -t "$tmux_session" 'exit 5' Enter
  wait_for 15 pane_has 'crictl-exit=' || true
  screen=$(pane)
  tmux kill-session -t "$tmux_session" 2>/dev/null || true
  if grep -q '^40 120' <<<"$screen" && grep -q '^30 100' <<<"$screen" && grep -q '^/dev/pts/' <<<"$screen" &&
     grep -q 'command terminated with exit code 5' <<<"$screen"; then
    pass "exec -it: interactive shell in a terminal, resized from 120x40 to 100x30, exit code 5"
  else
    fail "exec -it in tmux" "$screen"
  fi
else
  fail "exec -it: tmux is not installed (scripts/setup.sh installs it)"
fi
pf_port=$((20000 + RANDOM % 20000))
crictl_ port-forward "$pod" "$pf_port:8081" >"$work/port-forward.log" 2>&1 &
pf_pid=$!
fetch_pf() { curl -s -m 5 "http://127.0.0.1:$pf_port/" | grep -qx pf-page; }
if wait_for 15 fetch_pf && fetch_pf; then
  pass "port-forward: 127.0.0.1:$pf_port reaches the pod's 127.0.0.1:8081 (two requests)"
else
  fail "port-forward" "$(cat "$work/port-forward.log")"
fi
kill "$pf_pid" 2>/dev/null || true
wait "$pf_pid" 2>/dev/null || true
pf_port=$((20000 + RANDOM % 20000))
crictl_ port-forward -r websocket "$pod" "$pf_port:8081" >"$work/port-forward.log" 2>&1 &
pf_pid=$!
if wait_for 15 fetch_pf; then
  pass "port-forward -r websocket: SPDY tunnelled through a WebSocket reaches the pod"
else
  fail "port-forward -r websocket" "$(cat "$work/port-forward.log")"
fi
kill "$pf_pid" 2>/dev/null || true
wait "$pf_pid" 2>/dev/null || true

# --- attach: a shell on its stdin (stdin_once): typed lines run, the end of input ends it ------------
if shell=$(crictl_ create "$pod" "$work/shell.json" "$work/pod.json" 2>&1) && [[ $shell =~ ^[0-9a-f]{64}$ ]] &&
   crictl_ start "$shell" >/dev/null 2>&1 && wait_for 15 is_running "$shell"; then
  out=$(printf 'echo attached-$((40 + 2))\n' | timeout 60 crictl --config "$work/crictl.yaml" attach -i "$shell" 2>&1) || true
  shell_exited() { [[ $(ps_state "$shell") == CONTAINER_EXITED ]]; }
  if [[ $out == *attached-42* ]] && wait_for 15 shell_exited && grep -q attached-42 "$log_dir/shell.log"; then
    pass "attach -i: the shell ran the typed line, ended with its input (stdin_once), and logged it"
  else
    fail "attach -i" "$out $(ps_state "$shell")"
  fi
  crictl_ rm -f "$shell" >/dev/null 2>&1 || true
else
  fail "attach: the shell container did not start" "$shell"
fi

# --- update: live limits, same init PID -----------------------------------------------------------
instance=$({ lxc list --format csv -c n 2>/dev/null || true; } | grep -- "-${server:0:12}$" || true)
init_pid() { lxc list "^$instance\$" --format csv -c p 2>/dev/null; }
pid_before=$(init_pid)
if [[ -n $instance && $pid_before =~ ^[0-9]+$ ]]; then
  pass "server runs as LXD instance $instance, init PID $pid_before"
else
  fail "cannot find the server's LXD instance or its PID" "instance '$instance' pid '$pid_before'"
fi
require "finding the server's instance"
if out=$(crictl_ update --memory 134217728 --cpu-quota 20000 --cpu-period 100000 "$server" 2>&1); then
  mem=$(lxc config get "$instance" limits.memory 2>&1)
  cpu=$(lxc config get "$instance" limits.cpu.allowance 2>&1)
  cgroup_file=/sys/fs/cgroup/memory/lxc.payload.$instance/memory.limit_in_bytes
  [[ -r $cgroup_file ]] || cgroup_file=/sys/fs/cgroup/lxc.payload.$instance/memory.max
  cgroup=$(cat "$cgroup_file" 2>&1 || true)
  pid_after=$(init_pid)
  if [[ $mem == 134217728 && $cpu == 20ms/100ms && $cgroup == 134217728 && $pid_after == "$pid_before" ]]; then
    pass "update: limits.memory $mem, limits.cpu.allowance $cpu, cgroup $cgroup, init PID unchanged"
  else
    fail "update: want 134217728, 20ms/100ms, cgroup 134217728 and PID $pid_before" \
      "limits.memory '$mem' limits.cpu.allowance '$cpu' cgroup '$cgroup' ($cgroup_file) PID '$pid_after'"
  fi
else
  fail "update" "$out"
fi

# --- kill -9 lxe and start it again ----------------------------------------------------------------
kill -KILL "$lxe_pid"
wait "$lxe_pid" 2>/dev/null || true
down_from=$(date +%s)
sleep 3  # the server keeps printing ticks; lxe-init writes them to the log meanwhile
down_to=$(date +%s)
"$lxe_bin" --socket "$sock" --db "$work/state/lxe.db" --lxd-name-prefix "$prefix" --network-plugin none \
  --registries-conf "$registries_conf" --lxd-remote-config "$work/lxc/config.yml" --debug 2>>"$lxe_log" &
lxe_pid=$!
up=0
for _ in $(seq 1 75); do
  if [[ -S $sock ]] && crictl_ version >/dev/null 2>&1; then
    up=1
    break
  fi
  sleep 0.2
done
if [[ $up -eq 1 && $(ps_state "$server") == CONTAINER_RUNNING && $(init_pid) == "$pid_before" ]]; then
  pass "kill -9 and restart: ps shows ${server:0:13} Running, init PID $pid_before unchanged"
else
  fail "kill -9 and restart: want the server Running with PID $pid_before" \
    "up=$up state '$(ps_state "$server")' PID '$(init_pid)'"
fi
printed_while_down() {
  local t
  for t in $(crictl_ logs "$server" 2>/dev/null | awk '$1 == "tick" {print $2}'); do
    if [[ $t -ge $down_from && $t -lt $down_to ]]; then return 0; fi
  done
  return 1
}
if printed_while_down; then
  pass "logs: has what the server printed while lxe was down"
else
  fail "logs: nothing printed between $down_from and $down_to" "$(crictl_ logs --tail 8 "$server" 2>&1)"
fi

# --- a second container in the pod reaches the first over 127.0.0.1 ------------------------------
if client=$(crictl_ create "$pod" "$work/client.json" "$work/pod.json" 2>&1) && [[ $client =~ ^[0-9a-f]{64}$ ]] &&
   out=$(crictl_ start "$client" 2>&1); then
  if wait_for 40 logs_have "$client" hi; then
    pass "second container got 'hi' from 127.0.0.1:8080 (shared network namespace)"
  else
    fail "second container did not get 'hi' from 127.0.0.1:8080" "$(crictl_ logs "$client" 2>&1)"
  fi
else
  fail "second container: create/start" "${out:-$client}"
fi

# --- stats: crictl stats and statsp read lxe's cgroup-based stats ----------------------------------
if out=$(crictl_ stats -o json 2>&1) &&
   python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[x for x in d["stats"] if x["attributes"]["metadata"]["name"]=="client"]; assert s and int(s[0]["memory"]["workingSetBytes"]["value"])>0 and int(s[0]["cpu"]["usageCoreNanoSeconds"]["value"])>0' "$out" 2>/dev/null; then
  pass "stats: the running client container has CPU time and a working set"
else
  fail "stats" "$out"
fi
if out=$(crictl_ statsp -o json 2>&1) &&
   python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=d["stats"][0]["linux"]; assert int(s["memory"]["workingSetBytes"]["value"])>0 and len(s["containers"])>=1 and int(s["process"]["processCount"]["value"])>=1' "$out" 2>/dev/null; then
  pass "statsp: the pod's memory, processes and containers"
else
  fail "statsp" "$out"
fi

# --- stop / inspect / rm -----------------------------------------------------------------------
if out=$(crictl_ stop --timeout 10 "$server" 2>&1); then
  pass "stop"
else
  fail "stop" "$out"
fi
status=$(container_field "$server" '{{.status.state}}|{{.status.exitCode}}|{{.status.reason}}|{{.status.finishedAt}}' || true)
IFS='|' read -r st code reason finished <<<"$status"
if [[ $st == CONTAINER_EXITED && $code =~ ^[0-9]+$ && $code -ne 0 && -n $reason && $finished != 0* && -n $finished ]]; then
  pass "inspect: CONTAINER_EXITED, exitCode $code, reason $reason, finishedAt $finished"
else
  fail "inspect: want CONTAINER_EXITED with a non-zero exit code, a reason and finishedAt" "$status"
fi
# crictl stats -a lists containers that do not run too, with well-formed zeros.
if out=$(crictl_ stats -a -o json 2>&1) &&
   python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[x for x in d["stats"] if x["attributes"]["id"]==sys.argv[2]]; assert s and int(s[0]["memory"]["workingSetBytes"]["value"])==0 and int(s[0]["cpu"]["usageCoreNanoSeconds"]["value"])==0' "$out" "$server" 2>/dev/null; then
  pass "stats -a: the stopped server has stats of zeros"
else
  fail "stats -a" "$out"
fi
if out=$(crictl_ rm "$server" 2>&1) && [[ -z $(ps_state "$server") ]]; then
  pass "rm: server is gone from ps -a"
else
  fail "rm" "$out $(crictl_ ps -a 2>&1)"
fi

# --- a container that exits with 3 ---------------------------------------------------------------
if exit3=$(crictl_ create "$pod" "$work/exit3.json" "$work/pod.json" 2>&1) && [[ $exit3 =~ ^[0-9a-f]{64}$ ]] &&
   out=$(crictl_ start "$exit3" 2>&1); then
  has_exited() { [[ $(ps_state "$1") == CONTAINER_EXITED ]]; }
  wait_for 20 has_exited "$exit3" || true
  status=$(container_field "$exit3" '{{.status.state}}|{{.status.exitCode}}' || true)
  if [[ $status == "CONTAINER_EXITED|3" ]]; then
    pass "exit 3: inspect shows CONTAINER_EXITED and exitCode 3"
  else
    fail "exit 3: want CONTAINER_EXITED|3, got '$status'"
  fi
else
  fail "exit 3: create/start" "${out:-$exit3}"
fi

# --- images from the loopback registry (scripts/test-registry.sh) -------------------------------
# pull by tag, through the registries.conf mirror of docker.io, images with tags and digests,
# inspecti, a container that gives no command runs the image's entrypoint, cmd, env and working
# dir, rmi.
registry=${LXE_TEST_REGISTRY:-127.0.0.1:5000}
if out=$(crictl_ pull "$registry/busybox:1.36" 2>&1) && [[ $out == *"Image is up to date for sha256:"* ]]; then
  pass "pull $registry/busybox:1.36"
else
  fail "pull $registry/busybox:1.36 (is the test registry running? scripts/test-registry.sh start)" "$out"
fi
if out=$(crictl_ pull docker.io/library/busybox:1.36 2>&1) && [[ $out == *"Image is up to date for sha256:"* ]]; then
  pass "pull docker.io/library/busybox:1.36 through the registries.conf mirror"
else
  fail "pull docker.io/library/busybox:1.36" "$out"
fi
listed=$(crictl_ images --digests 2>&1 || true)
if grep -q "^docker.io/library/busybox  *1.36  *[0-9a-f]\{13\}  *[0-9a-f]\{13\}" <<<"$listed" &&
   grep -q "^$registry/busybox  *1.36 " <<<"$listed"; then
  pass "images --digests: both tags, with digest and image ID"
else
  fail "images --digests" "$listed"
fi
if out=$(crictl_ inspecti -o go-template --template '{{range .status.repoDigests}}{{.}} {{end}}' docker.io/library/busybox:1.36 2>&1) &&
   [[ " $out" == *" docker.io/library/busybox@sha256:"* && " $out" == *" $registry/busybox@sha256:"* ]]; then
  pass "inspecti: a repo digest for each repository it was pulled from"
else
  fail "inspecti" "$out"
fi
web="$registry/lxe-test/web:1"
cat >"$work/web.json" <<EOF
{
  "metadata": {"name": "web", "attempt": 0},
  "image": {"image": "$web"},
  "envs": [{"key": "EXTRA", "value": "from-pod"}],
  "log_path": "web.log",
  "linux": {}
}
EOF
if out=$(crictl_ pull "$web" 2>&1) && webc=$(crictl_ create "$pod" "$work/web.json" "$work/pod.json" 2>&1) &&
   [[ $webc =~ ^[0-9a-f]{64}$ ]] && out=$(crictl_ start "$webc" 2>&1); then
  page=""
  for _ in $(seq 1 40); do
    page=$(crictl_ exec -s "$webc" wget -qO- http://127.0.0.1:8080/ 2>/dev/null || true)
    [[ $page == *"lxe image web server"* ]] && break
    sleep 0.25
  done
  seen=$(crictl_ exec -s "$webc" sh -c 'echo $GREETING $EXTRA $(pwd)' 2>&1 || true)
  if [[ $page == *"lxe image web server"* && $seen == "hello-from-image from-pod /srv/www" ]]; then
    pass "a container without a command runs the image's entrypoint+cmd (httpd :8080), env and working dir"
  else
    fail "image entrypoint: page '$page', env/cwd '$seen'" "$(tail -n 5 "$lxe_log")"
  fi
  crictl_ stop -t 0 "$webc" >/dev/null 2>&1 || true
  crictl_ rm "$webc" >/dev/null 2>&1 || true
else
  fail "image entrypoint: pull/create/start" "${out:-$webc}"
fi
if out=$(crictl_ rmi "$registry/busybox:1.36" docker.io/library/busybox:1.36 "$web" 2>&1) &&
   ! crictl_ images 2>&1 | grep -q "lxe-test/web\|busybox  *1.36"; then
  pass "rmi: the pulled images are gone"
else
  fail "rmi" "$out $(crictl_ images 2>&1)"
fi
if out=$(crictl_ pull lxetest:busybox/1.36 2>&1) && [[ $out == *"Image is up to date for sha256:"* ]] &&
   crictl_ images 2>&1 | grep -q "^lxetest  *busybox/1.36 " && out=$(crictl_ rmi lxetest:busybox/1.36 2>&1) &&
   ! crictl_ images 2>&1 | grep -q "^lxetest "; then
  pass "pull lxetest:busybox/1.36 from the simplestreams remote of lxc's config; images; rmi"
else
  fail "LXD remote pull (is scripts/test-simplestreams.sh start running?)" "$out $(crictl_ images 2>&1)"
fi
pulled_left=$(lxc image list --format csv -c l 2>/dev/null | grep -c "^$prefix/" || true)
if [[ $pulled_left -eq 0 ]]; then
  pass "LXD: no pulled image of $prefix left"
else
  fail "LXD: $pulled_left pulled image(s) of $prefix left" "$(lxc image list --format csv -c lf 2>&1 | grep "^$prefix/")"
fi

# --- stopp / rmp -------------------------------------------------------------------------------
if out=$(crictl_ stopp "$pod" 2>&1); then
  state=$(crictl_ inspectp -o go-template --template '{{.status.state}}' "$pod" 2>&1 || true)
  running=$(crictl_ ps --pod "$pod" -q 2>&1 || true)
  if [[ $state == SANDBOX_NOTREADY && -z $running ]]; then
    pass "stopp: pod is SANDBOX_NOTREADY and none of its containers runs"
  else
    fail "stopp: pod state '$state', running containers: '$running'"
  fi
else
  fail "stopp" "$out"
fi
if out=$(crictl_ rmp "$pod" 2>&1) && [[ -z $(crictl_ pods --id "$pod" -q 2>&1) ]] && [[ -z $(crictl_ ps -a -q 2>&1) ]]; then
  pass "rmp: no pod and no container left"
else
  fail "rmp" "$out $(crictl_ pods 2>&1) $(crictl_ ps -a 2>&1)"
fi

# --- LXD is left with nothing lxe made ------------------------------------------------------------
left=""
for _ in $(seq 1 20); do
  left=$(lxd_objects_but_ready "$prefix-")
  [[ -z $left ]] && break
  sleep 0.5
done
if [[ -z $left ]]; then
  pass "LXD: no instance or profile named $prefix-* left but the instances lxe keeps ready"
else
  fail "LXD: lxe left objects behind" "$left"
fi
# A clean stop of lxe deletes its ready instances: then nothing at all is left.
kill -TERM "$lxe_pid"
wait "$lxe_pid" 2>/dev/null || true
left=$(lxd_objects "$prefix-")
if [[ -z $left ]]; then
  pass "LXD: lxe's clean stop deleted its ready instances; nothing named $prefix-* is left"
else
  fail "LXD: lxe's clean stop left objects behind" "$left"
fi

finish
