// Checks for CRI strings that reach LXD's configuration (environment.* keys, disk devices, limits,
// raw.lxc) or a file that lxe-init or the container reads. LXD 5.0 copies most of them into the
// container's lxc.conf line by line, unquoted: a line break there starts a new LXC config line
// (an environment variable's name once smuggled in an `lxc.mount.entry` of the host's /etc). Each
// returns the problem as a phrase for an INVALID_ARGUMENT message, or "" when there is none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/v1/api.pb.h"

namespace lxe::cri {

// A NUL byte, a line break or another control character (C0 or DEL).
std::string control_character_problem(std::string_view value);

// A NUL byte alone: for strings that only lxe-init reads, as JSON, and hands to execve (a
// container's command and args, where a line break is an ordinary part of a shell script).
std::string nul_problem(std::string_view value);

// The streams an Exec or Attach asks for, as kubelet's streaming server checks them: at least
// one, and no stderr beside a tty (a terminal merges it into stdout).
std::string stream_choice_problem(bool tty, bool in, bool out, bool err);

// An environment variable's name: not empty, no '=', no control character.
std::string env_name_problem(std::string_view name);

// Linux supports at most this many CPUs (NR_CPUS, 8192 on x86_64 with MAXSMP).
inline constexpr int64_t kMaxCpus = 8192;

// A cpuset list as the kernel writes it ("0-3,8,10-11"): CPU numbers and low-high ranges, comma
// separated, every number below kMaxCpus and at most kMaxCpus CPUs listed. LXD parses limits.cpu by
// listing every CPU of every range, so a range such as "0-9999999999" would have it allocate
// billions of entries. "" (not set) is fine.
std::string cpuset_problem(std::string_view cpus);

// One CRI mount (mounts[`index`]) on its own, as kubelet sends them: host_path and container_path
// absolute (a relative host path would be taken from lxe's working directory), recursive_read_only
// only with readonly (CRI's contract), no control character in either path, not an image volume
// (lxe has none). container_config_problem adds what concerns the mounts together (the root, /.lxe,
// two at one place). Whether host_path exists is the caller's to check (a missing one is created,
// as containerd does).
std::string mount_problem(const runtime::v1::Mount& mount, int index);

// Every string of a container's config that lxe passes on: its name, image, command, args,
// working directory, environment, mounts, log path and cpusets. "" when all are acceptable;
// otherwise which field (and which variable or mount) and what is wrong with it.
std::string container_config_problem(const runtime::v1::ContainerConfig& config);

// The cpusets of a resources message (CreateContainer's and UpdateContainerResources').
std::string resources_problem(const runtime::v1::LinuxContainerResources& resources);

// The checks of whole requests, made before anything is stored. Each returns "" or the problem,
// which the handler prefixes with the call's name for its INVALID_ARGUMENT message. They live here,
// apart from the handlers, so that the request fuzzer (fuzz/) runs exactly what the facade runs.

// RunPodSandbox: metadata present and free of control characters, an absolute log_directory, a
// valid hostname, DNS entries without whitespace, namespaced sysctls only (model/sysctls.h), the
// default runtime handler.
// The pod's host ports (PortMapping with a host_port): ports, TCP or UDP, a literal host IP, each
// published once.
std::string port_mappings_problem(const runtime::v1::PodSandboxConfig& config);

std::string run_pod_sandbox_problem(const runtime::v1::RunPodSandboxRequest& request);

// CreateContainer: a sandbox ID, metadata, an image, and container_config_problem (which checks
// the mounts).
std::string create_container_problem(const runtime::v1::CreateContainerRequest& request);

// CreateContainer's log file: `log_path` inside the sandbox's `log_directory`. Sets `full` to the
// joined path ("" when log_path is empty) or returns why the pair is refused (a log_path without a
// log_directory, an absolute one, or one that leads outside the directory).
std::string log_path_problem(const std::string& log_directory, const std::string& log_path, std::string& full);

// UpdateContainerResources: Linux resources present, and acceptable cpusets.
std::string update_resources_problem(const runtime::v1::UpdateContainerResourcesRequest& request);

// UpdatePodSandboxResources: a pod ID, resources present, and acceptable resources and overhead.
std::string update_pod_resources_problem(const runtime::v1::UpdatePodSandboxResourcesRequest& request);

// The resources in force after an update: as containerd does, a field the request leaves at zero
// (or empty) keeps its current value. crictl update sends only the flags given; kubelet sends the
// whole set, so for it this is the same as a replacement.
runtime::v1::LinuxContainerResources merged_resources(const runtime::v1::LinuxContainerResources& current,
                                                      const runtime::v1::LinuxContainerResources& wanted);

// What LXD applies live through limits.*: memory, CPU quota/period/shares, cpuset. Anything else
// would need the container restarted (or LXD has no key for it), and lxe never restarts a
// container to apply a setting: such a change is refused (FAILED_PRECONDITION), naming the field.
// "" when `wanted` (the merged resources) can be applied live over `current`.
std::string live_update_problem(const runtime::v1::LinuxContainerResources& current,
                                const runtime::v1::LinuxContainerResources& wanted);

}  // namespace lxe::cri
