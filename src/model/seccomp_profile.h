// Seccomp profiles in the OCI runtime spec's JSON form (LinuxSeccomp: defaultAction,
// defaultErrnoRet, architectures, flags, syscalls with names, action, errnoRet, args), with
// Docker's extensions that Kubernetes users' Localhost profiles often have (archMap, and rules
// that apply only with some capabilities or architectures: includes / excludes of caps, arches and
// minKernel).
//
// lxe reads and checks a profile at CreateContainer, resolves the includes and excludes against
// the container's capabilities and the node's kernel, and hands the result to lxe-init in
// spec.json; lxe-init parses it again with the same code and loads it with libseccomp right before
// the container's program runs. This file depends on libseccomp and nlohmann_json only: lxe-init
// (a static binary) compiles it in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace lxe::model::seccomp {

struct Action {
  enum class Kind { Allow, Errno, KillThread, KillProcess, Trap, Trace, Log };
  Kind kind = Kind::Allow;
  uint32_t ret = 0;  // the errno of Errno, the message of Trace; 0 otherwise
  bool operator==(const Action&) const = default;
};

enum class Op { NotEqual, LessThan, LessOrEqual, EqualTo, GreaterOrEqual, GreaterThan, MaskedEqual };

struct Arg {
  unsigned index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;  // MaskedEqual: the value to compare with after masking with `value`
  Op op = Op::EqualTo;
  bool operator==(const Arg&) const = default;
};

// Docker's conditions on a rule; empty: always.
struct Condition {
  std::vector<std::string> caps;    // "CAP_SYS_ADMIN"
  std::vector<std::string> arches;  // "SCMP_ARCH_X86_64" or "amd64"
  std::string min_kernel;           // "4.8"
  bool empty() const { return caps.empty() && arches.empty() && min_kernel.empty(); }
  bool operator==(const Condition&) const = default;
};

struct Rule {
  std::vector<std::string> names;  // syscall names libseccomp knows
  Action action;
  std::vector<Arg> args;  // all must hold (when their indexes differ: see compile)
  Condition includes;     // the rule counts only if the container has all of these
  Condition excludes;     // the rule does not count if the container has any of these
  bool operator==(const Rule&) const = default;
};

struct Profile {
  Action default_action;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64"...; empty: the native one only
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW, _TSYNC
  std::vector<Rule> rules;
  bool operator==(const Profile&) const = default;
};

// Reads and checks a profile: JSON, known actions and comparison operators, errnoRet only where it
// means something, argument indexes 0 to 5, architecture names libseccomp knows, known flags, no
// listener (SCMP_ACT_NOTIFY needs a seccomp agent lxe does not have). Syscall names must be known
// to libseccomp (on any architecture); a name it does not know is refused in a rule that restricts
// (lxe could not enforce it), and left out of an SCMP_ACT_ALLOW rule (as runc does: the syscall
// then gets the default action). `archMap` (Docker) gives the architectures when `architectures`
// is absent: the entry of the native architecture with its subArchitectures. The problem, as a
// phrase naming the field, when the profile is refused.
std::variant<Profile, std::string> parse_profile(std::string_view json_text);

// The profile in OCI JSON (with includes/excludes where it has them); parse_profile reads it back
// to the same Profile.
nlohmann::json to_json(const Profile& profile);

// The rules that count for a container with capabilities `caps` ("CAP_..." names) on a kernel of
// release `kernel_release` ("6.1.0-18-amd64"): the includes and excludes of each rule evaluated
// (architectures against the native one) and removed.
Profile resolve(const Profile& profile, const std::vector<std::string>& caps, std::string_view kernel_release);

// The node's kernel release (uname -r).
std::string host_kernel_release();

// A profile compiled into a libseccomp filter context, not loaded. lxe compiles every profile it
// accepts once, so that what lxe-init will load is known to load.
struct FilterDeleter {
  void operator()(void* ctx) const;
};
using Filter = std::unique_ptr<void, FilterDeleter>;

// Compiles a resolved profile (no includes or excludes). The filter does not set no_new_privs
// itself (libseccomp would by default): lxe-init sets it when the container asks, and otherwise
// loads the filter while it still has CAP_SYS_ADMIN. The problem when libseccomp refuses.
std::variant<Filter, std::string> compile(const Profile& profile);

// Loads a compiled filter into the calling thread (seccomp_load): 0 or a negative errno.
int load(const Filter& filter);

// The profile lxe ships for RuntimeDefault (src/model/seccomp_default.json), as text.
std::string_view runtime_default_profile_text();

}  // namespace lxe::model::seccomp
