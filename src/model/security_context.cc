#include "model/security_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "model/capabilities.h"
#include "model/seccomp_profile.h"

namespace lxe::model {
namespace {

namespace v1 = runtime::v1;

// A profile is a few KiB; a bigger file is a mistake (or /dev/zero).
constexpr size_t kMaxProfileBytes = 1 << 20;
// (gid_t)-1 means "unchanged" to setgroups-like calls, so it is not a group.
constexpr int64_t kMaxId = 4294967294LL;

const v1::LinuxContainerSecurityContext& security_context_of(const v1::ContainerConfig& config) {
  return config.linux().security_context();
}

std::vector<std::string> strings_of(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

bool wants_seccomp(const SeccompChoice& choice) { return choice.kind != SeccompChoice::Kind::None; }

// Why a system container cannot have `what`.
std::string system_container_problem(const std::string& what) {
  return what + " is set, but this container runs its image's own init (an LXD image and no command), which lxe-init "
                "does not run, so lxe cannot apply it; give a command (lxe-init then runs it and applies it) or leave "
                "it unset";
}

}  // namespace

std::variant<SeccompChoice, std::string> seccomp_choice(const v1::LinuxContainerSecurityContext& sc) {
  SeccompChoice choice;
  if (sc.has_seccomp()) {
    switch (sc.seccomp().profile_type()) {
      case v1::SecurityProfile::RuntimeDefault: choice.kind = SeccompChoice::Kind::RuntimeDefault; break;
      case v1::SecurityProfile::Unconfined: choice.kind = SeccompChoice::Kind::None; break;
      case v1::SecurityProfile::Localhost:
        choice.kind = SeccompChoice::Kind::Localhost;
        choice.localhost_path = sc.seccomp().localhost_ref();
        break;
      default:
        return "seccomp.profile_type " + std::to_string(static_cast<int>(sc.seccomp().profile_type())) +
               " is not RuntimeDefault, Unconfined or Localhost";
    }
    if (choice.kind != SeccompChoice::Kind::Localhost && !sc.seccomp().localhost_ref().empty())
      return "seccomp.localhost_ref is set, but profile_type is not Localhost";
  } else {
    // The deprecated field (kubelets before 1.22 send only this one).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const std::string& path = sc.seccomp_profile_path();
#pragma GCC diagnostic pop
    if (path.empty() || path == "unconfined") {
      choice.kind = SeccompChoice::Kind::None;
    } else if (path == "runtime/default" || path == "docker/default") {
      choice.kind = SeccompChoice::Kind::RuntimeDefault;
    } else if (path.rfind("localhost/", 0) == 0) {
      choice.kind = SeccompChoice::Kind::Localhost;
      choice.localhost_path = path.substr(10);
    } else {
      return "seccomp_profile_path '" + path +
             "' is not unconfined, runtime/default, docker/default or localhost/<absolute path>";
    }
  }
  if (choice.kind == SeccompChoice::Kind::Localhost) {
    if (choice.localhost_path.empty()) return std::string("the Localhost seccomp profile names no file (localhost_ref is empty)");
    if (choice.localhost_path[0] != '/')
      return "the Localhost seccomp profile '" + choice.localhost_path + "' is not an absolute path on the node";
    if (choice.localhost_path.find('\0') != std::string::npos)
      return std::string("the Localhost seccomp profile's path has a NUL byte");
  }
  return choice;
}

std::string mac_problem(const v1::SecurityProfile& apparmor, const std::string& apparmor_profile,
                        const v1::SELinuxOption& selinux, bool has_selinux, const std::string& where) {
  // RuntimeDefault and Unconfined are what lxe gives: LXD confines every container with its own
  // AppArmor profile where the host has AppArmor, and loads none where it has not. A profile of the
  // node's by name would be ignored, which is worse than a refusal.
  const bool localhost = apparmor.profile_type() == v1::SecurityProfile::Localhost ||
                         apparmor_profile.rfind("localhost/", 0) == 0;
  if (localhost) {
    const std::string name = apparmor.profile_type() == v1::SecurityProfile::Localhost
                                 ? apparmor.localhost_ref()
                                 : apparmor_profile.substr(std::string("localhost/").size());
    return where + "apparmor asks for the node's profile '" + name +
           "', which lxe cannot apply: LXD confines each container with its own AppArmor profile (where the host "
           "has AppArmor) and lxe loads none; use RuntimeDefault or Unconfined";
  }
  if (!apparmor_profile.empty() && apparmor_profile != "runtime/default" && apparmor_profile != "unconfined")
    return where + "apparmor_profile '" + apparmor_profile + "' is not runtime/default, unconfined or localhost/<name>";
  if (has_selinux && (!selinux.user().empty() || !selinux.role().empty() || !selinux.type().empty() ||
                      !selinux.level().empty()))
    return where + "selinux_options are set, which lxe cannot apply: neither lxe nor LXD labels containers with SELinux";
  return "";
}

std::string security_context_problem(const v1::ContainerConfig& config, const v1::PodSandboxConfig& sandbox_config,
                                     bool system_container) {
  const auto& sc = security_context_of(config);
  const auto& caps = sc.capabilities();
  if (auto computed = container_capabilities(strings_of(caps.add_capabilities()), strings_of(caps.drop_capabilities()),
                                             sc.privileged(), kLastKnownCapability);
      std::holds_alternative<std::string>(computed))
    return std::get<std::string>(computed);
  if (sc.privileged() && !sandbox_config.linux().security_context().privileged())
    return "security_context.privileged is set, but the pod sandbox is not privileged "
           "(linux.security_context.privileged of RunPodSandbox): a privileged container needs a privileged pod";
  const auto choice = seccomp_choice(sc);
  if (const auto* why = std::get_if<std::string>(&choice)) return *why;
  if (auto problem = mac_problem(sc.apparmor(), sc.apparmor_profile(), sc.selinux_options(), sc.has_selinux_options(), "");
      !problem.empty())
    return problem;
  for (const int64_t group : sc.supplemental_groups())
    if (group < 0 || group > kMaxId)
      return "supplemental_groups has " + std::to_string(group) + ", which is not a group ID (0 to 4294967294)";
  if (sc.supplemental_groups_policy() != v1::SupplementalGroupsPolicy::Merge &&
      sc.supplemental_groups_policy() != v1::SupplementalGroupsPolicy::Strict)
    return "supplemental_groups_policy " + std::to_string(static_cast<int>(sc.supplemental_groups_policy())) +
           " is neither Merge nor Strict";
  if (!system_container) return "";
  if (caps.add_capabilities_size() != 0 || caps.drop_capabilities_size() != 0)
    return system_container_problem("capabilities (add_capabilities or drop_capabilities)");
  if (sc.no_new_privs()) return system_container_problem("no_new_privs");
  if (wants_seccomp(std::get<SeccompChoice>(choice)))
    return system_container_problem("a seccomp profile (RuntimeDefault or Localhost; Unconfined is what it gets)");
  if (sc.supplemental_groups_size() != 0) return system_container_problem("supplemental_groups");
  if (sc.supplemental_groups_policy() == v1::SupplementalGroupsPolicy::Strict)
    return system_container_problem("supplemental_groups_policy Strict");
  return "";
}

std::vector<std::string> process_capabilities(const v1::ContainerConfig& config, int last_cap) {
  const auto& sc = security_context_of(config);
  auto computed = container_capabilities(strings_of(sc.capabilities().add_capabilities()),
                                         strings_of(sc.capabilities().drop_capabilities()), sc.privileged(), last_cap);
  if (const auto* numbers = std::get_if<std::vector<int>>(&computed)) return capability_names(*numbers);
  return {};
}

LocalhostProfile load_localhost_profile(const std::string& path, const std::vector<std::string>& capabilities) {
  LocalhostProfile out;
  const std::string named = "the Localhost seccomp profile " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    out.problem = named + " cannot be read: " + std::strerror(errno);
    return out;
  }
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    out.problem = named + " is not a regular file";
  } else {
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() <= kMaxProfileBytes)
      text.append(buffer, static_cast<size_t>(n));
    if (n < 0) out.problem = named + " cannot be read: " + std::strerror(errno);
    else if (text.size() > kMaxProfileBytes) out.problem = named + " is larger than 1 MiB; a profile is a few KiB";
  }
  ::close(fd);
  if (!out.problem.empty()) return out;
  auto parsed = seccomp::parse_profile(text);
  if (const auto* why = std::get_if<std::string>(&parsed)) {
    out.problem = named + " cannot be used: " + *why;
    return out;
  }
  const auto& profile = std::get<seccomp::Profile>(parsed);
  auto compiled = seccomp::compile(seccomp::resolve(profile, capabilities, seccomp::host_kernel_release()));
  if (const auto* why = std::get_if<std::string>(&compiled)) {
    out.problem = named + " cannot be loaded: " + *why;
    return out;
  }
  out.profile = seccomp::to_json(profile).dump();
  return out;
}

bool runs_unconfined(const v1::ContainerConfig& config) {
  const auto& sc = security_context_of(config);
  if (sc.privileged()) return true;
  const auto choice = seccomp_choice(sc);
  const auto* chosen = std::get_if<SeccompChoice>(&choice);
  return chosen && chosen->kind == SeccompChoice::Kind::None;
}

nlohmann::json process_security_spec(const v1::ContainerConfig& config, const std::string& stored_profile,
                                     int last_cap, const std::string& kernel_release) {
  const auto& sc = security_context_of(config);
  const auto capabilities = process_capabilities(config, last_cap);
  nlohmann::json out = {{"capabilities", capabilities},
                        {"privileged", sc.privileged()},
                        {"no_new_privs", sc.no_new_privs()}};
  // A privileged container gets no filter from lxe, whatever it asks for (as containerd).
  const auto choice = seccomp_choice(sc);
  const auto* chosen = std::get_if<SeccompChoice>(&choice);
  // A Localhost container without a kept profile was created by an lxe that applied no seccomp;
  // it keeps running as it was created.
  if (!sc.privileged() && chosen && chosen->kind != SeccompChoice::Kind::None &&
      (chosen->kind == SeccompChoice::Kind::RuntimeDefault || !stored_profile.empty())) {
    const std::string_view text =
        chosen->kind == SeccompChoice::Kind::RuntimeDefault ? seccomp::runtime_default_profile_text() : stored_profile;
    auto parsed = seccomp::parse_profile(text);
    if (const auto* why = std::get_if<std::string>(&parsed))
      throw std::runtime_error("the container's seccomp profile cannot be read back: " + *why);
    out["seccomp"] = seccomp::to_json(seccomp::resolve(std::get<seccomp::Profile>(parsed), capabilities, kernel_release));
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const int64_t g : sc.supplemental_groups()) groups.push_back(g);
  out["supplemental_groups"] = std::move(groups);
  out["supplemental_groups_policy"] =
      sc.supplemental_groups_policy() == v1::SupplementalGroupsPolicy::Strict ? "Strict" : "Merge";
  return out;
}

}  // namespace lxe::model
