// A pod's sysctls (LinuxPodSandboxConfig.sysctls): which ones lxe applies, and how they reach LXC.
//
// Only namespaced sysctls are accepted, the ones Kubernetes itself lets pods set: kernel.shm*,
// kernel.msg*, kernel.sem and fs.mqueue.* (the IPC namespace) and net.* (the network namespace).
// Anything else would change the whole node, and is refused rather than ignored. They are applied
// by LXC (`lxc.sysctl.<key> = <value>` in raw.lxc) in the namespaces of every container of the
// pod and of its namespace holder, before the container's process starts.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "runtime/v1/api.pb.h"

namespace lxe::model {

// `key` with '.' separators ("net.ipv4.ip_forward"), as LXC takes it. A key written with '/'
// ("net/ipv4/ip_forward") is converted; "" when it cannot be (a '/' form with a '.' inside a part,
// such as an interface "eth0.100", which LXC would read as two parts).
std::string dotted_sysctl(std::string_view key);

// Why the sysctl `key` = `value` cannot be applied to a pod, as a phrase for an INVALID_ARGUMENT
// message; "" when it can. `host_network`: the pod is in the node's network namespace, where net.*
// would change the node's own settings; `host_ipc` the same for the IPC namespace and the others.
std::string sysctl_problem(std::string_view key, std::string_view value, bool host_network, bool host_ipc = false);

// The pod's sysctls, dotted and sorted (for a stable raw.lxc). Assumes sysctl_problem accepted them.
std::map<std::string, std::string> pod_sysctls(const runtime::v1::PodSandboxConfig& config);

// raw.lxc lines that apply them ("" for none): the network ones (net.*) with `network`, the IPC
// ones with `ipc`. A container applies them only where it may: in namespaces its own user
// namespace owns (the pod's, when it shares the holder's user namespace, or its own IPC one).
std::string sysctl_raw_lxc(const runtime::v1::PodSandboxConfig& config, bool network = true, bool ipc = true);

}  // namespace lxe::model
