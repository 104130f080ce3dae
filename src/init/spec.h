// The container spec lxe writes for `lxe-init run` (/.lxe/state/spec.json in the container).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "init/mount_policy.h"
#include "model/seccomp_profile.h"

namespace lxe::init {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct Spec {
  std::vector<std::string> args;  // argv; args[0] is looked up in the PATH of `env`
  std::vector<std::string> env;   // "K=V", the workload's whole environment
  std::string cwd = "/";
  std::string log_path;   // CRI log file; empty: output is discarded
  std::string exit_path;  // exit record; started.json goes next to it; empty: no records
  std::optional<std::string> hostname;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  int stop_signal = SIGTERM;
  // CRI's stdin, stdin_once and tty (containerd's meaning): stdin makes the workload's stdin a pipe
  // that attach clients write to (else it is /dev/null); stdin_once closes it when the first attach
  // session with stdin ends; tty runs the workload on a terminal of its own, whose output is stdout.
  bool stdin = false;
  bool stdin_once = false;
  bool tty = false;
  // Where lxe-init listens for attach clients (see common/attach_protocol.h); empty: nowhere.
  std::string attach_socket;
  // The workload runs as PID 1 of a new PID namespace (CRI's CONTAINER mode), with a mount
  // namespace of its own in which /proc shows that PID namespace; execs join both.
  bool new_pid_namespace = false;
  // The security context's mounts, applied in the workload's own mount namespace.
  MountPolicy mounts;

  // The process's security (docs/security.md), applied between fork and exec (child.h) to the
  // workload and to every exec alike. A spec written by an lxe older than these fields has none of
  // them: the process then keeps lxe-init's own capabilities and only its gid as group.
  // Capability numbers (spec.json names them: "CAP_CHOWN"); nullopt: leave them as they are.
  std::optional<std::vector<int>> capabilities;
  bool privileged = false;  // informational here: lxe has already made the capabilities all of them
  bool no_new_privs = false;
  std::optional<model::seccomp::Profile> seccomp;  // resolved by lxe (no includes/excludes)
  // CRI's supplemental_groups; nullopt: only the gid. With merge_groups (SupplementalGroupsPolicy
  // Merge), also the groups the container's /etc/group lists the user in.
  std::optional<std::vector<gid_t>> supplemental_groups;
  bool merge_groups = true;
  // CRI's oom_score_adj (-1000..1000); nullopt: inherited. Set where the kernel lets the container
  // set it: a value below the one the container started with needs CAP_SYS_RESOURCE over the host,
  // which no lxe container has, and is left as inherited (docs/security.md).
  std::optional<int> oom_score_adj;

  // PATH from `env`, or kDefaultPath when `env` has none.
  std::string search_path() const;
};

// A spec that cannot be used. `exit_path` is the spec's exit_path when it could be read before
// the error was found (so that an exit record can still tell lxe), else empty.
class SpecError : public std::runtime_error {
 public:
  SpecError(const std::string& what, std::string exit_path)
      : std::runtime_error(what), exit_path_(std::move(exit_path)) {}
  const std::string& exit_path() const { return exit_path_; }

 private:
  std::string exit_path_;
};

Spec parse_spec(std::string_view json_text);  // throws SpecError
Spec load_spec(const std::string& path);      // throws SpecError

}  // namespace lxe::init
