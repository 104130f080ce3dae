// A container's security context: CreateContainer's refusals, the Localhost profile kept with the
// container, and what spec.json gets for lxe-init.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "model/capabilities.h"
#include "model/security_context.h"
#include "support/temp_dir.h"

// The deprecated seccomp_profile_path is tested too.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace v1 = runtime::v1;
using lxe::model::load_localhost_profile;
using lxe::model::process_security_spec;
using lxe::model::security_context_problem;
using lxe::model::SeccompChoice;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

v1::ContainerConfig config() {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("c");
  c.mutable_image()->set_image("busybox");
  c.add_command("sleep");
  return c;
}

v1::LinuxContainerSecurityContext& sc(v1::ContainerConfig& c) { return *c.mutable_linux()->mutable_security_context(); }

v1::PodSandboxConfig pod(bool privileged = false) {
  v1::PodSandboxConfig p;
  p.mutable_linux()->mutable_security_context()->set_privileged(privileged);
  return p;
}

std::string problem(const v1::ContainerConfig& c, bool privileged_pod = false, bool system = false) {
  return security_context_problem(c, pod(privileged_pod), system);
}

constexpr const char* kBlockChmod =
    R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]})";

std::vector<std::string> names(const json& spec) { return spec.at("capabilities").get<std::vector<std::string>>(); }

}  // namespace

TEST_CASE("security context: nothing set is accepted, for every kind of container", "[security]") {
  CHECK(problem(config()).empty());
  CHECK(problem(config(), false, true).empty());
  auto c = config();
  sc(c);  // an empty security context
  CHECK(problem(c).empty());
  CHECK(problem(c, false, true).empty());
}

TEST_CASE("security context: an unknown capability is refused, named", "[security]") {
  auto c = config();
  sc(c).mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc(c).mutable_capabilities()->add_add_capabilities("NET_ADMIM");
  CHECK_THAT(problem(c), Contains("capabilities.add_capabilities has 'NET_ADMIM', which is not a Linux capability"));
}

TEST_CASE("security context: a privileged container needs a privileged pod", "[security]") {
  auto c = config();
  sc(c).set_privileged(true);
  CHECK_THAT(problem(c), Contains("the pod sandbox is not privileged"));
  CHECK(problem(c, true).empty());
}

TEST_CASE("security context: the seccomp profile's choice", "[security]") {
  using Kind = SeccompChoice::Kind;
  const auto choice = [](const v1::ContainerConfig& c) {
    auto result = lxe::model::seccomp_choice(c.linux().security_context());
    if (const auto* why = std::get_if<std::string>(&result)) FAIL(*why);
    return std::get<SeccompChoice>(result);
  };
  auto c = config();
  CHECK(choice(c).kind == Kind::None);
  sc(c).mutable_seccomp();  // set, profile_type 0: RuntimeDefault
  CHECK(choice(c).kind == Kind::RuntimeDefault);
  sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  CHECK(choice(c).kind == Kind::None);
  sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc(c).mutable_seccomp()->set_localhost_ref("/var/lib/kubelet/seccomp/block.json");
  CHECK(choice(c).kind == Kind::Localhost);
  CHECK(choice(c).localhost_path == "/var/lib/kubelet/seccomp/block.json");
  // The deprecated path, used when seccomp is not set.
  auto d = config();
  for (const auto& [path, kind] : std::vector<std::pair<std::string, Kind>>{
           {"", Kind::None}, {"unconfined", Kind::None}, {"runtime/default", Kind::RuntimeDefault},
           {"docker/default", Kind::RuntimeDefault}, {"localhost//etc/p.json", Kind::Localhost}}) {
    sc(d).set_seccomp_profile_path(path);
    CHECK(choice(d).kind == kind);
  }
  CHECK(choice(d).localhost_path == "/etc/p.json");
}

TEST_CASE("security context: seccomp refusals", "[security]") {
  auto c = config();
  sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  CHECK_THAT(problem(c), Contains("names no file"));
  sc(c).mutable_seccomp()->set_localhost_ref("profiles/block.json");
  CHECK_THAT(problem(c), Contains("'profiles/block.json' is not an absolute path"));
  sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  CHECK_THAT(problem(c), Contains("localhost_ref is set, but profile_type is not Localhost"));
  sc(c).mutable_seccomp()->set_localhost_ref("");
  sc(c).mutable_seccomp()->set_profile_type(static_cast<v1::SecurityProfile::ProfileType>(7));
  CHECK_THAT(problem(c), Contains("profile_type 7"));
  auto d = config();
  sc(d).set_seccomp_profile_path("apparently/default");
  CHECK_THAT(problem(d), Contains("seccomp_profile_path 'apparently/default'"));
}

TEST_CASE("security context: supplemental groups must be group IDs, the policy Merge or Strict", "[security]") {
  auto c = config();
  sc(c).add_supplemental_groups(1234);
  sc(c).add_supplemental_groups(4294967294LL);
  CHECK(problem(c).empty());
  sc(c).add_supplemental_groups(-1);
  CHECK_THAT(problem(c), Contains("supplemental_groups has -1"));
  auto d = config();
  sc(d).add_supplemental_groups(4294967295LL);
  CHECK_THAT(problem(d), Contains("supplemental_groups has 4294967295"));
  auto e = config();
  sc(e).set_supplemental_groups_policy(static_cast<v1::SupplementalGroupsPolicy>(3));
  CHECK_THAT(problem(e), Contains("supplemental_groups_policy 3"));
}

TEST_CASE("security context: a system container refuses what lxe-init would apply, saying why", "[security]") {
  const auto system_problem = [](const v1::ContainerConfig& c) { return problem(c, true, true); };
  auto caps = config();
  sc(caps).mutable_capabilities()->add_drop_capabilities("NET_RAW");
  CHECK_THAT(system_problem(caps), Contains("capabilities") && Contains("runs its image's own init"));
  auto nnp = config();
  sc(nnp).set_no_new_privs(true);
  CHECK_THAT(system_problem(nnp), Contains("no_new_privs is set"));
  auto seccomp = config();
  sc(seccomp).mutable_seccomp();
  CHECK_THAT(system_problem(seccomp), Contains("a seccomp profile"));
  sc(seccomp).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  CHECK(system_problem(seccomp).empty());
  auto groups = config();
  sc(groups).add_supplemental_groups(5);
  CHECK_THAT(system_problem(groups), Contains("supplemental_groups is set"));
  auto strict = config();
  sc(strict).set_supplemental_groups_policy(v1::SupplementalGroupsPolicy::Strict);
  CHECK_THAT(system_problem(strict), Contains("supplemental_groups_policy Strict"));
  // What a system container has anyway: every capability of its user namespace, no lxe filter.
  auto privileged = config();
  sc(privileged).set_privileged(true);
  CHECK(system_problem(privileged).empty());
  CHECK_THAT(problem(privileged, false, true), Contains("not privileged"));
}

TEST_CASE("security context: a Localhost profile is read, checked and kept as JSON", "[security]") {
  lxe::test::TempDir dir;
  const std::vector<std::string> caps = {"CAP_CHOWN"};
  lxe::test::write_file(dir.file("block.json"), kBlockChmod);
  const auto ok = load_localhost_profile(dir.file("block.json"), caps);
  REQUIRE(ok.problem.empty());
  const auto kept = json::parse(ok.profile);
  CHECK(kept["defaultAction"] == "SCMP_ACT_ALLOW");
  CHECK(kept["syscalls"][0]["names"] == json::array({"chmod", "fchmodat"}));
  CHECK(kept["syscalls"][0]["errnoRet"] == 1);

  const auto missing = load_localhost_profile(dir.file("nope.json"), caps);
  CHECK_THAT(missing.problem, Contains("the Localhost seccomp profile " + dir.file("nope.json") +
                                       " cannot be read: No such file or directory"));
  CHECK_THAT(load_localhost_profile(dir.path(), caps).problem, Contains("is not a regular file"));
  lxe::test::write_file(dir.file("bad.json"), "{\"defaultAction\": ");
  CHECK_THAT(load_localhost_profile(dir.file("bad.json"), caps).problem,
             Contains(dir.file("bad.json") + " cannot be used: it is not valid JSON"));
  lxe::test::write_file(dir.file("unknown.json"),
                        R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmodd"], "action": "SCMP_ACT_ERRNO"}]})");
  CHECK_THAT(load_localhost_profile(dir.file("unknown.json"), caps).problem, Contains("'chmodd'"));
  lxe::test::write_file(dir.file("big.json"), std::string(2 << 20, ' '));
  CHECK_THAT(load_localhost_profile(dir.file("big.json"), caps).problem, Contains("larger than 1 MiB"));
}

TEST_CASE("security context: spec.json for lxe-init", "[security]") {
  const std::string kernel = "6.1.0";
  SECTION("defaults: containerd's capabilities, no filter, Merge") {
    const auto spec = process_security_spec(config(), "", 40, kernel);
    CHECK(names(spec).size() == 14);
    CHECK(spec.at("privileged") == false);
    CHECK(spec.at("no_new_privs") == false);
    CHECK_FALSE(spec.contains("seccomp"));
    CHECK(spec.at("supplemental_groups") == json::array());
    CHECK(spec.at("supplemental_groups_policy") == "Merge");
  }
  SECTION("added and dropped capabilities, nnp, groups, Strict") {
    auto c = config();
    sc(c).mutable_capabilities()->add_add_capabilities("net_admin");
    sc(c).mutable_capabilities()->add_drop_capabilities("CAP_NET_RAW");
    sc(c).set_no_new_privs(true);
    sc(c).add_supplemental_groups(1234);
    sc(c).add_supplemental_groups(5678);
    sc(c).set_supplemental_groups_policy(v1::SupplementalGroupsPolicy::Strict);
    const auto spec = process_security_spec(c, "", 40, kernel);
    const auto caps = names(spec);
    CHECK(std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN") != caps.end());
    CHECK(std::find(caps.begin(), caps.end(), "CAP_NET_RAW") == caps.end());
    CHECK(spec.at("no_new_privs") == true);
    CHECK(spec.at("supplemental_groups") == json::array({1234, 5678}));
    CHECK(spec.at("supplemental_groups_policy") == "Strict");
  }
  SECTION("RuntimeDefault: lxe's profile, resolved for the container's capabilities") {
    auto c = config();
    sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
    const auto spec = process_security_spec(c, "", 40, kernel);
    REQUIRE(spec.contains("seccomp"));
    CHECK(spec["seccomp"].dump().find("\"unshare\"") != std::string::npos);
    CHECK(spec["seccomp"].dump().find("excludes") == std::string::npos);
    sc(c).mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
    CHECK(process_security_spec(c, "", 40, kernel)["seccomp"].dump().find("\"unshare\"") == std::string::npos);
  }
  SECTION("Localhost: the kept profile, not the file") {
    auto c = config();
    sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    sc(c).mutable_seccomp()->set_localhost_ref("/no/longer/there.json");
    const auto spec = process_security_spec(c, kBlockChmod, 40, kernel);
    CHECK(spec["seccomp"]["syscalls"][0]["names"] == json::array({"chmod", "fchmodat"}));
    // Created by an lxe that applied no seccomp: none now either.
    CHECK_FALSE(process_security_spec(c, "", 40, kernel).contains("seccomp"));
    CHECK_THROWS_WITH(process_security_spec(c, "{", 40, kernel), Contains("cannot be read back"));
  }
  SECTION("privileged: every capability, no filter whatever it asks for") {
    auto c = config();
    sc(c).set_privileged(true);
    sc(c).mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    sc(c).mutable_seccomp()->set_localhost_ref("/p.json");
    const auto spec = process_security_spec(c, kBlockChmod, 40, kernel);
    CHECK(names(spec).size() == 41);
    CHECK(spec.at("privileged") == true);
    CHECK_FALSE(spec.contains("seccomp"));
  }
}

TEST_CASE("security context: AppArmor and SELinux, applied by LXD or refused", "[security]") {
  using lxe::model::mac_problem;
  runtime::v1::SecurityProfile apparmor;
  runtime::v1::SELinuxOption selinux;
  CHECK(mac_problem(apparmor, "", selinux, false, "").empty());  // nothing asked
  apparmor.set_profile_type(runtime::v1::SecurityProfile::RuntimeDefault);
  CHECK(mac_problem(apparmor, "", selinux, false, "").empty());
  apparmor.set_profile_type(runtime::v1::SecurityProfile::Unconfined);
  CHECK(mac_problem(apparmor, "", selinux, false, "").empty());
  CHECK(mac_problem({}, "runtime/default", selinux, false, "").empty());
  CHECK(mac_problem({}, "unconfined", selinux, false, "").empty());
  apparmor.set_profile_type(runtime::v1::SecurityProfile::Localhost);
  apparmor.set_localhost_ref("deny-write");
  CHECK_THAT(mac_problem(apparmor, "", selinux, false, "pod: "),
             Catch::StartsWith("pod: apparmor asks for the node's profile 'deny-write'"));
  CHECK_THAT(mac_problem({}, "localhost/deny-write", selinux, false, ""), Catch::Contains("'deny-write'"));
  CHECK_THAT(mac_problem({}, "docker/default", selinux, false, ""), Catch::Contains("is not runtime/default"));
  // An empty label is no label; any field set is one.
  CHECK(mac_problem({}, "", selinux, true, "").empty());
  selinux.set_type("spc_t");
  CHECK_THAT(mac_problem({}, "", selinux, true, ""), Catch::Contains("selinux_options are set"));
}
