// What a forked child of lxe-init does between fork and exec, shared by `run` (the workload) and
// `exec` (CRI ExecSync): take the container's identity and working directory, then its
// capabilities, no_new_privs and seccomp filter (docs/security.md), then look the program up in
// the workload's PATH. Everything but prepare_process is meant for the child side of a fork: plain
// system calls, errors returned as text (the caller prints it and _exits).
//
// The order, as runc's: chdir as root; drop the bounding set to the container's capabilities;
// PR_SET_KEEPCAPS, setgroups, setgid, setuid (the permitted set survives the switch to another
// user); then, right before execve: no_new_privs, the seccomp filter (without no_new_privs the
// kernel wants CAP_SYS_ADMIN for it: the permitted set is made effective for the moment), and the
// final capabilities (permitted and effective; inheritable and ambient empty, as containerd). The
// filter therefore sees only capset and execve of lxe-init's own calls.
#pragma once

#include <sys/capability.h>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "init/spec.h"
#include "model/seccomp_profile.h"

namespace lxe::init {

// Everything the child applies that needs reading or allocating, worked out before fork: the
// groups (from the container's /etc/passwd and /etc/group, read now), the capability sets and the
// compiled seccomp filter.
struct ProcessSetup {
  struct CapsDeleter {
    void operator()(void* caps) const { cap_free(caps); }
  };
  using Caps = std::unique_ptr<std::remove_pointer_t<cap_t>, CapsDeleter>;

  std::string problem;  // why the process cannot be set up; the child reports it and exits
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<std::vector<gid_t>> groups;  // setgroups; nullopt: only gid (a spec without groups)
  bool no_new_privs = false;
  std::optional<int> oom_score_adj;
  // With capabilities: which ones stay in the bounding set (by number, up to last_cap), and the
  // sets capset gets at the end. `raise` is lxe-init's permitted set made effective, for loading
  // the filter without no_new_privs.
  bool apply_caps = false;
  std::vector<bool> bounding;
  int last_cap = 0;
  Caps final_caps;
  Caps raise;
  model::seccomp::Filter filter;
};

// Reads what the spec's identity needs and compiles its filter. Never throws: a failure is kept in
// `problem`, which enter_identity_and_cwd returns in the child (so that it reaches the container's
// log, where the user looks).
ProcessSetup prepare_process(const Spec& spec);

// The identity the process gets, for started.json: {"uid", "gid", "groups"} (what CRI's
// ContainerStatus.user reports).
nlohmann::json identity_record(const ProcessSetup& setup);

// The paths execve tries for `program`, in order: as given when it has a '/', else in each
// directory of `search_path` (an empty entry is the working directory, as for execvp).
std::vector<std::string> exec_candidates(const std::string& program, const std::string& search_path);

// chdir to spec.cwd, set oom_score_adj where the kernel allows it (a value below the process's
// floor, which only CAP_SYS_RESOURCE over the host can lower, is left as inherited: not an
// error), narrow the bounding set, and switch to the uid, gid and groups of `setup`
// (root's own supplementary groups never reach the workload). Like runc, the directory is tried
// first as root (it may be readable only by root) and again as the user (root may be refused on a
// root-squashed mount). The error, if any, as a sentence.
std::optional<std::string> enter_identity_and_cwd(const Spec& spec, const ProcessSetup& setup);

// Right before exec: no_new_privs, the seccomp filter and the final capabilities.
std::optional<std::string> apply_process_security(const ProcessSetup& setup);

// execve of the first candidate that exists; returns only on failure, with the errno to report
// (EACCES only when no later candidate has the program, as execvp does).
int exec_first(const std::vector<std::string>& candidates, char* const argv[], char* const envp[]);

// argv/envp arrays pointing into `strings` (which must outlive them), NULL-terminated.
std::vector<char*> c_strings(const std::vector<std::string>& strings);

}  // namespace lxe::init
