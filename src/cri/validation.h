// Checks for CRI strings that reach LXD's configuration (environment.* keys, disk devices, limits,
// raw.lxc) or a file that lxe-init or the container reads. LXD 5.0 copies most of them into the
// container's lxc.conf line by line, unquoted: a line break there starts a new LXC config line
// (an environment variable's name once smuggled in an `lxc.mount.entry` of the host's /etc). Each
// returns the problem as a phrase for an INVALID_ARGUMENT message, or "" when there is none.
#pragma once

#include <string>
#include <string_view>

#include "runtime/v1/api.pb.h"

namespace lxe::cri {

// A NUL byte, a line break or another control character (C0 or DEL).
std::string control_character_problem(std::string_view value);

// A NUL byte alone: for strings that only lxe-init reads, as JSON, and hands to execve (a
// container's command and args, where a line break is an ordinary part of a shell script).
std::string nul_problem(std::string_view value);

// An environment variable's name: not empty, no '=', no control character.
std::string env_name_problem(std::string_view name);

// A cpuset list as the kernel writes it ("0-3,8,10-11"): digits, ',' and '-' only.
std::string cpuset_problem(std::string_view cpus);

// A CRI mount (mounts[`index`]), as kubelet sends them: host_path absolute (a host path given as
// a relative one would be resolved against lxe's working directory), container_path absolute and
// not the container's root; recursive_read_only only with readonly (CRI's contract); no control
// character in either path; not an image volume (lxe has none). Whether host_path exists is the
// caller's to check (a missing one is created, as containerd does).
std::string mount_problem(const runtime::v1::Mount& mount, int index);

// Every string of a container's config that lxe passes on: its name, image, command, args,
// working directory, environment, mounts, log path and cpusets. "" when all are acceptable;
// otherwise which field (and which variable or mount) and what is wrong with it.
std::string container_config_problem(const runtime::v1::ContainerConfig& config);

// The cpusets of a resources message (CreateContainer's and UpdateContainerResources').
std::string resources_problem(const runtime::v1::LinuxContainerResources& resources);

}  // namespace lxe::cri
