// Seccomp profiles: reading and checking OCI (and Docker) JSON, resolving Docker's conditions,
// lxe's RuntimeDefault profile, and filters that load and do what they say (in a forked child).
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <variant>

#include "model/seccomp_profile.h"
#include "support/temp_dir.h"

namespace sc = lxe::model::seccomp;
using Catch::Matchers::Contains;

namespace {

sc::Profile parse(const std::string& text) {
  auto result = sc::parse_profile(text);
  if (const auto* problem = std::get_if<std::string>(&result)) FAIL("refused: " << *problem);
  return std::get<sc::Profile>(result);
}

std::string refusal(const std::string& text) {
  auto result = sc::parse_profile(text);
  if (std::holds_alternative<sc::Profile>(result)) FAIL("accepted: " << text);
  return std::get<std::string>(result);
}

bool has_rule_for(const sc::Profile& p, const std::string& name) {
  for (const auto& r : p.rules)
    for (const auto& n : r.names)
      if (n == name) return true;
  return false;
}

// Runs `body` in a forked child that has loaded `profile` (with no_new_privs, so that it needs no
// capability); the child's exit code.
int in_child_with(const sc::Profile& profile, const std::function<int()>& body) {
  auto compiled = sc::compile(profile);
  REQUIRE(std::holds_alternative<sc::Filter>(compiled));
  const auto& filter = std::get<sc::Filter>(compiled);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sc::load(filter) != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// critest's profiles (cri-tools pkg/validate/security_context_linux.go).
constexpr const char* kBlockChmod = R"({
     "defaultAction": "SCMP_ACT_ALLOW",
     "syscalls": [ { "names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO" } ]
})";
constexpr const char* kBlockHostname = R"({
     "defaultAction": "SCMP_ACT_ALLOW",
     "syscalls": [ { "names": ["sethostname"], "action": "SCMP_ACT_ERRNO" } ]
})";

}  // namespace

TEST_CASE("seccomp: critest's profiles are read, ERRNO defaulting to EPERM", "[seccomp]") {
  const auto p = parse(kBlockChmod);
  CHECK(p.default_action.kind == sc::Action::Kind::Allow);
  REQUIRE(p.rules.size() == 1);
  CHECK(p.rules[0].names == std::vector<std::string>{"chmod", "fchmodat"});
  CHECK(p.rules[0].action == sc::Action{sc::Action::Kind::Errno, EPERM});
  CHECK(has_rule_for(parse(kBlockHostname), "sethostname"));
}

TEST_CASE("seccomp: every action, errnoRet, args, name and names, flags, architectures", "[seccomp]") {
  const auto p = parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "getpid", "action": "SCMP_ACT_LOG", "comment": "Docker's old form"},
      {"names": ["kill"], "action": "SCMP_ACT_KILL"},
      {"names": ["tkill"], "action": "SCMP_ACT_KILL_THREAD"},
      {"names": ["tgkill"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["ptrace"], "action": "SCMP_ACT_TRAP"},
      {"names": ["mknod"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}
    ]})");
  CHECK(p.default_action == sc::Action{sc::Action::Kind::Errno, 38});
  CHECK(p.architectures.size() == 3);
  CHECK(p.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  REQUIRE(p.rules.size() == 8);
  CHECK(p.rules[1].names == std::vector<std::string>{"getpid"});
  CHECK(p.rules[2].action.kind == sc::Action::Kind::KillThread);
  CHECK(p.rules[4].action.kind == sc::Action::Kind::KillProcess);
  CHECK(p.rules[6].action == sc::Action{sc::Action::Kind::Trace, 7});
  REQUIRE(p.rules[7].args.size() == 2);
  CHECK(p.rules[7].args[1] == sc::Arg{1, 255, 3, sc::Op::MaskedEqual});
  // Back to JSON and read again: the same profile.
  CHECK(parse(sc::to_json(p).dump()) == p);
  CHECK(std::holds_alternative<sc::Filter>(sc::compile(p)));
}

TEST_CASE("seccomp: each refusal names the field and the problem", "[seccomp]") {
  CHECK_THAT(refusal("{"), Contains("not valid JSON"));
  CHECK_THAT(refusal("[]"), Contains("not a JSON object"));
  CHECK_THAT(refusal("{}"), Contains("defaultAction is missing"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_DENY"})"), Contains("defaultAction 'SCMP_ACT_DENY' is not a seccomp action"));
  CHECK_THAT(refusal(R"({"defaultAction": 1})"), Contains("defaultAction must be a string"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_NOTIFY"})"), Contains("needs a seccomp agent"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})"),
             Contains("defaultErrnoRet is set, but only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})"),
             Contains("defaultErrnoRet must be a number from 0 to 4095"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})"),
             Contains("architectures has 'SCMP_ARCH_Z80'"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]})"),
             Contains("flags has 'SECCOMP_FILTER_FLAG_NEW_LISTENER'"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"})"),
             Contains("listenerPath is set"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})"), Contains("syscalls must be an array"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})"),
             Contains("syscalls[0] names no syscall"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"]}]})"),
             Contains("syscalls[0].action is missing"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]})"),
             Contains("syscalls[0].errnoRet is set"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
             Contains("syscalls[0].args[0].index must be 0 to 5"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})"),
             Contains("syscalls[0].args[0].op 'SCMP_CMP_ABOUT'"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 1, "value": -1, "op": "SCMP_CMP_EQ"}]}]})"),
             Contains("syscalls[0].args[0].value must be a number"));
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                        "includes": {"minKernel": "new"}}]})"),
             Contains("syscalls[0].includes.minKernel"));
}

TEST_CASE("seccomp: a syscall libseccomp does not know is refused in a restricting rule, left out of an allowing one",
          "[seccomp]") {
  CHECK_THAT(refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]})"),
             Contains("syscalls[0] names 'no_such_call', a syscall libseccomp"));
  const auto p = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["no_such_call_either"], "action": "SCMP_ACT_ALLOW"}]})");
  REQUIRE(p.rules.size() == 1);
  CHECK(p.rules[0].names == std::vector<std::string>{"read"});
  // A syscall of another architecture only (vm86 is i386's) is known.
  CHECK(has_rule_for(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["vm86"], "action": "SCMP_ACT_ERRNO"}]})"), "vm86"));
}

TEST_CASE("seccomp: archMap gives the native architecture and its sub-architectures", "[seccomp]") {
  const auto p = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]})");
#if defined(__x86_64__)
  CHECK(p.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
#elif defined(__aarch64__)
  CHECK(p.architectures == std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"});
#endif
  // architectures wins over archMap.
  CHECK(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [],
                  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]})")
            .architectures.empty());
}

TEST_CASE("seccomp: includes and excludes are resolved against capabilities, architecture and kernel", "[seccomp]") {
  const auto p = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF"]}},
      {"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN", "SYS_BOOT"]}},
      {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["amd64", "arm64"]}},
      {"names": ["chown"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["amd64", "arm64"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "4.8"}},
      {"names": ["kcmp"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "4.8"}}]})");
  CHECK(parse(sc::to_json(p).dump()) == p);
  const auto plain = sc::resolve(p, {"CAP_CHOWN"}, "6.1.0-18-amd64");
  CHECK(has_rule_for(plain, "mount"));
  CHECK(has_rule_for(plain, "bpf"));
  CHECK_FALSE(has_rule_for(plain, "reboot"));
  CHECK(has_rule_for(plain, "ptrace"));
  CHECK_FALSE(has_rule_for(plain, "kcmp"));
#if defined(__x86_64__) || defined(__aarch64__)
  CHECK(has_rule_for(plain, "chmod"));
  CHECK_FALSE(has_rule_for(plain, "chown"));
#endif
  for (const auto& rule : plain.rules) CHECK((rule.includes.empty() && rule.excludes.empty()));
  const auto admin = sc::resolve(p, {"CAP_SYS_ADMIN", "CAP_SYS_BOOT"}, "6.1.0");
  CHECK_FALSE(has_rule_for(admin, "mount"));
  CHECK_FALSE(has_rule_for(admin, "bpf"));
  CHECK(has_rule_for(admin, "reboot"));
  CHECK_FALSE(has_rule_for(sc::resolve(p, {"CAP_BPF"}, "6.1"), "bpf"));
  const auto old_kernel = sc::resolve(p, {}, "4.4.0-210-generic");
  CHECK_FALSE(has_rule_for(old_kernel, "ptrace"));
  CHECK(has_rule_for(old_kernel, "kcmp"));
}

TEST_CASE("seccomp: lxe's RuntimeDefault profile reads, resolves and compiles", "[seccomp]") {
  const auto p = parse(std::string(sc::runtime_default_profile_text()));
  CHECK(p.default_action.kind == sc::Action::Kind::Allow);
  CHECK_FALSE(p.architectures.empty());
  const auto plain = sc::resolve(p, {"CAP_CHOWN", "CAP_NET_RAW"}, sc::host_kernel_release());
  for (const char* name : {"unshare", "mount", "setns", "keyctl", "kexec_load", "init_module", "bpf", "clock_settime",
                           "open_by_handle_at", "io_uring_setup", "reboot", "clone3"})
    CHECK(has_rule_for(plain, name));
  CHECK(std::holds_alternative<sc::Filter>(sc::compile(plain)));
  const auto admin = sc::resolve(p, {"CAP_SYS_ADMIN"}, sc::host_kernel_release());
  for (const char* name : {"unshare", "mount", "setns", "bpf", "clone", "clone3"}) CHECK_FALSE(has_rule_for(admin, name));
  CHECK(has_rule_for(admin, "keyctl"));  // no capability makes the keyring safe
  CHECK(std::holds_alternative<sc::Filter>(sc::compile(admin)));
  // Every name in the file is one libseccomp knows: none was left out.
  size_t names = 0;
  const auto file = nlohmann::json::parse(sc::runtime_default_profile_text());
  for (const auto& rule : file["syscalls"])
    names += rule["names"].size();
  size_t kept = 0;
  for (const auto& rule : p.rules) kept += rule.names.size();
  CHECK(kept == names);
}

TEST_CASE("seccomp: a loaded filter blocks what it says and lets the rest through", "[seccomp]") {
  lxe::test::TempDir dir;
  const std::string file = dir.file("f");
  lxe::test::write_file(file, "x");
  CHECK(in_child_with(parse(kBlockChmod), [&] {
          if (::chmod(file.c_str(), 0600) == 0 || errno != EPERM) return 1;
          return ::access(file.c_str(), R_OK) == 0 ? 0 : 2;
        }) == 0);
  // errnoRet, and a condition on an argument: only umask(0077) fails.
  CHECK(in_child_with(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"],
                               "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
                      [] {
                        errno = 0;
                        if (::getpriority(PRIO_PROCESS, 0) == -1 && errno != 0) return 1;  // which 0: allowed
                        errno = 0;
                        ::getpriority(PRIO_PGRP, 0);
                        return errno == EACCES ? 0 : 2;
                      }) == 0);
  // The RuntimeDefault profile: unshare fails without CAP_SYS_ADMIN; ordinary work goes on.
  const auto runtime_default =
      sc::resolve(parse(std::string(sc::runtime_default_profile_text())), {"CAP_CHOWN"}, sc::host_kernel_release());
  CHECK(in_child_with(runtime_default, [] {
          if (::unshare(CLONE_NEWUTS) == 0 || errno != EPERM) return 1;
          const pid_t child = ::fork();
          if (child == 0) ::_exit(7);
          int status = 0;
          return ::waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 7 ? 0 : 2;
        }) == 0);
}

TEST_CASE("seccomp: several conditions on one argument make a rule each, any of them enough", "[seccomp]") {
  const auto p = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"],
      "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                                            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]})");
  CHECK(in_child_with(p, [] {
          errno = 0;
          ::getpriority(PRIO_PGRP, 0);
          const bool pgrp = errno == EPERM;
          errno = 0;
          ::getpriority(PRIO_USER, 0);
          const bool user = errno == EPERM;
          errno = 0;
          ::getpriority(PRIO_PROCESS, 0);
          return pgrp && user && errno == 0 ? 0 : 1;
        }) == 0);
}
