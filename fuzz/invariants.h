// What every LXD object, file and name lxe builds from an accepted CRI request must look like, as
// the request fuzzer (fuzz/requests_fuzzer.cc) checks it. The checks are written apart from the
// code they check (naming.cc, lxd_specs.cc), from what LXD and liblxc do with the values:
//
//   - LXD 5.0 writes instance config (environment.*, raw.lxc, limits.*) and disk devices into the
//     container's lxc.conf one `key = value` line each, unquoted: a control character there, above
//     all a line break, adds LXC configuration of the caller's choosing. Only raw.lxc has line
//     breaks, and then only between the lines lxe means to write.
//   - LXD refuses names that are not hostnames of at most 63 characters, and config values it
//     cannot parse; it parses a cpuset by listing every CPU of every range (so "0-9999999999" would
//     have LXD allocate billions of entries).
//
// Each check returns the violations it found, in words; empty when everything holds. The fuzzer
// aborts on any, the unit tests (tests/unit/fuzz_invariants_test.cc) show that each check fires.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lxd/types.h"

namespace lxe::fuzz {

using Violations = std::vector<std::string>;

// The largest CPU (or NUMA node) count Linux supports (NR_CPUS on x86_64 is at most 8192).
inline constexpr int64_t kMaxCpus = 8192;

// An RFC 1123 hostname of at most 63 characters (what raw.lxc's lxc.uts.name may hold).
bool is_hostname(std::string_view name);

// A cpuset as LXD parses it for limits.cpu ("0-3,8"): numbers and low-high ranges, comma separated,
// low <= high, every CPU below kMaxCpus and at most kMaxCpus of them listed.
bool is_cpuset(std::string_view cpus);

// A NUL byte, a C0 control character (line breaks included) or DEL.
bool has_control_character(std::string_view value);

// What the checks know of the request an object was built from.
struct Expected {
  std::string lxd_name_prefix;  // every LXD name starts with "<prefix>-"
  std::string id;               // the record's ID: the name ends with its first 12 hex digits
  // Containers: the config's environment variable names (environment.<name> keys come from them),
  // whether lxe-init runs (lxc.init.cmd), the holder PID whose namespaces are shared (0: none).
  std::set<std::string> env_names;
  bool runs_lxe_init = false;
  int64_t infra_pid = 0;
  // A host network pod (NamespaceMode NODE): its instances join this namespace file (and bind the
  // host's /sys) instead of the holder's namespaces. Empty: the pod's own network namespace.
  std::string host_netns;
  // Host PID / IPC (NODE): the namespace file the instance joins ("" when it does not). Otherwise a
  // container joins the holder's PID / IPC namespace when these say so (POD), else has its own.
  std::string host_pidns;
  std::string host_ipcns;
  bool pid_from_holder = false;
  bool ipc_from_holder = false;
  // The pod's sysctls as LXC takes them (parts joined with '.'): one `lxc.sysctl.<name> = <value>`
  // line each, in every instance of the pod, and no other lxc.sysctl line.
  std::map<std::string, std::string> sysctls;
  // Containers: no seccomp filter asked for (Unconfined, none, or privileged), so the instance has
  // LXD's default denylist off (security.syscalls.deny_default = false), and only then.
  bool unconfined_seccomp = false;
};

// An LXD instance or profile name lxe made.
Violations check_lxd_name(const std::string& name, const Expected& expected);

// The pod's profile (ownership marks and the resolv.conf device only).
Violations check_profile(const lxd::ProfileSpec& spec, const Expected& expected);
// The pod's namespace holder.
Violations check_infra_instance(const lxd::InstanceSpec& spec, const Expected& expected);
// A container's instance: names, config keys and values, raw.lxc, devices.
Violations check_container_instance(const lxd::InstanceSpec& spec, const Expected& expected);

// The raw.lxc of a container (or, with `holder`, of a namespace holder): exactly the lines lxe
// writes, each `lxc.<key> = <value>` with a key lxe emits, once.
Violations check_raw_lxc(const std::string& raw, const Expected& expected, bool holder);

// limits.* keys and values as lxe sends them (an empty value clears a key).
Violations check_limits(const lxd::Config& limits);

// lxe-init's spec.json as written to the container's state directory: valid JSON of the shape
// lxe-init reads, with no NUL byte in what it hands to execve.
Violations check_init_spec(const std::string& text);

// A container's log file on the host (ContainerRecord::log_path, "" for none): a file strictly inside
// the pod's log_directory, which lxe creates and whose directory it mounts at /.lxe/log.
Violations check_log_path(const std::string& log_path, const std::string& log_directory);

// A pod's resolv.conf: `nameserver`, `search` and `options` lines only.
Violations check_resolv_conf(const std::string& text);

}  // namespace lxe::fuzz
