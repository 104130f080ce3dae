#include "init/child.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

#include "init/fd.h"
#include "init/sys.h"
#include "model/capabilities.h"
#include "model/process_groups.h"

namespace lxe::init {

std::vector<std::string> exec_candidates(const std::string& program, const std::string& search_path) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t colon = search_path.find(':', start);
    const std::string dir =
        search_path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    out.push_back(dir.empty() ? program : dir + "/" + program);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

namespace {

// A file of the container's own root (/etc/passwd...), "" when it has none.
std::string read_small_file(const char* path) {
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  std::string text;
  if (!fd.valid()) return text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && text.size() < (4 << 20)) text.append(buf, static_cast<size_t>(n));
  return text;
}

std::string cap_text(int cap) {
  const std::string name = model::capability_name(cap);
  return name.empty() ? "capability " + std::to_string(cap) : name;
}

void prepare_capabilities(const Spec& spec, ProcessSetup& setup) {
  if (!spec.capabilities) return;
  setup.apply_caps = true;
  setup.last_cap = static_cast<int>(cap_max_bits()) - 1;
  setup.bounding.assign(static_cast<size_t>(setup.last_cap) + 1, false);
  for (int c : *spec.capabilities)
    if (c >= 0 && c <= setup.last_cap) setup.bounding[static_cast<size_t>(c)] = true;
  ProcessSetup::Caps current(cap_get_proc());
  setup.final_caps.reset(cap_init());
  setup.raise.reset(cap_dup(current.get()));
  if (!current || !setup.final_caps || !setup.raise) {
    setup.problem = "cannot read lxe-init's capabilities: " + errno_text(errno);
    return;
  }
  for (int c = 0; c <= setup.last_cap; ++c) {
    cap_flag_value_t permitted = CAP_CLEAR;
    cap_get_flag(current.get(), static_cast<cap_value_t>(c), CAP_PERMITTED, &permitted);
    const cap_value_t value = static_cast<cap_value_t>(c);
    cap_set_flag(setup.raise.get(), CAP_EFFECTIVE, 1, &value, permitted);
    // What lxe-init does not have itself (LXD's own lxc.cap.drop) it cannot give: left out.
    auto keep = setup.bounding[static_cast<size_t>(c)];
    keep = keep && permitted == CAP_SET;
    if (!keep) continue;
    cap_set_flag(setup.final_caps.get(), CAP_PERMITTED, 1, &value, CAP_SET);
    cap_set_flag(setup.final_caps.get(), CAP_EFFECTIVE, 1, &value, CAP_SET);
  }
}

void prepare_groups(const Spec& spec, ProcessSetup& setup) {
  if (!spec.supplemental_groups) {
    if (setup.gid) setup.groups = std::vector<gid_t>{*setup.gid};
    return;
  }
  const uid_t uid = setup.uid.value_or(::getuid());
  const gid_t gid = setup.gid.value_or(::getgid());
  std::vector<uint32_t> supplemental(spec.supplemental_groups->begin(), spec.supplemental_groups->end());
  const auto groups = model::process_groups(
      uid, gid, supplemental, spec.merge_groups, spec.merge_groups ? read_small_file("/etc/passwd") : "",
      spec.merge_groups ? read_small_file("/etc/group") : "");
  setup.groups = std::vector<gid_t>(groups.begin(), groups.end());
}

void prepare_seccomp(const Spec& spec, ProcessSetup& setup) {
  if (!spec.seccomp) return;
  auto compiled = model::seccomp::compile(*spec.seccomp);
  if (auto* why = std::get_if<std::string>(&compiled)) {
    setup.problem = "cannot set up the seccomp profile: " + *why;
    return;
  }
  setup.filter = std::move(std::get<model::seccomp::Filter>(compiled));
}

// Best effort, by design: the kernel refuses (EACCES) a value below the floor the process inherited
// unless the writer has CAP_SYS_RESOURCE in the host's user namespace. Kubelet's Burstable and
// BestEffort values (2..1000) are above it; a Guaranteed pod's -997 stays at the inherited value,
// which still ranks it below every container with a positive one.
void set_oom_score_adj(int value) {
  const Fd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  const std::string text = std::to_string(value);
  [[maybe_unused]] const ssize_t written = ::write(fd.get(), text.data(), text.size());
}

std::optional<std::string> switch_identity(const ProcessSetup& setup) {
  if (!setup.uid && !setup.gid && !setup.groups) return std::nullopt;
  // Root's supplementary groups must not leak to the workload. Only root may set them; run
  // unprivileged (tests), we have no root groups to drop.
  if (::geteuid() == 0 && setup.groups) {
    if (::setgroups(setup.groups->size(), setup.groups->data()) != 0)
      return "cannot set the supplementary groups: " + errno_text(errno);
  } else if (::geteuid() == 0 && ::setgroups(0, nullptr) != 0) {
    return "cannot drop supplementary groups: " + errno_text(errno);
  }
  if (setup.gid && ::setgid(*setup.gid) != 0)
    return "cannot switch to gid " + std::to_string(*setup.gid) + ": " + errno_text(errno);
  if (setup.uid && ::setuid(*setup.uid) != 0)
    return "cannot switch to uid " + std::to_string(*setup.uid) + ": " + errno_text(errno);
  return std::nullopt;
}

}  // namespace

ProcessSetup prepare_process(const Spec& spec) {
  ProcessSetup setup;
  setup.uid = spec.uid;
  setup.gid = spec.gid;
  setup.no_new_privs = spec.no_new_privs;
  setup.oom_score_adj = spec.oom_score_adj;
  prepare_groups(spec, setup);
  prepare_capabilities(spec, setup);
  if (setup.problem.empty()) prepare_seccomp(spec, setup);
  return setup;
}

nlohmann::json identity_record(const ProcessSetup& setup) {
  const gid_t gid = setup.gid.value_or(::getgid());
  nlohmann::json groups = nlohmann::json::array();
  if (setup.groups) {
    for (gid_t g : *setup.groups) groups.push_back(g);
  } else {
    groups.push_back(gid);
  }
  return {{"uid", setup.uid.value_or(::getuid())}, {"gid", gid}, {"groups", groups}};
}

std::optional<std::string> enter_identity_and_cwd(const Spec& spec, const ProcessSetup& setup) {
  const bool in_cwd = ::chdir(spec.cwd.c_str()) == 0;
  if (!setup.problem.empty()) return setup.problem;
  if (setup.oom_score_adj) set_oom_score_adj(*setup.oom_score_adj);
  if (setup.apply_caps) {
    // Needs CAP_SETPCAP, which root still has here.
    for (int c = 0; c <= setup.last_cap; ++c)
      if (!setup.bounding[static_cast<size_t>(c)] && cap_get_bound(static_cast<cap_value_t>(c)) == 1 &&
          cap_drop_bound(static_cast<cap_value_t>(c)) != 0)
        return "cannot drop " + cap_text(c) + " from the bounding set: " + errno_text(errno);
    // The permitted set survives the switch to another uid (the effective set does not).
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return "cannot keep capabilities across setuid: " + errno_text(errno);
  }
  if (auto error = switch_identity(setup)) return error;
  if (setup.apply_caps) ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (!in_cwd && ::chdir(spec.cwd.c_str()) != 0)
    return "cannot change to directory " + spec.cwd + ": " + errno_text(errno);
  return std::nullopt;
}

std::optional<std::string> apply_process_security(const ProcessSetup& setup) {
  if (setup.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return "cannot set no_new_privs: " + errno_text(errno);
  if (setup.filter) {
    // Without no_new_privs only a process with CAP_SYS_ADMIN may load a filter: the permitted set
    // (kept across setuid) is made effective for the moment.
    if (!setup.no_new_privs && setup.raise) cap_set_proc(setup.raise.get());
    if (const int rc = model::seccomp::load(setup.filter); rc != 0)
      return "cannot load the seccomp profile: " + errno_text(-rc);
  }
  if (setup.apply_caps && cap_set_proc(setup.final_caps.get()) != 0)
    return "cannot set the capabilities: " + errno_text(errno);
  return std::nullopt;
}

int exec_first(const std::vector<std::string>& candidates, char* const argv[], char* const envp[]) {
  int error = ENOENT;
  for (const auto& path : candidates) {
    ::execve(path.c_str(), argv, envp);
    if (errno == EACCES) {
      error = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      return errno;
    }
  }
  return error;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace lxe::init
