#!/usr/bin/env bash
# Pod networking end to end through crictl, once with lxe's bridge and once with CNI (Debian's
# bridge, host-local and portmap plugins in /usr/lib/cni). For each mode it starts its own lxe
# (temp socket and store, its own LXD name prefix, a bridge and a /24 of its own), then:
#   two pods get distinct IPs (inspectp); a server in one answers the host and the other pod;
#   hostPort (12000 when free) -> container port 80 answers on 127.0.0.1; a host network pod
#   sees the host's interfaces; kill -9 of lxe and a restart keep the IPs and the server (and, with
#   CNI, run no second ADD); stopp releases the IP and the port.
# Everything it makes is removed at the end, also after a failure.
#
# Usage: scripts/crictl-network-e2e.sh [BIN_DIR]   (BIN_DIR: where lxe and lxe-ctl are; build/bin)
# Prints "SKIP: ..." when crictl or the CNI plugins are missing.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${1:-$repo/build/bin}
if ! command -v crictl >/dev/null 2>&1; then
  echo "SKIP: crictl is not installed"
  exit 0
fi
if [[ ! -x /usr/lib/cni/bridge ]]; then
  echo "SKIP: Debian's containernetworking-plugins are not installed (/usr/lib/cni)"
  exit 0
fi
# shellcheck source=scripts/e2e-lib.sh
source "$repo/scripts/e2e-lib.sh"

work=$(mktemp -d /tmp/lxe-net-e2e.XXXXXX)
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
lxe_pid=""
prefix=""
lxd_bridge=""
cni_bridge=""

stop_lxe() {
  if [[ -n $lxe_pid ]] && kill -0 "$lxe_pid" 2>/dev/null; then
    kill -TERM "$lxe_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$lxe_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$lxe_pid" 2>/dev/null
  fi
  wait "$lxe_pid" 2>/dev/null
  lxe_pid=""
}

# Removes the mode's pods through lxe (so CNI DEL runs), then whatever carries its prefix.
clean_mode() {
  if [[ -n $lxe_pid ]]; then
    timeout 90 crictl --config "$work/crictl.yaml" --timeout 30s rmp -f -a >/dev/null 2>&1
    stop_lxe
  fi
  if [[ -n $prefix ]]; then
    local kind name
    while read -r kind name; do
      [[ $kind == instance ]] && lxc delete --force "$name" >/dev/null 2>&1
    done < <(lxd_objects "$prefix-")
    while read -r kind name; do
      [[ $kind == profile ]] && lxc profile delete "$name" >/dev/null 2>&1
    done < <(lxd_objects "$prefix-")
  fi
  if [[ -n $lxd_bridge ]]; then lxc network delete "$lxd_bridge" >/dev/null 2>&1; lxd_bridge=""; fi
  if [[ -n $cni_bridge && -e /sys/class/net/$cni_bridge ]]; then ip link delete "$cni_bridge" 2>/dev/null; fi
  cni_bridge=""
  prefix=""
}

cleanup() {
  local rc=$?
  set +e
  clean_mode
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

crictl_() { crictl --config "$work/crictl.yaml" --timeout 60s "$@"; }

# A /24 in 10.200.0.0/13 that no route of this host covers.
free_subnet() {
  local candidate
  for _ in $(seq 1 50); do
    candidate="10.$((200 + RANDOM % 8)).$((RANDOM % 256))"
    if ! ip -4 route | grep -q "^$candidate\."; then
      echo "$candidate.0/24"
      return
    fi
  done
  return 1
}

# 12000 (the port the issue names) when nothing listens there, else a random free one.
free_port() {
  local port=12000
  while ss -Htln "sport = :$port" | grep -q .; do port=$((20000 + RANDOM % 20000)); done
  echo "$port"
}

pod_ip() {
  local ip
  ip=$(crictl_ inspectp -o go-template --template '{{.status.network.ip}}' "$1" 2>/dev/null)
  [[ $ip == "<no value>" ]] && ip=""
  echo "$ip"
}
fetch() { curl -s -m 3 "$1" 2>/dev/null; }

start_lxe() {
  "$bin_dir/lxe" --socket "$work/lxe.sock" --db "$work/state/lxe.db" --lxd-name-prefix "$prefix" \
    --host-netns "/proc/$$/ns/net" "$@" --debug 2>>"$work/lxe.log" &
  lxe_pid=$!
  for _ in $(seq 1 75); do
    kill -0 "$lxe_pid" 2>/dev/null || return 1
    [[ -S $work/lxe.sock ]] && crictl_ version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

run_mode() {
  local mode=$1
  prefix="lxenet$tag${mode:0:1}"
  local subnet port
  subnet=$(free_subnet) || { fail "$mode: no free /24 in 10.200.0.0/13"; return; }
  port=$(free_port)
  rm -f "$work/lxe.sock" "$work/lxe.log"
  rm -rf "$work/state" "$work/ipam" "$work/net.d"
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n' "$work/lxe.sock" "$work/lxe.sock" \
    >"$work/crictl.yaml"
  local flags=()
  if [[ $mode == bridge ]]; then
    lxd_bridge="${prefix}b"
    flags=(--network-plugin bridge --bridge-name "$lxd_bridge" --bridge-subnet "$subnet" --bridge-nat=false)
  else
    cni_bridge="lxn$tag"
    mkdir -p "$work/net.d"
    cat >"$work/net.d/10-e2e.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "lxe-e2e", "plugins": [
  {"type": "bridge", "bridge": "$cni_bridge", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$subnet"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$work/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}]}
EOF
    flags=(--network-plugin cni --cni-conf-dir "$work/net.d" --cni-bin-dir /usr/lib/cni)
  fi
  if start_lxe "${flags[@]}"; then
    pass "$mode: lxe is up (subnet $subnet)"
  else
    fail "$mode: lxe did not come up" "$(tail -n 20 "$work/lxe.log")"
    return
  fi

  local uid="net-$tag-$mode"
  cat >"$work/pod-a.json" <<EOF
{"metadata": {"name": "web", "namespace": "e2e", "uid": "$uid-a"}, "log_directory": "$work/logs",
 "port_mappings": [{"protocol": 0, "container_port": 80, "host_port": $port}]}
EOF
  cat >"$work/pod-b.json" <<EOF
{"metadata": {"name": "client", "namespace": "e2e", "uid": "$uid-b"}, "log_directory": "$work/logs"}
EOF
  cat >"$work/pod-h.json" <<EOF
{"metadata": {"name": "hostnet", "namespace": "e2e", "uid": "$uid-h"}, "log_directory": "$work/logs",
 "linux": {"security_context": {"namespace_options": {"network": 2}}}}
EOF
  cat >"$work/web.json" <<'EOF'
{"metadata": {"name": "web"}, "image": {"image": "busybox"}, "log_path": "web.log",
 "command": ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]}
EOF
  cat >"$work/sleep.json" <<'EOF'
{"metadata": {"name": "sleeper"}, "image": {"image": "busybox"}, "log_path": "sleeper.log", "command": ["sleep", "3600"]}
EOF
  local a b h web client host_c ip_a ip_b
  a=$(crictl_ runp "$work/pod-a.json" 2>&1) && b=$(crictl_ runp "$work/pod-b.json" 2>&1) ||
    { fail "$mode: runp" "$a $b"; return; }
  ip_a=$(pod_ip "$a")
  ip_b=$(pod_ip "$b")
  if [[ -n $ip_a && -n $ip_b && $ip_a != "$ip_b" ]]; then
    pass "$mode: two pods, distinct IPs $ip_a and $ip_b (inspectp)"
  else
    fail "$mode: pod IPs '$ip_a' and '$ip_b'"
  fi
  web=$(crictl_ create "$a" "$work/web.json" "$work/pod-a.json" 2>&1) && crictl_ start "$web" >/dev/null 2>&1 &&
    client=$(crictl_ create "$b" "$work/sleep.json" "$work/pod-b.json" 2>&1) && crictl_ start "$client" >/dev/null 2>&1 ||
    { fail "$mode: create/start" "$web $client"; return; }
  if wait_for 15 fetch "http://$ip_a/" >/dev/null && [[ $(fetch "http://$ip_a/") == hello-from-web ]]; then
    pass "$mode: the server in pod a answers the host on $ip_a:80"
  else
    fail "$mode: the host got no answer from $ip_a:80"
  fi
  local out
  out=$(crictl_ exec -s --timeout 10 "$client" wget -q -O - "http://$ip_a/" 2>&1)
  if [[ $out == hello-from-web ]]; then pass "$mode: pod b reaches pod a by IP"; else fail "$mode: pod b -> pod a" "$out"; fi
  if [[ $(fetch "http://127.0.0.1:$port/") == hello-from-web ]]; then
    pass "$mode: hostPort $port -> container port 80 answers on 127.0.0.1:$port"
  else
    fail "$mode: nothing on 127.0.0.1:$port"
  fi

  local host_if
  # The default route's interface: other runs' bridges and veths come and go meanwhile.
  host_if=$(ip -4 route show default | awk '{print $5; exit}')
  [[ -n $host_if ]] || host_if=lo
  if h=$(crictl_ runp "$work/pod-h.json" 2>&1) && host_c=$(crictl_ create "$h" "$work/sleep.json" "$work/pod-h.json" 2>&1) &&
    crictl_ start "$host_c" >/dev/null 2>&1 && out=$(crictl_ exec -s "$host_c" ls /sys/class/net 2>&1) &&
    grep -qx "$host_if" <<<"$out"; then
    pass "$mode: a host network pod sees the host's interfaces ($host_if)"
  else
    fail "$mode: host network pod" "$h $host_c $out"
  fi

  # kill -9 of lxe, then a new one.
  kill -KILL "$lxe_pid"
  wait "$lxe_pid" 2>/dev/null
  lxe_pid=""
  sleep 2
  start_lxe "${flags[@]}" || { fail "$mode: lxe did not come back" "$(tail -n 20 "$work/lxe.log")"; return; }
  if [[ $(pod_ip "$a") == "$ip_a" && $(pod_ip "$b") == "$ip_b" && $(fetch "http://$ip_a/") == hello-from-web &&
    $(fetch "http://127.0.0.1:$port/") == hello-from-web ]]; then
    pass "$mode: after kill -9 of lxe: same IPs, the server and the host port answer"
  else
    fail "$mode: after kill -9 of lxe: IPs $(pod_ip "$a") $(pod_ip "$b")"
  fi
  if [[ $mode == cni ]]; then
    local adds
    adds=$("$bin_dir/lxe-ctl" --db "$work/state/lxe.db" events -o json 2>/dev/null | grep -o '"action": *"network-add"' |
      wc -l)
    if [[ $adds -eq 2 ]]; then pass "cni: ADD ran once per pod (2), none after the restart"; else fail "cni: $adds ADDs"; fi
  fi

  if crictl_ stopp "$a" >/dev/null 2>&1 && [[ -z $(pod_ip "$a") ]] && [[ -z $(fetch "http://127.0.0.1:$port/") ]]; then
    pass "$mode: stopp released the IP and the host port"
  else
    fail "$mode: after stopp: IP '$(pod_ip "$a")'"
  fi
  if [[ $mode == cni && -n $(ls "$work/ipam/lxe-e2e" 2>/dev/null | grep -x "$ip_a") ]]; then
    fail "cni: host-local still holds $ip_a after stopp"
  fi
  clean_mode
}

run_mode bridge
run_mode cni
finish
