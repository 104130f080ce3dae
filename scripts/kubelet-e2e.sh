#!/usr/bin/env bash
# End-to-end check of lxe under a real kubelet: starts its own lxe (temp socket, temp store, its own
# LXD name prefix) and a standalone kubelet (no API server: static pods from a manifest folder; its
# own root folder; healthz on 127.0.0.1 only, no other port), and checks, one PASS/FAIL line each:
#
#   - pods are on lxe's bridge (a bridge and a /24 of the run's own): the static pod has an address,
#     and lxe pinned its namespaces (no holder container)
#   - a static pod reaches Running and stays on the same sandbox and container for STABLE_SECONDS
#     (attempt 0, restart count 0), with its log where kubelet puts it (/var/log/pods/...)
#   - an exec liveness probe and a readiness probe run in the container (through ExecSync)
#   - a container whose command exits is restarted per restartPolicy: a new container, attempt 1,
#     the old one kept as EXITED with its exit code
#   - editing the manifest replaces the pod (new sandbox and container, the old ones stopped)
#   - kill -9 of lxe while kubelet runs, then a restart: same init PID, same IDs, kubelet creates,
#     stops or removes nothing
#   - the same for a restart of the LXD daemon (SIGTERM leaves containers running; started again
#     with scripts/setup.sh --no-build)
#   - deleting the manifest removes every LXD object lxe made, through lxe
#
# At the end it lists every error line kubelet logged, grouped, and says which came while the run
# itself had lxe or LXD down. Errors about lxe outside those windows fail the run, the stats RPCs'
# (ListContainerStats, ListPodSandboxStats, ...) included.
#
# Usage: KUBELET=/path/to/kubelet scripts/kubelet-e2e.sh [LXE_BIN_DIR]  (default: build/bin)
#   KUBELET         a kubelet binary (1.31 was used); without it the script is skipped (exit 0)
#   STABLE_SECONDS  how long the pod must stay unchanged (default 120)
#   SOAK_SECONDS    after the checks, keep everything running this long and check again (default 0;
#                   600 gives the ten-minute run whose kubelet errors are counted at the end)
#   KEEP_LOGS=1     copy kubelet's and lxe's logs to /tmp/lxe-kubelet-e2e-logs.<tag> at the end
#
# Needs a running LXD with the `busybox` image alias (scripts/setup.sh), lxc and python3. Makes
# nothing outside its temp folder, LXD objects named <its prefix>-*, and kubelet's pod log folders
# /var/log/pods/<its namespace>_* (and their /var/log/containers links); removes all of it at the
# end, also after a failure, and sweeps what an earlier killed run left. Prints "N passed, M failed"
# last; exits non-zero when anything failed.
# shellcheck disable=SC2317  # cleanup and the wait_for predicates are called indirectly
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${1:-$repo/build/bin}
KUBELET=${KUBELET:-}
STABLE_SECONDS=${STABLE_SECONDS:-120}
SOAK_SECONDS=${SOAK_SECONDS:-0}

if [[ -z $KUBELET ]]; then
  echo "SKIP: KUBELET is not set; give a kubelet binary: KUBELET=/path/to/kubelet $0"
  exit 0
fi
for tool in lxc python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (scripts/setup.sh installs it); nothing to do"
    exit 0
  fi
done
for bin in "$KUBELET" "$bin_dir/lxe" "$bin_dir/lxe-ctl"; do
  if [[ ! -x $bin ]]; then
    echo "FAIL: $bin is not an executable (build lxe first: ninja -C build)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done
[[ $(id -u) -eq 0 ]] || { echo "FAIL: kubelet must run as root"; echo "0 passed, 1 failed"; exit 1; }

tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
work=$(mktemp -d /tmp/lxe-kubelet-e2e.XXXXXX)
echo "$$ $tag" >"$work/run"          # lets a later run sweep what a killed run left
prefix="lxekube-$tag"                # every LXD object lxe makes for this run
bridge="lxk$tag"                     # lxe's pod bridge for this run, on a /24 no host route covers
subnet=""
for _ in $(seq 1 50); do
  candidate="10.$((200 + RANDOM % 8)).$((RANDOM % 256))"
  if ! ip -4 route | grep -q "^$candidate\."; then subnet="$candidate.0/24"; break; fi
done
ns="lxe-e2e-$tag"                    # the pods' namespace: /var/log/pods/<ns>_*
node="lxe-e2e-$tag"                  # --hostname-override: static pod "web" is "web-<node>"
sock=$work/lxe.sock
db=$work/state/lxe.db
lxe_log=$work/lxe.log
kubelet_log=$work/kubelet.log
manifests=$work/manifests
lxe_pid=""
kubelet_pid=""
# shellcheck source=scripts/e2e-lib.sh
source "$repo/scripts/e2e-lib.sh"

# A line in kubelet's log (its stdout/stderr are appended to the same file), so that the error
# summary knows which errors came while the run itself had lxe or LXD down.
mark() { echo "### kubelet-e2e: $*" >>"$kubelet_log"; }

# ---------------------------------------------------------------------------- LXD objects, sweeps
# Removes everything a run with tag $1 and folder $2 made: LXD objects, pod logs, mounts, folder.
sweep_run() {
  local t=$1 dir=$2 kind name m
  while read -r kind name; do
    [[ $kind == instance ]] && lxc delete --force "$name" >/dev/null 2>&1
  done < <(lxd_objects "lxekube-$t-")
  while read -r kind name; do
    [[ $kind == profile ]] && lxc profile delete "$name" >/dev/null 2>&1
  done < <(lxd_objects "lxekube-$t-")
  lxc network delete "lxk$t" >/dev/null 2>&1
  rm -rf /var/log/pods/lxe-e2e-"$t"_* 2>/dev/null
  find /var/log/containers -maxdepth 1 -name "*_lxe-e2e-${t}_*" -delete 2>/dev/null
  # kubelet may have mounted volumes below its root folder: deepest first.
  while read -r m; do
    umount -l "$m" 2>/dev/null
  done < <(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf "$dir"
}

sweep_killed_runs() {
  local f pid t
  for f in /tmp/lxe-kubelet-e2e.*/run; do
    [[ -f $f && $f != "$work/run" ]] || continue
    read -r pid t <"$f" || continue
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then continue; fi
    echo "sweeping what a killed run left (tag $t, $(dirname "$f"))"
    sweep_run "$t" "$(dirname "$f")"
  done
}

stop_process() {  # pid, grace in tenths of a second
  local pid=$1 grace=${2:-100}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 "$grace"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$?
  set +e
  trap - ERR
  stop_process "$kubelet_pid" 100
  stop_process "$lxe_pid" 100
  if [[ -n $(lxd_objects "$prefix-") ]]; then
    echo "cleanup: deleting LXD objects this run left: $(lxd_objects "$prefix-" | awk '{print $2}' | tr '\n' ' ')"
  fi
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then
    mkdir -p "/tmp/lxe-kubelet-e2e-logs.$tag"
    cp "$kubelet_log" "$lxe_log" "/tmp/lxe-kubelet-e2e-logs.$tag/" 2>/dev/null
    echo "logs kept in /tmp/lxe-kubelet-e2e-logs.$tag"
  fi
  if [[ $rc -ne 0 ]]; then
    echo "--- last lines of the lxe log ---"
    tail -n 25 "$lxe_log" 2>/dev/null
    echo "--- last error lines of the kubelet log ---"
    grep '^E' "$kubelet_log" 2>/dev/null | tail -n 15
  fi
  sweep_run "$tag" "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "FAIL: unexpected error at line $LINENO: $BASH_COMMAND"; echo "$passed passed, $((failed + 1)) failed"' ERR

# ---------------------------------------------------------------------------- reading lxe's store
# What lxe's store says about pod $1 (its name in kubelet, i.e. "web-<node>"), one line each:
#   sandbox ID STATE ATTEMPT UID LXD_NAME
#   container ID SANDBOX_ID NAME ATTEMPT STATE EXIT_CODE RESTART_COUNT LXD_NAME LOG_PATH
# lxe-ctl reads the store read-only, so this never disturbs lxe or kubelet.
cat >"$work/pod.py" <<'PY'
import json, subprocess, sys
ctl, db, ns, pod = sys.argv[1:5]
def read(what):
    out = subprocess.run([ctl, "--db", db, what, "--json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[what]
sandboxes = {s["id"]: s for s in read("sandboxes")
             if s["metadata"]["namespace"] == ns and s["metadata"]["name"] == pod}
for s in sorted(sandboxes.values(), key=lambda s: s["createdAt"]):
    m = s["metadata"]
    print("sandbox", s["id"], s["state"], m["attempt"], m["uid"], s["lxdName"])
for c in sorted(read("containers"), key=lambda c: c["createdAt"]):
    if c["podSandboxId"] not in sandboxes:
        continue
    m = c["metadata"]
    print("container", c["id"], c["podSandboxId"], m["name"], m["attempt"], c["state"], c["exitCode"],
          c["annotations"].get("io.kubernetes.container.restartCount", "-"), c["lxdName"], c["logPath"] or "-")
PY
pod_state() { python3 "$work/pod.py" "$bin_dir/lxe-ctl" "$db" "$ns" "$1-$node" 2>/dev/null; }

# The init PID of LXD instance $1 (0 when it is not running or LXD does not answer).
init_pid() {
  lxc query "/1.0/instances/$1/state" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid") or 0)' 2>/dev/null || echo 0
}

# Lines of `pod_state` for pod $1 restricted to kind $2 and field $3 == $4.
ready_sandbox() { pod_state "$1" | awk '$1 == "sandbox" && $3 == "SANDBOX_READY" {print $2}'; }
running_container() { pod_state "$1" | awk -v s="$2" '$1 == "container" && $3 == s && $6 == "CONTAINER_RUNNING" {print $2}'; }

# ---------------------------------------------------------------------------- lxe and kubelet
serving_lines=0
start_lxe() {
  serving_lines=$(grep -c ' serving CRI ' "$lxe_log" 2>/dev/null || true)
  "$bin_dir/lxe" --socket "$sock" --db "$db" --lxd-name-prefix "$prefix" --network-plugin bridge \
    --bridge-name "$bridge" --bridge-subnet "$subnet" --bridge-nat=false --debug 2>>"$lxe_log" &
  lxe_pid=$!
}
# The lxe just started says it serves (a restarted one appends to the same log).
lxe_serving() {
  kill -0 "$lxe_pid" 2>/dev/null && [[ $(grep -c ' serving CRI ' "$lxe_log" 2>/dev/null || true) -gt $serving_lines ]]
}
lxe_lines() { wc -l <"$lxe_log"; }
# CRI calls that create, stop or remove something, in lxe's log after line $1.
lifecycle_calls_since() {
  tail -n +"$(($1 + 1))" "$lxe_log" |
    grep -oE '/runtime\.v1\.RuntimeService/(RunPodSandbox|StopPodSandbox|RemovePodSandbox|CreateContainer|StartContainer|StopContainer|RemoveContainer)' |
    sort | uniq -c | sed 's/^ *//' || true
}

# kubelet's only server here is its read-only port, on 127.0.0.1 (it answers /healthz). Builds
# that serve /healthz elsewhere get their healthz port on 127.0.0.1 too.
read_only_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
healthz_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_kubelet() {
  # Flags that work with lxe (docs/operating.md): the runtime and image endpoints are lxe's socket;
  # standalone (no --kubeconfig), static pods only; cgroupfs as lxe's RuntimeConfig reports; no
  # per-QoS cgroups or node allocatable enforcement (the pods' cgroups are LXD's); no server ports.
  "$KUBELET" \
    --container-runtime-endpoint="unix://$sock" --image-service-endpoint="unix://$sock" \
    --pod-manifest-path="$manifests" --file-check-frequency=2s \
    --root-dir="$work/kubelet" --cert-dir="$work/kubelet/pki" --volume-plugin-dir="$work/kubelet/volume-plugins" \
    --hostname-override="$node" --register-node=false \
    --fail-swap-on=false --cgroup-driver=cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= \
    --address=127.0.0.1 --port=0 --read-only-port="$read_only_port" \
    --healthz-bind-address=127.0.0.1 --healthz-port="$healthz_port" \
    --v=2 >>"$kubelet_log" 2>&1 &
  kubelet_pid=$!
}
kubelet_healthy() { python3 - "$read_only_port" <<'PY' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2).read() == b"ok" else 1)
PY
}

write_manifest() {  # name, then the pod spec's YAML (indented 2)
  local name=$1 spec=$2
  # Written next to the folder and moved in, so that kubelet never reads half a file.
  cat >"$work/$name.yaml.tmp" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: $ns
  labels:
    app: $name
spec:
$spec
EOF
  mv "$work/$name.yaml.tmp" "$manifests/$name.yaml"
}

web_spec() {  # $1: a value that changes the pod (editing the manifest)
  cat <<EOF
  restartPolicy: Always
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["/bin/sh", "-c", "echo started; touch /tmp/ready; while true; do echo tick; sleep 5; done"]
    env:
    - name: EDITION
      value: "$1"
    livenessProbe:
      exec:
        command: ["/bin/sh", "-c", "echo alive >> /tmp/liveness.log"]
      initialDelaySeconds: 1
      periodSeconds: 3
    readinessProbe:
      exec:
        command: ["/bin/sh", "-c", "test -f /tmp/ready && echo ready >> /tmp/readiness.log"]
      periodSeconds: 3
EOF
}

crash_spec() {
  cat <<'EOF'
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  containers:
  - name: once
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["/bin/sh", "-c", "echo bye; sleep 2; exit 3"]
EOF
}

# ============================================================================ the run
sweep_killed_runs
mkdir -p "$manifests" "$work/kubelet" "$(dirname "$db")"
: >"$kubelet_log"
echo "run $tag: LXD prefix $prefix-, namespace $ns, node $node, folder $work"
echo "kubelet: $("$KUBELET" --version 2>&1 | head -n 1)"

start_lxe
if wait_for 20 lxe_serving; then pass "lxe is up (socket $sock)"; else fail "lxe did not come up" "$(tail -n 20 "$lxe_log")"; fi
require "lxe"

start_kubelet
if wait_for 60 kubelet_healthy; then
  pass "kubelet is up (/healthz on its read-only port 127.0.0.1:$read_only_port)"
else
  fail "kubelet did not become healthy" "$(tail -n 30 "$kubelet_log")"
fi
require "kubelet"
if grep -q '"Using cgroup driver setting received from the CRI runtime" cgroupDriver="cgroupfs"' "$kubelet_log"; then
  pass "kubelet took its cgroup driver (cgroupfs) from lxe's RuntimeConfig"
elif grep -q 'RuntimeConfig OK' "$lxe_log"; then
  pass "lxe answered kubelet's RuntimeConfig (this kubelet does not log the driver it took)"
else
  fail "kubelet did not get a cgroup driver from lxe's RuntimeConfig" "$(grep -i 'cgroup driver' "$kubelet_log" | head -n 3)"
fi

# ---- a static pod reaches Running
write_manifest web "$(web_spec 1)"
web_running() { [[ -n $(ready_sandbox web) ]] && [[ -n $(running_container web "$(ready_sandbox web | head -n 1)") ]]; }
if wait_for 120 web_running; then
  pass "static pod web-$node is Running through lxe"
else
  fail "static pod web-$node did not reach Running within 120 s" "$(pod_state web; grep '^E' "$kubelet_log" | tail -n 10)"
fi
require "the static pod"
# The pod is on lxe's bridge: an address of the run's subnet, which kubelet took as the pod's IP.
web_ip=$("$bin_dir/lxe-ctl" --db "$db" pods --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sandboxes"]:
    if s["metadata"]["name"] == sys.argv[1] and s["state"] == "SANDBOX_READY":
        print(s["network"]["ip"])' "web-$node" 2>/dev/null | head -n 1)
if [[ -n $web_ip && $web_ip == "${subnet%.0/24}."* ]] && grep -q "$web_ip" "$kubelet_log"; then
  pass "the pod has $web_ip on lxe's bridge $bridge ($subnet), and kubelet logged it"
elif [[ -n $web_ip && $web_ip == "${subnet%.0/24}."* ]]; then
  pass "the pod has $web_ip on lxe's bridge $bridge ($subnet)"
else
  fail "the pod has no address of $subnet (got '$web_ip')"
fi
# kubelet's pods (a PID namespace per container, no host port) need no holder container: lxe pins
# their namespaces and CNI's bridge plugin puts them on its bridge.
read -r keeper web_lxd < <("$bin_dir/lxe-ctl" --db "$db" pods --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sandboxes"]:
    if s["metadata"]["name"] == sys.argv[1] and s["state"] == "SANDBOX_READY":
        print(s.get("podNamespaces", "-"), s["lxdName"])' "web-$node" 2>/dev/null | head -n 1)
if [[ $keeper == pinned ]] && ! lxc query "/1.0/instances/$web_lxd" >/dev/null 2>&1; then
  pass "lxe pinned the pod's namespaces: no holder container in LXD"
else
  fail "the pod's namespaces are not pinned (keeper '$keeper', LXD instance $web_lxd: $(lxc query "/1.0/instances/$web_lxd" >/dev/null 2>&1 && echo present || echo absent))"
fi
snapshot() { pod_state "$1" | awk '{print $1, $2, $3, $4, $5, $6, $7, $8}'; }
first=$(snapshot web)
sandbox_id=$(ready_sandbox web | head -n 1)
container_line=$(pod_state web | awk '$1 == "container"' | head -n 1)
read -r _ container_id _ _ attempt _ _ restarts instance log_path <<<"$container_line"
if [[ $(pod_state web | grep -c '^sandbox') -eq 1 && $(pod_state web | grep -c '^container') -eq 1 &&
      $attempt == 0 && $restarts == 0 ]]; then
  pass "one sandbox, one container, attempt 0, restart count 0"
else
  fail "expected one sandbox and one container at attempt 0, restart count 0" "$(pod_state web)"
fi

# ---- logs where kubelet puts them
case $log_path in
  /var/log/pods/"${ns}_web-${node}_"*/app/0.log)
    if wait_for 10 grep -q ' stdout F started$' "$log_path"; then
      pass "the container's log is at $log_path, in CRI format"
    else
      fail "$log_path lacks the container's 'started' line" "$(head -n 5 "$log_path" 2>&1)"
    fi ;;
  *) fail "log path '$log_path' is not kubelet's /var/log/pods/${ns}_web-${node}_<uid>/app/0.log" ;;
esac

# ---- probes run in the container through ExecSync
probe_count() { lxc exec "$instance" -- /bin/sh -c "wc -l < /tmp/$1.log" 2>/dev/null | tr -d ' ' || echo 0; }
probes_ran() { [[ $(probe_count liveness) -ge 2 && $(probe_count readiness) -ge 2 ]]; }
if wait_for 30 probes_ran; then
  pass "liveness and readiness probes ran in the container ($(probe_count liveness) and $(probe_count readiness) times so far)"
else
  fail "the exec probes did not run in the container" "liveness: $(probe_count liveness), readiness: $(probe_count readiness)"
fi
if grep -q '/runtime.v1.RuntimeService/ExecSync OK' "$lxe_log"; then
  pass "the probes came through lxe's ExecSync ($(grep -c '/runtime.v1.RuntimeService/ExecSync OK' "$lxe_log") OK calls)"
else
  fail "lxe logged no successful ExecSync"
fi
if wait_for 30 grep -qE '"SyncLoop \(probe\)" probe="readiness" status="ready" pod="'"$ns/web-$node"'"' "$kubelet_log"; then
  pass "kubelet marked the container ready"
else
  fail "kubelet did not log the container as ready"
fi

# ---- stable for STABLE_SECONDS: same sandbox, same container, nothing restarted
pid=$(init_pid "$instance")
mark "stability watch"
lines=$(lxe_lines)
stable=1
for ((t = 0; t < STABLE_SECONDS; t += 10)); do
  sleep 10
  now=$(snapshot web)
  if [[ $now != "$first" ]]; then
    stable=0
    fail "the pod changed after ${t}s" "$(printf 'before:\n%s\nnow:\n%s' "$first" "$now")"
    break
  fi
done
if [[ $stable -eq 1 ]]; then
  if [[ $(init_pid "$instance") == "$pid" && -z $(lifecycle_calls_since "$lines") ]]; then
    pass "the pod stayed on sandbox ${sandbox_id:0:13} and container ${container_id:0:13} for ${STABLE_SECONDS}s (init PID $pid, no lifecycle call)"
  else
    fail "the pod's IDs held, but its init PID or lxe's calls did not" \
      "init PID $pid -> $(init_pid "$instance"); calls: $(lifecycle_calls_since "$lines")"
  fi
fi

# ---- a container that exits is restarted per restartPolicy
write_manifest crash "$(crash_spec)"
restarted() { pod_state crash | awk '$1 == "container" && $5 == 1' | grep -q .; }
if wait_for 90 restarted; then
  first_exit=$(pod_state crash | awk '$1 == "container" && $5 == 0')
  read -r _ _ _ _ _ st code _ _ _ <<<"$first_exit"
  second=$(pod_state crash | awk '$1 == "container" && $5 == 1')
  read -r _ _ _ _ _ _ _ rc2 _ _ <<<"$second"
  if [[ $st == CONTAINER_EXITED && $code == 3 && $rc2 == 1 && $(pod_state crash | grep -c '^sandbox') -eq 1 ]]; then
    pass "kubelet restarted the exited container: attempt 1 (restart count 1) in the same sandbox, attempt 0 kept as EXITED (exit code 3)"
  else
    fail "the restart did not look as kubelet does it" "$(pod_state crash)"
  fi
else
  fail "kubelet did not restart the container that exited within 90 s" "$(pod_state crash)"
fi
rm -f "$manifests/crash.yaml"

# ---- editing the manifest replaces the pod
old_sandbox=$sandbox_id
write_manifest web "$(web_spec 2)"
replaced() {
  local s
  s=$(ready_sandbox web)
  [[ -n $s && $s != "$old_sandbox" && $(wc -l <<<"$s") -eq 1 ]] && [[ -n $(running_container web "$s") ]]
}
if wait_for 120 replaced; then
  new_uid=$(pod_state web | awk -v s="$(ready_sandbox web)" '$1 == "sandbox" && $2 == s {print $5}')
  old_uid=$(pod_state web | awk -v s="$old_sandbox" '$1 == "sandbox" && $2 == s {print $5}')
  old_gone_or_stopped=$(pod_state web | awk -v s="$old_sandbox" '$1 == "sandbox" && $2 == s && $3 == "SANDBOX_READY"')
  if [[ -z $old_gone_or_stopped && ${new_uid:-x} != "${old_uid:-y}" ]]; then
    pass "editing the manifest replaced the pod (new uid, new sandbox Running; the old one stopped or removed)"
  else
    fail "after the edit, the old sandbox is still ready" "$(pod_state web)"
  fi
else
  fail "editing the manifest did not replace the pod within 120 s" "$(pod_state web)"
fi
sandbox_id=$(ready_sandbox web | head -n 1)
container_line=$(pod_state web | awk -v s="$sandbox_id" '$1 == "container" && $3 == s' | tail -n 1)
read -r _ container_id _ _ attempt _ _ restarts instance log_path <<<"$container_line"
require "the edited pod"

# Once kubelet settled the edit, the pod must hold still: the check after each disruption.
held() {  # label, lxe log line to count calls from, init PID before
  local label=$1 from=$2 before=$3 now_pid calls now
  now_pid=$(init_pid "$instance")
  calls=$(lifecycle_calls_since "$from")
  now=$(pod_state web | awk -v s="$sandbox_id" '($1 == "sandbox" && $2 == s) || ($1 == "container" && $3 == s)')
  if [[ $now_pid == "$before" && -z $calls &&
        $(grep -c "^sandbox $sandbox_id SANDBOX_READY" <<<"$now") -eq 1 &&
        $(grep -c "^container $container_id $sandbox_id app $attempt CONTAINER_RUNNING" <<<"$now") -eq 1 &&
        $(grep -c '^container' <<<"$now") -eq 1 ]]; then
    pass "$label: the container kept init PID $before and its ID, the sandbox its ID; kubelet created, stopped or removed nothing"
  else
    fail "$label: something restarted" "$(printf 'init PID %s -> %s\nlifecycle calls since: %s\n%s' "$before" "$now_pid" "$calls" "$now")"
  fi
}
# kubelet removes the old pod's sandbox and the crash pod in its garbage collection (every
# minute): wait for that, so that from here on any create, stop or removal would be about the pod
# that must hold still.
only_the_new_pod() {
  [[ -z $(pod_state crash) && $(pod_state web | grep -c '^sandbox') -eq 1 && $(pod_state web | grep -c '^container') -eq 1 ]]
}
if wait_for 150 only_the_new_pod; then
  pass "kubelet removed the replaced pod and the deleted crash pod through lxe"
else
  fail "the replaced or the deleted pod is still in lxe's store after 150 s" "$(pod_state web; pod_state crash)"
fi
require "the old pods' removal"

# ---- kill -9 of lxe while kubelet runs
pid=$(init_pid "$instance")
lines=$(lxe_lines)
mark "lxe down"
kill -KILL "$lxe_pid"
wait "$lxe_pid" 2>/dev/null || true
sleep 5
start_lxe
if wait_for 20 lxe_serving; then pass "lxe is back after kill -9"; else fail "lxe did not come back after kill -9" "$(tail -n 20 "$lxe_log")"; fi
# kubelet asks for Status every 5 s and acts on the last answer in between: it may say "runtime
# down" for a few seconds more. The window this run caused closes after that.
sleep 10
mark "lxe up"
sleep 50
held "kill -9 of lxe, 5 s down, then 60 s under kubelet" "$lines" "$pid"

# ---- a restart of the LXD daemon
pid=$(init_pid "$instance")
lines=$(lxe_lines)
lxd_pid=$(lxc query /1.0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["environment"]["server_pid"])')
answers_before=$(grep -c 'LXD .* answers on' "$lxe_log" || true)
mark "LXD down"
kill -TERM "$lxd_pid"
lxd_gone() { ! kill -0 "$lxd_pid" 2>/dev/null; }
wait_for 60 lxd_gone || true
sleep 5
if "$repo/scripts/setup.sh" --no-build >"$work/setup.log" 2>&1; then
  pass "the LXD daemon was restarted (pid $lxd_pid -> $(lxc query /1.0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["environment"]["server_pid"])'))"
else
  fail "LXD did not come back" "$(tail -n 20 "$work/setup.log")"
fi
require "LXD"
lxe_sees_lxd() { [[ $(grep -c 'LXD .* answers on' "$lxe_log" || true) -gt $answers_before ]]; }
wait_for 60 lxe_sees_lxd || true
sleep 10  # as after lxe's restart: kubelet's last Status answer may still say "not ready"
mark "LXD up"
sleep 50
held "LXD daemon restart, then 60 s under kubelet" "$lines" "$pid"

# ---- soak
if [[ $SOAK_SECONDS -gt 0 ]]; then
  pid=$(init_pid "$instance")
  lines=$(lxe_lines)
  mark "soak"
  sleep "$SOAK_SECONDS"
  held "${SOAK_SECONDS}s more under kubelet" "$lines" "$pid"
fi

# ---- deleting the manifest removes everything lxe made
rm -f "$manifests/web.yaml"
mark "manifests deleted"
store_empty() { [[ -z $(pod_state web) && -z $(pod_state crash) ]]; }
# (The instances lxe keeps ready for the next container, --ready-instances, stay while it runs.)
all_gone() { [[ -z $(lxd_objects_but_ready "$prefix-") ]] && store_empty; }
# kubelet stops a deleted pod at once and removes its sandboxes in its next garbage collection
# (every minute).
if wait_for 180 all_gone; then
  pass "deleting the manifests removed every pod, container and LXD object through lxe"
else
  fail "objects are left after the manifests were deleted" "$(lxd_objects_but_ready "$prefix-"; pod_state web; pod_state crash)"
fi
removals=$(grep -cE '/runtime\.v1\.RuntimeService/RemovePodSandbox OK' "$lxe_log" || true)
echo "      lxe served $(grep -cE '/runtime\.v1\.RuntimeService/StopPodSandbox OK' "$lxe_log" || true) StopPodSandbox and $removals RemovePodSandbox calls, all OK: $(! grep -qE '/runtime\.v1\.RuntimeService/(Stop|Remove)PodSandbox [0-9]' "$lxe_log" && echo yes || echo no)"

# ---- kubelet's errors
errors_rc=0
python3 - "$kubelet_log" >"$work/errors.txt" <<'PY' || errors_rc=$?
import collections, re, sys
window = None          # "lxe down" / "LXD down" while the run itself caused it
groups = collections.OrderedDict()
startup = re.compile(r"(may not have completed yet|pleg has yet to be successful)")
# kubelet keeps probing readiness while it stops a pod, and both its pod deleter and its garbage
# collector remove dead containers: an exec into a container that just stopped, or the status of
# one just removed, gets FailedPrecondition or NotFound, as from any runtime.
race = re.compile(r"(code = FailedPrecondition desc = ExecSync: container \w+ is not running"
                  r"|ContainerStatus from runtime service failed.*code = NotFound desc = container \w+ not found)")
about_lxe = re.compile(r"(rpc error|runtime\.v1|CRI|container runtime|remote_runtime|remote_image|lxe)", re.I)
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("### kubelet-e2e: "):
        what = line.split(": ", 1)[1].strip()
        window = what if what in ("lxe down", "LXD down") else None
        continue
    if not line.startswith("E"):
        continue
    m = re.match(r"E\d{4} [\d:.]+\s+\d+ (\S+)\] (.*)", line)
    where, text = (m.group(1), m.group(2)) if m else ("?", line.strip())
    msg = re.match(r'"((?:[^"\\]|\\.)*)"', text)
    key = (where, msg.group(1) if msg else text[:100])
    if window:
        kind = "while " + window + " (caused by this run)"
    elif startup.search(text):
        kind = "kubelet start-up (before its first relist and stats)"
    elif race.search(text):
        kind = "kubelet racing its own stop or removal (lxe's answer is right)"
    elif about_lxe.search(text):
        kind = "ABOUT LXE"
    else:
        kind = "other"
    g = groups.setdefault((kind,) + key, {"count": 0, "example": text[:300]})
    g["count"] += 1
total = sum(g["count"] for g in groups.values())
print(f"kubelet logged {total} error line(s)")
for (kind, where, msg), g in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[1]["count"])):
    print(f"  {g['count']:5d}  [{kind}] {where}: {msg}")
bad = sum(g["count"] for (kind, _, _), g in groups.items() if kind == "ABOUT LXE")
for (kind, where, msg), g in groups.items():
    if kind == "ABOUT LXE":
        print(f"  example: {g['example']}")
sys.exit(1 if bad else 0)
PY
cat "$work/errors.txt"
if [[ $errors_rc -eq 0 ]]; then
  pass "kubelet logged no error about lxe outside the windows this run caused (stats RPCs included)"
else
  fail "kubelet logged errors about lxe (see ABOUT LXE above)"
fi

finish
