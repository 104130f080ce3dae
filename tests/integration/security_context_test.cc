// A container's process security on the real LXD (docs/security.md), with the checks critest's
// Security Context specs make: capabilities (default, add, drop, ALL), privileged, no_new_privs,
// seccomp (Localhost, RuntimeDefault, Unconfined), supplementary groups with their policy and the
// identity ContainerStatus reports, and CreateContainer's refusals.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
using lxe::test::Reply;
namespace cri = ::runtime::v1;

namespace {

cri::LinuxContainerSecurityContext& security(cri::ContainerConfig& config) {
  return *config.mutable_linux()->mutable_security_context();
}

cri::PodSandboxConfig privileged_pod(CriFixture& fx, const std::string& suffix) {
  auto pod = fx.pod_config(suffix);
  pod.mutable_linux()->mutable_security_context()->set_privileged(true);
  return pod;
}

// A busybox container that sleeps, with `edit` applied to its config.
cri::ContainerConfig sleeper(const std::string& name,
                             const std::function<void(cri::LinuxContainerSecurityContext&)>& edit = {}) {
  auto config = CriFixture::container_config(name, {"sleep", "3600"});
  if (edit) edit(security(config));
  return config;
}

Reply<cri::ExecSyncResponse> exec(CriFixture& fx, const std::string& id, const std::vector<std::string>& cmd) {
  auto reply = fx.exec(id, cmd, 20);
  INFO(describe(reply.status));
  REQUIRE(reply.ok());
  return reply;
}

// "CapBnd:\t000001ffffffffff" → "000001ffffffffff".
std::string status_field(const std::string& status, const std::string& field) {
  const size_t at = status.find(field + ":");
  if (at == std::string::npos) return "";
  const size_t start = status.find_first_not_of(" \t", at + field.size() + 1);
  return status.substr(start, status.find('\n', start) - start);
}

std::string proc_status(CriFixture& fx, const std::string& id) {
  const auto r = exec(fx, id, {"cat", "/proc/self/status"});
  REQUIRE(r.value.exit_code() == 0);
  return r.value.stdout();
}

bool brctl_addbr_works(CriFixture& fx, const std::string& id) {
  const auto r = exec(fx, id, {"brctl", "addbr", "foobar"});
  INFO("brctl: exit " << r.value.exit_code() << ", stderr " << r.value.stderr());
  return r.value.exit_code() == 0;
}

std::string write_profile(CriFixture& fx, const std::string& name, const std::string& text) {
  const std::string path = fx.dir().file(name);
  lxe::test::write_file(path, text);
  return path;
}

constexpr const char* kBlockChmod = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]
})";
constexpr const char* kBlockHostname = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]
})";

void localhost(cri::LinuxContainerSecurityContext& sc, const std::string& path) {
  sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::Localhost);
  sc.mutable_seccomp()->set_localhost_ref(path);
}

// The registries.conf of scripts/test-registry.sh, or "" when the test registries are not there.
std::string registries_conf() {
  const char* env = std::getenv("LXE_TEST_REGISTRIES_CONF");
  const std::string conf = env && *env ? env : "/var/lib/lxe-test-registry/registries.conf";
  return std::filesystem::exists(conf) ? conf : "";
}

// Waits up to 20 s for the container's log to have a stdout record `content`; the log's text.
std::string wait_for_record(const std::string& path, const std::string& content) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string text;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      text = lxe::test::read_file(path);
    } catch (const std::exception&) {
    }
    if (text.find(" stdout F " + content + "\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return text;
}

}  // namespace

TEST_CASE("security: default capabilities, added NET_ADMIN, dropped NET_RAW, ALL", "[security][lxd]") {
  CriFixture fx("seccaps");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string plain = fx.must_run_container(pod_id, sleeper("plain"), pod);
  const std::string admin = fx.must_run_container(
      pod_id, sleeper("admin", [](auto& sc) { sc.mutable_capabilities()->add_add_capabilities("NET_ADMIN"); }), pod);
  const std::string noraw = fx.must_run_container(
      pod_id, sleeper("noraw", [](auto& sc) { sc.mutable_capabilities()->add_drop_capabilities("NET_RAW"); }), pod);
  const std::string none = fx.must_run_container(
      pod_id, sleeper("none", [](auto& sc) { sc.mutable_capabilities()->add_drop_capabilities("ALL"); }), pod);
  const std::string all = fx.must_run_container(
      pod_id, sleeper("all", [](auto& sc) { sc.mutable_capabilities()->add_add_capabilities("ALL"); }), pod);

  // containerd's fourteen: CHOWN ... SETFCAP, without NET_ADMIN (bit 12).
  CHECK(status_field(proc_status(fx, plain), "CapBnd") == "00000000a80425fb");
  CHECK(status_field(proc_status(fx, plain), "CapEff") == "00000000a80425fb");
  CHECK_FALSE(brctl_addbr_works(fx, plain));
  CHECK(brctl_addbr_works(fx, admin));

  const auto ping = fx.exec(noraw, {"ping", "-c", "1", "127.0.0.1"}, 20);
  REQUIRE(ping.ok());
  CHECK(ping.value.exit_code() != 0);
  CHECK_THAT(ping.value.stderr(), Catch::Contains("permission denied"));
  CHECK(exec(fx, plain, {"ping", "-c", "1", "127.0.0.1"}).value.exit_code() == 0);

  CHECK(status_field(proc_status(fx, none), "CapBnd") == "0000000000000000");
  CHECK(status_field(proc_status(fx, all), "CapBnd") != "0000000000000000");
  CHECK(status_field(proc_status(fx, all), "CapEff") == status_field(proc_status(fx, all), "CapBnd"));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security: a privileged container has every capability and ignores its seccomp profile", "[security][lxd]") {
  CriFixture fx("secpriv");
  const auto pod = privileged_pod(fx, "p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string profile = write_profile(fx, "block-hostname.json", kBlockHostname);
  const std::string priv = fx.must_run_container(pod_id, sleeper("priv", [&](auto& sc) {
                                                   sc.set_privileged(true);
                                                   localhost(sc, profile);
                                                 }),
                                                 pod);
  const std::string status = proc_status(fx, priv);
  CHECK(status_field(status, "CapBnd") == status_field(status, "CapEff"));
  CHECK(status_field(status, "CapBnd").find_first_not_of("0") != std::string::npos);
  // No filter at all: neither lxe's nor LXD's default denylist (runc's privileged has none either).
  CHECK(status_field(status, "Seccomp") == "0");
  CHECK(status_field(status, "Seccomp_filters") == "0");
  CHECK(brctl_addbr_works(fx, priv));
  CHECK(exec(fx, priv, {"hostname", "ANewHostName"}).value.exit_code() == 0);
  // Not privileged, in the same pod: containerd's defaults.
  const std::string plain = fx.must_run_container(pod_id, sleeper("plain", [](auto& sc) { sc.set_privileged(false); }), pod);
  CHECK_FALSE(brctl_addbr_works(fx, plain));
  // And never host root: the instance is an unprivileged LXD container.
  for (const auto& name : fx.lxd_instances()) {
    const auto instance = fx.lxd().get_instance(name);
    const auto it = instance.config.find("security.privileged");
    CHECK((it == instance.config.end() || it->second != "true"));
  }
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security: no_new_privs", "[security][lxd]") {
  const std::string conf = registries_conf();
  CriFixture fx("secnnp", conf.empty() ? std::vector<std::string>{} : std::vector<std::string>{"--registries-conf", conf});
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string nnp =
      fx.must_run_container(pod_id, sleeper("nnp", [](auto& sc) { sc.set_no_new_privs(true); }), pod);
  CHECK(status_field(proc_status(fx, nnp), "NoNewPrivs") == "1");
  const std::string plain = fx.must_run_container(pod_id, sleeper("plain"), pod);
  CHECK(status_field(proc_status(fx, plain), "NoNewPrivs") == "0");

  // critest's: a setuid-root program run by uid 1000 (e2e-test-images/nonewprivs, the test
  // registry's stand-in, built when gcc is there).
  const std::string image = "registry.k8s.io/e2e-test-images/nonewprivs:1.3";
  if (conf.empty() || !fx.pull_image(image).ok()) {
    WARN("no test registry or no nonewprivs image there (scripts/test-registry.sh needs gcc): setuid part skipped");
  } else {
    for (const bool no_new_privs : {true, false}) {
      const std::string name = no_new_privs ? "setuid-nnp" : "setuid";
      cri::ContainerConfig config;
      config.mutable_metadata()->set_name(name);
      config.mutable_image()->set_image(image);
      config.set_log_path(name + ".log");
      security(config).set_no_new_privs(no_new_privs);
      security(config).mutable_run_as_user()->set_value(1000);
      const std::string id = fx.must_run_container(pod_id, config, pod);
      CHECK(fx.wait_for_state(id, cri::CONTAINER_EXITED, std::chrono::seconds(30)).state() == cri::CONTAINER_EXITED);
      const std::string expected = no_new_privs ? "Effective uid: 1000" : "Effective uid: 0";
      const auto log = wait_for_record(CriFixture::log_file(pod, name + ".log"), expected);
      INFO("log: " << log);
      CHECK(log.find(" stdout F " + expected + "\n") != std::string::npos);
    }
  }
  fx.remove_all_pods_and_expect_clean();
  if (!conf.empty()) fx.remove_image(image);
}

TEST_CASE("security: a Localhost seccomp profile is kept with the container and applied to execs", "[security][lxd]") {
  CriFixture fx("secsecl");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string chmod_profile = write_profile(fx, "block-chmod.json", kBlockChmod);
  const std::string c = fx.must_create_container(pod_id, sleeper("c", [&](auto& sc) { localhost(sc, chmod_profile); }), pod);
  // An edit of the file after CreateContainer changes nothing for the container.
  lxe::test::write_file(chmod_profile, R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  REQUIRE(fx.start(c).ok());
  const auto r = exec(fx, c, {"chmod", "400", "/"});
  CHECK(r.value.exit_code() != 0);
  CHECK_THAT(r.value.stderr(), Catch::Contains("Operation not permitted"));
  CHECK(status_field(proc_status(fx, c), "Seccomp_filters") == "2");  // LXD's and the container's

  // With SYS_ADMIN, sethostname works unconfined and fails under a profile that blocks it.
  const std::string hostname_profile = write_profile(fx, "block-hostname.json", kBlockHostname);
  const std::string unconfined = fx.must_run_container(pod_id, sleeper("unconfined", [](auto& sc) {
                                                         sc.mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
                                                         sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::Unconfined);
                                                       }),
                                                       pod);
  CHECK(exec(fx, unconfined, {"hostname", "ANewHostName"}).value.exit_code() == 0);
  // Unconfined is no filter at all, as under runc (critest looks for "Seccomp: 0").
  CHECK(status_field(proc_status(fx, unconfined), "Seccomp") == "0");
  CHECK(status_field(proc_status(fx, unconfined), "Seccomp_filters") == "0");
  const std::string blocked = fx.must_run_container(pod_id, sleeper("blocked", [&](auto& sc) {
                                                      sc.mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
                                                      localhost(sc, hostname_profile);
                                                    }),
                                                    pod);
  CHECK(exec(fx, blocked, {"hostname", "ANewHostName"}).value.exit_code() != 0);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security: RuntimeDefault loads lxe's profile, which blocks unshare without SYS_ADMIN", "[security][lxd]") {
  CriFixture fx("secdef");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string def = fx.must_run_container(
      pod_id, sleeper("def", [](auto& sc) { sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault); }),
      pod);
  const std::string plain = fx.must_run_container(pod_id, sleeper("plain"), pod);
  const std::string admin = fx.must_run_container(pod_id, sleeper("admin", [](auto& sc) {
                                                    sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault);
                                                    sc.mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
                                                  }),
                                                  pod);
  CHECK(status_field(proc_status(fx, def), "Seccomp") == "2");
  CHECK(status_field(proc_status(fx, def), "Seccomp_filters") == "2");
  // A new user namespace needs no capability: only the filter stops it.
  const auto blocked = exec(fx, def, {"unshare", "-U", "true"});
  CHECK(blocked.value.exit_code() != 0);
  CHECK_THAT(blocked.value.stderr(), Catch::Contains("Operation not permitted"));
  CHECK(exec(fx, plain, {"unshare", "-U", "true"}).value.exit_code() == 0);
  // No profile at all (critest's "nil profile") is unconfined: no filter, LXD's included.
  CHECK(status_field(proc_status(fx, plain), "Seccomp") == "0");
  CHECK(exec(fx, admin, {"unshare", "-U", "true"}).value.exit_code() == 0);
  // Ordinary work goes on under it.
  CHECK(exec(fx, def, {"sh", "-c", "echo ok > /tmp/f && chmod 600 /tmp/f && cat /tmp/f"}).value.stdout() == "ok\n");
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security: oom_score_adj is set where the kernel lets the container, never failing the start", "[security][lxd]") {
  CriFixture fx("secoom");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // The workload records its own value; an exec reports its own.
  const auto with_adj = [&](const std::string& name, std::optional<int64_t> adj) {
    auto config = CriFixture::container_config(name, {"sh", "-c", "cat /proc/self/oom_score_adj > /tmp/adj; exec sleep 3600"});
    if (adj) config.mutable_linux()->mutable_resources()->set_oom_score_adj(*adj);
    return fx.must_run_container(pod_id, config, pod);
  };
  const auto workload_adj = [&](const std::string& id) {
    for (int i = 0; i < 100; ++i) {
      const auto r = exec(fx, id, {"cat", "/tmp/adj"});
      if (r.value.exit_code() == 0) return r.value.stdout();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::string("(never written)");
  };
  const std::string plain = with_adj("plain", std::nullopt);
  const std::string inherited = workload_adj(plain);
  // Kubelet's BestEffort and a Burstable value: above the floor, so set.
  const std::string best_effort = with_adj("besteffort", 1000);
  CHECK(workload_adj(best_effort) == "1000\n");
  CHECK(exec(fx, best_effort, {"cat", "/proc/self/oom_score_adj"}).value.stdout() == "1000\n");
  const std::string burstable = with_adj("burstable", 500);
  CHECK(workload_adj(burstable) == "500\n");
  // Guaranteed's -997 needs CAP_SYS_RESOURCE over the host: the container starts with what it
  // inherited, below every value above.
  const std::string guaranteed = with_adj("guaranteed", -997);
  CHECK(workload_adj(guaranteed) == inherited);
  CHECK(fx.container_status(guaranteed).value.state() == cri::CONTAINER_RUNNING);
  // Out of the kernel's range: refused before anything is stored.
  auto bad = CriFixture::container_config("bad", {"sleep", "1"});
  bad.mutable_linux()->mutable_resources()->set_oom_score_adj(1001);
  const auto refused = fx.create_container(pod_id, bad, pod);
  CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("oom_score_adj 1001"));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security: supplemental groups, and the identity ContainerStatus reports", "[security][lxd]") {
  const std::string conf = registries_conf();
  CriFixture fx("secgrp", conf.empty() ? std::vector<std::string>{} : std::vector<std::string>{"--registries-conf", conf});
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string plain = fx.must_run_container(pod_id, sleeper("plain", [](auto& sc) {
                                                    sc.add_supplemental_groups(1234);
                                                    sc.add_supplemental_groups(5678);
                                                  }),
                                                  pod);
  CHECK(exec(fx, plain, {"id", "-G"}).value.stdout() == "0 1234 5678\n");
  const auto status = fx.container_status(plain);
  REQUIRE(status.ok());
  REQUIRE(status.value.has_user());
  CHECK(status.value.user().linux().uid() == 0);
  CHECK(status.value.user().linux().gid() == 0);
  CHECK(std::vector<int64_t>(status.value.user().linux().supplemental_groups().begin(),
                             status.value.user().linux().supplemental_groups().end()) ==
        std::vector<int64_t>{0, 1234, 5678});

  cri::StatusRequest request;
  cri::StatusResponse response;
  grpc::ClientContext context;
  REQUIRE(fx.runtime().Status(&context, request, &response).ok());
  CHECK(response.features().supplemental_groups_policy());

  // critest's SupplementalGroupsPolicy specs, with cri-tools' image-predefined-group stand-in:
  // its user 1000 is also in group-defined-in-image (50000).
  const std::string image = "gcr.io/k8s-staging-cri-tools/test-image-predefined-group:latest";
  if (conf.empty() || !fx.pull_image(image).ok()) {
    WARN("no test registry or no predefined-group image: the Merge and Strict part is skipped");
  } else {
    for (const bool strict : {false, true}) {
      const std::string name = strict ? "strict" : "merge";
      cri::ContainerConfig config;
      config.mutable_metadata()->set_name(name);
      config.mutable_image()->set_image(image);
      config.add_command("sh");
      config.add_command("-c");
      config.add_command("id -G; sleep 3600");
      config.set_log_path(name + ".log");
      security(config).mutable_run_as_user()->set_value(1000);
      security(config).add_supplemental_groups(1234);
      if (strict) security(config).set_supplemental_groups_policy(cri::SupplementalGroupsPolicy::Strict);
      const std::string id = fx.must_run_container(pod_id, config, pod);
      const std::string expected = strict ? "1000 1234" : "1000 1234 50000";
      const auto log = wait_for_record(CriFixture::log_file(pod, name + ".log"), expected);
      INFO("log: " << log);
      CHECK(log.find(" stdout F " + expected + "\n") != std::string::npos);
      CHECK(exec(fx, id, {"id", "-G"}).value.stdout() == expected + "\n");
      const auto st = fx.container_status(id);
      REQUIRE(st.ok());
      CHECK(st.value.user().linux().uid() == 1000);
      CHECK(st.value.user().linux().gid() == 1000);
      auto groups = std::vector<int64_t>(st.value.user().linux().supplemental_groups().begin(),
                                         st.value.user().linux().supplemental_groups().end());
      std::sort(groups.begin(), groups.end());
      CHECK(groups == (strict ? std::vector<int64_t>{1000, 1234} : std::vector<int64_t>{1000, 1234, 50000}));
    }
  }
  fx.remove_all_pods_and_expect_clean();
  if (!conf.empty()) fx.remove_image(image);
}

TEST_CASE("security: CreateContainer refuses what it cannot apply, with INVALID_ARGUMENT and why", "[security][lxd]") {
  CriFixture fx("secbad");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const auto refused = [&](const cri::ContainerConfig& config, const std::string& why) {
    const auto reply = fx.create_container(pod_id, config, pod);
    INFO(describe(reply.status));
    CHECK(reply.code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(reply.status.error_message(), Catch::Contains(why));
  };
  refused(sleeper("cap", [](auto& sc) { sc.mutable_capabilities()->add_add_capabilities("NET_ADMIM"); }), "'NET_ADMIM'");
  refused(sleeper("priv", [](auto& sc) { sc.set_privileged(true); }), "the pod sandbox is not privileged");
  refused(sleeper("missing", [&](auto& sc) { localhost(sc, fx.dir().file("no-such.json")); }),
          fx.dir().file("no-such.json") + " cannot be read: No such file or directory");
  const std::string bad = write_profile(fx, "bad.json", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [)");
  refused(sleeper("invalid", [&](auto& sc) { localhost(sc, bad); }), bad + " cannot be used: it is not valid JSON");
  const std::string unknown =
      write_profile(fx, "unknown.json", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmodd"], "action": "SCMP_ACT_ERRNO"}]})");
  refused(sleeper("unknown", [&](auto& sc) { localhost(sc, unknown); }), "'chmodd'");
  refused(sleeper("relative", [&](auto& sc) { localhost(sc, "profiles/x.json"); }), "not an absolute path");
  // AppArmor and SELinux: nothing would apply a node profile or a label, so they are refused.
  refused(sleeper("aa", [](auto& sc) {
            sc.mutable_apparmor()->set_profile_type(cri::SecurityProfile::Localhost);
            sc.mutable_apparmor()->set_localhost_ref("k8s-deny-write");
          }),
          "the node's profile 'k8s-deny-write'");
  refused(sleeper("aa-old", [](auto& sc) { sc.set_apparmor_profile("localhost/k8s-deny-write"); }), "k8s-deny-write");
  refused(sleeper("selinux", [](auto& sc) { sc.mutable_selinux_options()->set_level("s0:c123,c456"); }),
          "selinux_options are set");

  // A system container (the LXD image busybox, no command) runs the image's init.
  const auto system = [](const std::string& name, const std::function<void(cri::LinuxContainerSecurityContext&)>& edit) {
    auto config = CriFixture::container_config(name, {});
    edit(security(config));
    return config;
  };
  refused(system("sys1", [](auto& sc) { sc.mutable_capabilities()->add_drop_capabilities("NET_RAW"); }),
          "runs its image's own init");
  refused(system("sys2", [](auto& sc) { sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault); }),
          "a seccomp profile");
  refused(system("sys3", [](auto& sc) { sc.set_no_new_privs(true); }), "no_new_privs");
  refused(system("sys4", [](auto& sc) { sc.add_supplemental_groups(5); }), "supplemental_groups");
  CHECK(fx.list_containers().empty());
  // AppArmor's RuntimeDefault (LXD's own profile, where the host has AppArmor) is accepted.
  fx.must_create_container(pod_id, sleeper("aa-default", [](auto& sc) {
                             sc.mutable_apparmor()->set_profile_type(cri::SecurityProfile::RuntimeDefault);
                           }),
                           pod);
  // A pod with an SELinux label is refused before anything is stored.
  auto labelled = fx.pod_config("labelled");
  labelled.mutable_linux()->mutable_security_context()->mutable_selinux_options()->set_type("spc_t");
  const auto pod_refused = fx.run_pod(labelled);
  CHECK(pod_refused.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(pod_refused.status.error_message(), Catch::Contains("the pod's security_context: selinux_options"));
  // Unconfined is what it gets: accepted.
  fx.must_create_container(
      pod_id, system("sys5", [](auto& sc) { sc.mutable_seccomp()->set_profile_type(cri::SecurityProfile::Unconfined); }),
      pod);
  fx.remove_all_pods_and_expect_clean();
}
