// A container's process security (LinuxContainerSecurityContext): capabilities, privileged,
// no_new_privs, seccomp and supplementary groups, as CRI asks for them and as lxe-init applies them
// (docs/security.md). lxe checks the request at CreateContainer, keeps a Localhost seccomp profile
// with the container, and writes the result into spec.json; lxe-init only applies it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/v1/api.pb.h"

namespace lxe::model {

// Which seccomp profile a container asks for: `seccomp` when set, else the deprecated
// seccomp_profile_path ("", "unconfined", "runtime/default", "docker/default", "localhost/<path>").
struct SeccompChoice {
  enum class Kind { None, RuntimeDefault, Localhost };
  Kind kind = Kind::None;
  std::string localhost_path;  // Localhost: the absolute path on the node
};
std::variant<SeccompChoice, std::string> seccomp_choice(const runtime::v1::LinuxContainerSecurityContext& sc);

// CreateContainer's checks of the security context, as a phrase for INVALID_ARGUMENT ("" when
// acceptable): known capability names; privileged only in a privileged pod (as containerd);
// a seccomp profile lxe knows how to choose, a Localhost one with an absolute path; supplementary
// groups that are valid IDs and a known policy. For a `system_container` (runs its image's own
// init, which lxe-init does not run) every setting lxe-init would have to apply is refused, saying
// why; privileged is accepted there: such a container already has every capability of its user
// namespace and no seccomp filter from lxe.
std::string security_context_problem(const runtime::v1::ContainerConfig& config,
                                     const runtime::v1::PodSandboxConfig& sandbox_config, bool system_container);

// AppArmor and SELinux, of a container or a pod (`where` prefixes the phrase): RuntimeDefault and
// Unconfined AppArmor are accepted (LXD's own profile, or none, is what every container gets); a
// Localhost AppArmor profile and any SELinux label are refused, since nothing would apply them.
std::string mac_problem(const runtime::v1::SecurityProfile& apparmor, const std::string& apparmor_profile,
                        const runtime::v1::SELinuxOption& selinux, bool has_selinux, const std::string& where);

// The container's capabilities (names, sorted by number) on a kernel whose last capability is
// `last_cap`. Assumes security_context_problem accepted the config.
std::vector<std::string> process_capabilities(const runtime::v1::ContainerConfig& config, int last_cap);

// A Localhost profile read at CreateContainer. `profile` is what the container keeps (the parsed
// profile as JSON text, so that a later edit of the file does not change the container); `problem`
// says why the file cannot be used, naming it ("" when it can). The profile is also resolved for
// `capabilities` and compiled, so that what is accepted is known to load.
struct LocalhostProfile {
  std::string profile;
  std::string problem;
};
LocalhostProfile load_localhost_profile(const std::string& path, const std::vector<std::string>& capabilities);

// Whether the container runs with no seccomp filter at all: it asks for Unconfined or for nothing,
// or it is privileged (lxe-init then loads no filter). Such a container is created with LXD's
// default syscall denylist switched off too (security.syscalls.deny_default=false), so that
// "unconfined" means what it means under runc: `Seccomp: 0`. Every other container keeps LXD's
// container-wide policy, with lxe's filter stacked on the workload.
bool runs_unconfined(const runtime::v1::ContainerConfig& config);

// What spec.json gets: capabilities, privileged, no_new_privs, seccomp (the resolved profile, or
// none), supplemental_groups and supplemental_groups_policy. `stored_profile` is the container's
// kept Localhost profile ("" for none: a container created before lxe applied seccomp, which keeps
// running without a filter as it was created). Throws std::runtime_error when the stored profile cannot be
// read back (lxe's own data gone bad).
nlohmann::json process_security_spec(const runtime::v1::ContainerConfig& config, const std::string& stored_profile,
                                     int last_cap, const std::string& kernel_release);

}  // namespace lxe::model
