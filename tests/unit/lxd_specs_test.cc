// CRI configs to LXD specs: resolv.conf, the sandbox profile and namespace holder, container
// instances and their raw.lxc, lxe-init's spec, resource limits, and the stored-config codec.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "reconcile/plan.h"

using lxe::reconcile::container_instance;
using lxe::reconcile::container_raw_lxc;
using lxe::reconcile::HostFiles;
using lxe::reconcile::hostname_of;
using lxe::reconcile::infra_instance;
using lxe::reconcile::init_spec;
using lxe::reconcile::MappingOptions;
using lxe::reconcile::namespace_share_lines;
using lxe::model::parse_container_config;
using lxe::model::parse_sandbox_config;
using lxe::reconcile::resolv_conf;
using lxe::reconcile::resource_limit_patches;
using lxe::reconcile::runs_image_init;
using lxe::reconcile::valid_hostname;
using lxe::reconcile::sandbox_profile;
using lxe::store::ContainerRecord;
using lxe::store::SandboxRecord;
namespace v1 = runtime::v1;
namespace lxd = lxe::lxd;

namespace {

const std::string kSandboxId(64, 'a');
const std::string kContainerId(64, 'b');

SandboxRecord sandbox(int64_t infra_pid = 0) {
  SandboxRecord s;
  s.id = kSandboxId;
  s.name = "web";
  s.namespace_ = "shop";
  s.lxd_name = "lxe-web-aaaaaaaaaaaa";
  s.infra_pid = infra_pid;
  return s;
}

ContainerRecord container(const std::string& log_path = "/var/log/pods/shop_web_uid/app/0.log") {
  ContainerRecord c;
  c.id = kContainerId;
  c.sandbox_id = kSandboxId;
  c.name = "app";
  c.lxd_name = "lxe-web-app-bbbbbbbbbbbb";
  c.image = "busybox";
  c.log_path = log_path;
  return c;
}

MappingOptions options_with_mark() {
  MappingOptions o;
  o.pause_image_alias = "my-pause";
  o.extra_config = {{"user.lxe.test-pid", "1234"}, {"user.lxe.managed", "no"}};
  return o;
}

void add_env(v1::ContainerConfig& c, const std::string& k, const std::string& v) {
  auto* kv = c.add_envs();
  kv->set_key(k);
  kv->set_value(v);
}

void check_owned(const lxd::Config& config, const std::string& kind, const std::string& id) {
  CHECK(config.at("user.lxe.managed") == "true");  // not overridden by extra_config
  CHECK(config.at("user.lxe.kind") == kind);
  CHECK(config.at("user.lxe.id") == id);
  CHECK(config.at("user.lxe.sandbox-id") == kSandboxId);
  CHECK(config.at("user.lxe.test-pid") == "1234");  // extra_config reaches everything lxe makes
}

const HostFiles kFiles("/var/lib/lxe/files");

}  // namespace

TEST_CASE("resolv_conf", "[lxd_specs]") {
  v1::PodSandboxConfig config;
  CHECK(resolv_conf(config).empty());
  config.mutable_dns_config();
  CHECK(resolv_conf(config).empty());  // present but empty: the image's own

  SECTION("servers, searches and options") {
    auto* dns = config.mutable_dns_config();
    dns->add_servers("10.96.0.10");
    dns->add_servers("8.8.8.8");
    dns->add_searches("shop.svc.cluster.local");
    dns->add_searches("svc.cluster.local");
    dns->add_options("ndots:5");
    dns->add_options("edns0");
    CHECK(resolv_conf(config) ==
          "nameserver 10.96.0.10\nnameserver 8.8.8.8\nsearch shop.svc.cluster.local svc.cluster.local\n"
          "options ndots:5 edns0\n");
  }
  SECTION("servers only") {
    config.mutable_dns_config()->add_servers("1.1.1.1");
    CHECK(resolv_conf(config) == "nameserver 1.1.1.1\n");
  }
  SECTION("searches only") {
    config.mutable_dns_config()->add_searches("example.com");
    CHECK(resolv_conf(config) == "search example.com\n");
  }
  SECTION("options only") {
    config.mutable_dns_config()->add_options("ndots:2");
    CHECK(resolv_conf(config) == "options ndots:2\n");
  }
}

TEST_CASE("sandbox_profile", "[lxd_specs]") {
  v1::PodSandboxConfig config;
  const auto options = options_with_mark();
  SECTION("without DNS config: marks only, no devices") {
    const auto p = sandbox_profile(sandbox(), config, kFiles, options);
    CHECK(p.name == "lxe-web-aaaaaaaaaaaa");
    CHECK(p.description.find("shop/web") != std::string::npos);
    check_owned(p.config, "sandbox", kSandboxId);
    CHECK(p.devices.empty());
  }
  SECTION("with DNS config: the pod's resolv.conf, read-only, over /etc/resolv.conf") {
    config.mutable_dns_config()->add_servers("10.96.0.10");
    const auto p = sandbox_profile(sandbox(), config, kFiles, options);
    REQUIRE(p.devices.count("lxe-resolv") == 1);
    const auto& d = p.devices.at("lxe-resolv");
    CHECK(d.at("type") == "disk");
    CHECK(d.at("source") == kFiles.sandbox_dir(kSandboxId) + "/resolv.conf");
    CHECK(d.at("source") == "/var/lib/lxe/files/sandboxes/" + kSandboxId + "/resolv.conf");
    CHECK(d.at("path") == "/etc/resolv.conf");
    CHECK(d.at("readonly") == "true");
  }
}

TEST_CASE("infra_instance: the pod's namespace holder", "[lxd_specs]") {
  v1::PodSandboxConfig config;
  const auto options = options_with_mark();
  SECTION("hostname from the config") {
    config.set_hostname("web-7d9f");
    const auto i = infra_instance(sandbox(), config, kFiles, options);
    CHECK(i.name == "lxe-web-aaaaaaaaaaaa");
    CHECK(i.profiles == std::vector<std::string>{"default", "lxe-web-aaaaaaaaaaaa"});
    check_owned(i.config, "sandbox", kSandboxId);
    CHECK(i.config.at("raw.lxc") == "lxc.init.cmd = /.lxe/init pause\nlxc.uts.name = web-7d9f\n");
    CHECK(i.config.at("boot.autostart") == "false");
    CHECK(i.source.alias == "my-pause");
    CHECK(i.source.fingerprint.empty());
    REQUIRE(i.devices.count("lxe-init") == 1);
    const auto& d = i.devices.at("lxe-init");
    CHECK(d.at("type") == "disk");
    CHECK(d.at("source") == "/var/lib/lxe/files/lxe-init");
    CHECK(d.at("path") == "/.lxe/init");
    CHECK(d.at("readonly") == "true");
    CHECK(i.devices.size() == 1);
  }
  SECTION("hostname defaults to the pod name") {
    const auto i = infra_instance(sandbox(), config, kFiles, MappingOptions{});
    CHECK(i.config.at("raw.lxc") == "lxc.init.cmd = /.lxe/init pause\nlxc.uts.name = web\n");
    CHECK(i.source.alias == "lxe-pause");
    CHECK(i.config.count("user.lxe.test-pid") == 0);
  }
}

TEST_CASE("valid_hostname", "[lxd_specs]") {
  for (const std::string& ok : std::vector<std::string>{"web", "web-7d9f", "Web", "a", "0", "9lives", "a.b.c",
                                                        "my-pod.shop.svc", std::string(63, 'h')}) {
    CAPTURE(ok);
    CHECK(valid_hostname(ok));
  }
  for (const std::string& bad : std::vector<std::string>{
           "", std::string(64, 'h'), "-web", "web-", "web.", ".web", "a..b", "a-.b", "a.-b", "under_score",
           "sp ace", "new\nline", "web\nlxc.apparmor.profile = unconfined", "tab\t", "é", "a/b", "a=b"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_hostname(bad));
  }
}

TEST_CASE("hostname_of: the config's hostname when valid, else the pod name made valid", "[lxd_specs]") {
  v1::PodSandboxConfig config;
  SandboxRecord s = sandbox();
  CHECK(hostname_of(s, config) == "web");
  config.set_hostname("web-host");
  CHECK(hostname_of(s, config) == "web-host");
  config.set_hostname("evil\nlxc.mount.entry = / /host none bind 0 0");
  CHECK(hostname_of(s, config) == "web");
  config.set_hostname(std::string(64, 'h'));
  CHECK(hostname_of(s, config) == "web");
  config.clear_hostname();
  s.name = "My_Pod.Name";
  CHECK(hostname_of(s, config) == "my-pod-name");
  s.name = "___";
  CHECK(hostname_of(s, config) == "pod");
  s.name = std::string(100, 'n');
  CHECK(hostname_of(s, config) == std::string(63, 'n'));
  // Whatever the input, the result is a valid hostname.
  for (const std::string& name : std::vector<std::string>{"", "-", "123", "日本", "a\nb", "x.y", std::string(300, '.')}) {
    s.name = name;
    CAPTURE(name);
    CHECK(valid_hostname(hostname_of(s, config)));
  }
}

TEST_CASE("raw.lxc never carries a hostname that could inject configuration", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  sandbox_config.set_hostname("x\nlxc.apparmor.profile = unconfined");
  v1::ContainerConfig config;
  config.add_command("sh");
  SandboxRecord s = sandbox(77);
  s.name = "pod\nlxc.cap.drop =";
  const auto raw = container_raw_lxc(container(), config, s, sandbox_config, kFiles, {});
  CHECK(raw.find("apparmor") == std::string::npos);
  CHECK(raw.find("cap.drop") == std::string::npos);
  CHECK(raw == "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = pod-lxc-cap-drop\n" +
                   namespace_share_lines(77) + "lxc.namespace.share.pid = 77\nlxc.namespace.share.ipc = 77\n");
  const auto infra = infra_instance(s, sandbox_config, kFiles, MappingOptions{});
  CHECK(infra.config.at("raw.lxc") == "lxc.init.cmd = /.lxe/init pause\nlxc.uts.name = pod-lxc-cap-drop\n");
  CHECK(init_spec(container(), config, s, sandbox_config).at("hostname") == "pod-lxc-cap-drop");
}

TEST_CASE("the pod's sysctls reach LXC in every container and in the holder", "[lxd_specs][sysctls]") {
  v1::PodSandboxConfig sandbox_config;
  (*sandbox_config.mutable_linux()->mutable_sysctls())["net/core/somaxconn"] = "1024";
  (*sandbox_config.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  v1::ContainerConfig config;
  config.add_command("top");
  const std::string lines = "lxc.sysctl.kernel.shm_rmid_forced = 1\nlxc.sysctl.net.core.somaxconn = 1024\n";
  const auto raw = container_raw_lxc(container(), config, sandbox(4321), sandbox_config, kFiles, {});
  CHECK(raw.size() >= lines.size());
  CHECK(raw.substr(raw.size() - lines.size()) == lines);
  CHECK(infra_instance(sandbox(0), sandbox_config, kFiles, {})
            .config.at("raw.lxc")
            .find(lines) != std::string::npos);
}

TEST_CASE("container_raw_lxc", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;
  SECTION("the image's init: no lxc.init.cmd, and no namespaces before the holder has a PID") {
    REQUIRE(runs_image_init(container(), config));
    CHECK(container_raw_lxc(container(), config, sandbox(0), sandbox_config, kFiles, {}) == "lxc.uts.name = web\n");
  }
  SECTION("an OCI image's container runs its entrypoint under lxe-init, also without a command") {
    auto c = container();
    c.image_defaults = R"({"entrypoint": ["/bin/httpd"], "cmd": ["-f"], "stop_signal": "SIGQUIT"})";
    REQUIRE_FALSE(runs_image_init(c, config));
    CHECK(container_raw_lxc(c, config, sandbox(0), sandbox_config, kFiles, {}) ==
          "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web\n");
    const auto spec = init_spec(c, config, sandbox(0), sandbox_config);
    CHECK(spec.at("args") == nlohmann::json({"/bin/httpd", "-f"}));
    CHECK(spec.at("stop_signal") == 3);  // the image's StopSignal, which lxe-init sends on stop
  }
  SECTION("a command: lxe-init runs it") {
    config.add_command("/bin/sh");
    REQUIRE_FALSE(runs_image_init(container(), config));
    CHECK(container_raw_lxc(container(), config, sandbox(0), sandbox_config, kFiles, {}) ==
          "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web\n");
  }
  SECTION("args alone are a command too") {
    config.add_args("sleep");
    REQUIRE_FALSE(runs_image_init(container(), config));
    CHECK(container_raw_lxc(container(), config, sandbox(0), sandbox_config, kFiles, {}).rfind("lxc.init.cmd = /.lxe/init run ", 0) == 0);
  }
  SECTION("the pod's hostname and namespaces") {
    sandbox_config.set_hostname("web-host");
    config.add_command("top");
    CHECK(container_raw_lxc(container(), config, sandbox(4321), sandbox_config, kFiles, {}) ==
          "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web-host\n"
          "lxc.namespace.share.net = 4321\nlxc.namespace.share.user = 4321\n"
          "lxc.namespace.share.pid = 4321\nlxc.namespace.share.ipc = 4321\n");
    CHECK(container_raw_lxc(container(), config, sandbox(4321), sandbox_config, kFiles, {}).find(namespace_share_lines(4321)) !=
          std::string::npos);
  }
  SECTION("cpu shares are not a raw.lxc key") {
    config.mutable_linux()->mutable_resources()->set_cpu_shares(512);
    // (A system container: the pod's IPC namespace, a PID namespace of its own.)
    CHECK(container_raw_lxc(container(), config, sandbox(7), sandbox_config, kFiles, {}) ==
          "lxc.uts.name = web\n" + namespace_share_lines(7) + "lxc.namespace.share.ipc = 7\n");
  }
}

TEST_CASE("a host network pod: its holder joins --host-netns, no NIC, no proxies; its instances bind the host's /sys",
          "[lxd_specs][network]") {
  MappingOptions options;
  options.host_netns = "/run/test/host-net";
  options.lxd_dir = "/var/snap/lxd/common/lxd";
  SandboxRecord s = sandbox();
  s.pod_network = "host";
  v1::PodSandboxConfig sandbox_config;
  sandbox_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
  auto* port = sandbox_config.add_port_mappings();
  port->set_host_port(8080);
  port->set_container_port(8080);
  const auto holder = infra_instance(s, sandbox_config, kFiles, options);
  CHECK(holder.config.at("raw.lxc") ==
        "lxc.init.cmd = /.lxe/init pause\nlxc.uts.name = web\n"
        "lxc.namespace.share.net = /run/test/host-net\n"
        "lxc.mount.auto =\n"
        "lxc.mount.auto = proc:rw cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/snap/lxd/common/lxd/shmounts/lxe-web-aaaaaaaaaaaa:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
  // Only lxe-init: no NIC on a bridge and no proxy (the pod's servers listen on the host).
  CHECK(holder.devices.size() == 1);
  CHECK(holder.devices.count("lxe-init") == 1);

  v1::ContainerConfig config;
  config.add_command("sh");
  // kubelet's modes: PID and IPC namespaces of its own.
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::CONTAINER);
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_ipc(v1::CONTAINER);
  s.infra_pid = 99;
  const auto raw = container_raw_lxc(container(), config, s, sandbox_config, kFiles, options);
  // The host's namespace, not the holder's PID (LXC could not enter it from the holder's user
  // namespace), and a user namespace of its own.
  CHECK(raw == "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web\n"
               "lxc.namespace.share.net = /run/test/host-net\n"
               "lxc.mount.auto =\n"
               "lxc.mount.auto = proc:rw cgroup:mixed\n"
               "lxc.mount.auto = shmounts:/var/snap/lxd/common/lxd/shmounts/lxe-web-app-bbbbbbbbbbbb:/dev/.lxd-mounts\n"
               "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
  CHECK(raw.find("share.user") == std::string::npos);
  CHECK(raw.find("shmounts/lxe-web-app-bbbbbbbbbbbb:") != std::string::npos);
  // A pod in its own namespace gets none of it.
  s.pod_network = "";
  sandbox_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::POD);
  CHECK(container_raw_lxc(container(), config, s, sandbox_config, kFiles, options).find("lxc.mount") == std::string::npos);
}

TEST_CASE("container_instance", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;
  config.add_command("/bin/app");
  config.add_args("--port=80");
  add_env(config, "FOO", "bar");
  add_env(config, "EMPTY", "");
  add_env(config, "", "ignored");
  auto* m1 = config.add_mounts();
  m1->set_host_path("/srv/data");
  m1->set_container_path("/data");
  m1->set_readonly(true);
  auto* m2 = config.add_mounts();
  m2->set_host_path("/srv/cache");
  m2->set_container_path("/cache");
  auto* r = config.mutable_linux()->mutable_resources();
  r->set_memory_limit_in_bytes(256 << 20);
  r->set_cpuset_cpus("1");

  const auto options = options_with_mark();
  // Limits come from the record's resources (as CreateContainer stores them from the config, and
  // UpdateContainerResources changes them), not from the config itself.
  auto record = container();
  record.resources_json = lxe::model::to_json(*r);
  const auto i = container_instance(record, config, sandbox(999), sandbox_config, kFiles, options);

  CHECK(i.name == "lxe-web-app-bbbbbbbbbbbb");
  CHECK(i.profiles == std::vector<std::string>{"default", "lxe-web-aaaaaaaaaaaa"});
  CHECK(i.description.find("app") != std::string::npos);
  CHECK(i.description.find("shop/web") != std::string::npos);
  check_owned(i.config, "container", kContainerId);
  CHECK(i.config.at("boot.autostart") == "false");
  CHECK(i.config.at("raw.lxc") == "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web\n" +
                                      namespace_share_lines(999) +
                                      "lxc.namespace.share.pid = 999\nlxc.namespace.share.ipc = 999\n");
  CHECK(i.config.at("environment.FOO") == "bar");
  CHECK(i.config.at("environment.EMPTY").empty());
  CHECK(i.config.count("environment.") == 0);
  CHECK(i.config.at("limits.memory") == std::to_string(256 << 20));
  CHECK(i.config.at("limits.cpu") == "1-1");
  CHECK(i.source.alias == "busybox");
  CHECK(i.source.fingerprint.empty());

  REQUIRE(i.devices.count("lxe-init") == 1);
  CHECK(i.devices.at("lxe-init") == std::map<std::string, std::string>{{"type", "disk"},
                                                                        {"source", "/var/lib/lxe/files/lxe-init"},
                                                                        {"path", "/.lxe/init"},
                                                                        {"readonly", "true"}});
  REQUIRE(i.devices.count("lxe-state") == 1);
  CHECK(i.devices.at("lxe-state") ==
        std::map<std::string, std::string>{
            {"type", "disk"}, {"source", "/var/lib/lxe/files/containers/" + kContainerId}, {"path", "/.lxe/state"}});
  REQUIRE(i.devices.count("lxe-log") == 1);
  CHECK(i.devices.at("lxe-log") ==
        std::map<std::string, std::string>{
            {"type", "disk"}, {"source", "/var/log/pods/shop_web_uid/app"}, {"path", "/.lxe/log"}});
  REQUIRE(i.devices.count("mount0") == 1);
  CHECK(i.devices.at("mount0") == std::map<std::string, std::string>{
                                      {"type", "disk"}, {"source", "/srv/data"}, {"path", "/data"}, {"readonly", "true"}});
  REQUIRE(i.devices.count("mount1") == 1);
  CHECK(i.devices.at("mount1") ==
        std::map<std::string, std::string>{{"type", "disk"}, {"source", "/srv/cache"}, {"path", "/cache"}});
  CHECK(i.devices.size() == 5);
}

TEST_CASE("container_instance: image by fingerprint, no log, image init, no pod PID yet", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;  // no command: the image's init
  ContainerRecord c = container("");
  c.image_ref = "f00dfeed";
  const auto i = container_instance(c, config, sandbox(0), sandbox_config, kFiles, MappingOptions{});
  CHECK(i.source.fingerprint == "f00dfeed");
  CHECK(i.source.alias.empty());
  CHECK(i.devices.count("lxe-log") == 0);
  CHECK(i.devices.count("lxe-init") == 1);
  CHECK(i.devices.count("lxe-state") == 1);
  CHECK(i.config.at("raw.lxc") == "lxc.uts.name = web\n");
  CHECK(i.config.count("limits.memory") == 0);
  CHECK(i.config.count("limits.cpu") == 0);
  CHECK(i.config.count("limits.cpu.allowance") == 0);
  for (const auto& [k, v] : i.config) CHECK(k.rfind("environment.", 0) != 0);
}

TEST_CASE("init_spec: oom_score_adj from the record's resources, clamped to the kernel's range", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;
  config.add_command("sleep");
  ContainerRecord c = container();
  c.resources_json = R"({"oomScoreAdj": "1000"})";
  CHECK(init_spec(c, config, sandbox(1), sandbox_config).at("oom_score_adj") == 1000);
  c.resources_json = R"({"oomScoreAdj": "-997"})";
  CHECK(init_spec(c, config, sandbox(1), sandbox_config).at("oom_score_adj") == -997);
  c.resources_json = R"({"oomScoreAdj": "5000"})";  // stored before CreateContainer checked the range
  CHECK(init_spec(c, config, sandbox(1), sandbox_config).at("oom_score_adj") == 1000);
  c.resources_json = "{}";
  CHECK_FALSE(init_spec(c, config, sandbox(1), sandbox_config).contains("oom_score_adj"));
}

TEST_CASE("container_instance: an unconfined container goes without LXD's default syscall denylist", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  const auto deny_default = [&](const std::function<void(v1::LinuxContainerSecurityContext&)>& edit) {
    v1::ContainerConfig config;
    config.add_command("sleep");
    if (edit) edit(*config.mutable_linux()->mutable_security_context());
    const auto i = container_instance(container(), config, sandbox(1), sandbox_config, kFiles, MappingOptions{});
    const auto it = i.config.find("security.syscalls.deny_default");
    return it == i.config.end() ? std::string("(unset)") : it->second;
  };
  // Nothing asked (kubelet's default), Unconfined, the old "unconfined" path, privileged: no filter.
  CHECK(deny_default({}) == "false");
  CHECK(deny_default([](auto& sc) { sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined); }) == "false");
  CHECK(deny_default([](auto& sc) { sc.set_seccomp_profile_path("unconfined"); }) == "false");
  CHECK(deny_default([](auto& sc) {
          sc.set_privileged(true);
          sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
        }) == "false");
  // A filter of lxe's stacks on LXD's policy, which stays as LXD sets it.
  CHECK(deny_default([](auto& sc) { sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault); }) == "(unset)");
  CHECK(deny_default([](auto& sc) { sc.set_seccomp_profile_path("runtime/default"); }) == "(unset)");
  CHECK(deny_default([](auto& sc) {
          sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
          sc.mutable_seccomp()->set_localhost_ref("/etc/p.json");
        }) == "(unset)");
}

TEST_CASE("resource_limit_patches", "[lxd_specs]") {
  v1::LinuxContainerResources r;
  SECTION("nothing set: no patch") { CHECK(resource_limit_patches(r).empty()); }
  SECTION("memory") {
    r.set_memory_limit_in_bytes(134217728);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.memory", "134217728"}}});
  }
  SECTION("cpu quota and period in microseconds become milliseconds") {
    r.set_cpu_quota(50000);
    r.set_cpu_period(100000);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "50ms/100ms"}}});
    r.set_cpu_quota(250000);
    r.set_cpu_period(200000);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "250ms/200ms"}}});
  }
  SECTION("quota without period: the default 100ms period") {
    r.set_cpu_quota(20000);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "20ms/100ms"}}});
  }
  SECTION("a quota below 1ms is 1ms") {
    r.set_cpu_quota(500);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "1ms/100ms"}}});
  }
  SECTION("shares without a quota: a soft allowance, one CPU's worth = 100%") {
    r.set_cpu_shares(512);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "50%"}}});
    r.set_cpu_shares(1024);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "100%"}}});
    r.set_cpu_shares(2);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "1%"}}});
    r.set_cpu_shares(8192);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "100%"}}});
  }
  SECTION("shares too large for shares * 100 (fuzzer finding): still 100%, no overflow") {
    // The product once overflowed int64 (undefined behaviour; in practice it wrapped negative and
    // the pod got 1% instead of 100%).
    r.set_cpu_shares(std::numeric_limits<int64_t>::max());
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "100%"}}});
    r.set_cpu_shares(std::numeric_limits<int64_t>::max() / 100 + 1);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "100%"}}});
  }
  SECTION("shares with a quota: the hard limit wins") {
    r.set_cpu_shares(512);
    r.set_cpu_quota(30000);
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu.allowance", "30ms/100ms"}}});
  }
  SECTION("cpuset: a single CPU is spelt as a range") {
    r.set_cpuset_cpus("3");
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu", "3-3"}}});
    r.set_cpuset_cpus("12");
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu", "12-12"}}});
  }
  SECTION("cpuset: ranges and lists unchanged") {
    r.set_cpuset_cpus("0-1");
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu", "0-1"}}});
    r.set_cpuset_cpus("0,2");
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu", "0,2"}}});
    r.set_cpuset_cpus("0-1,4");
    CHECK(resource_limit_patches(r) == std::vector<lxd::Config>{{{"limits.cpu", "0-1,4"}}});
  }
  SECTION("everything: limits.cpu alone in its own patch, after the rest") {
    r.set_memory_limit_in_bytes(1 << 30);
    r.set_cpu_quota(100000);
    r.set_cpu_period(100000);
    r.set_cpuset_cpus("0-3");
    const auto patches = resource_limit_patches(r);
    REQUIRE(patches.size() == 2);
    CHECK(patches[0] ==
          lxd::Config{{"limits.memory", std::to_string(1 << 30)}, {"limits.cpu.allowance", "100ms/100ms"}});
    CHECK(patches[1] == lxd::Config{{"limits.cpu", "0-3"}});
  }
  SECTION("cpuset alone: one patch with only limits.cpu") {
    r.set_cpuset_cpus("5");
    const auto patches = resource_limit_patches(r);
    REQUIRE(patches.size() == 1);
    CHECK(patches[0].size() == 1);
  }
}

TEST_CASE("init_spec: what lxe-init runs", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;
  config.add_command("/bin/sh");
  config.add_command("-c");
  config.add_args("echo hi");
  config.add_args("extra");

  SECTION("defaults") {
    add_env(config, "FOO", "bar");
    add_env(config, "A", "b=c");
    const auto spec = init_spec(container(), config, sandbox(), sandbox_config);
    CHECK(spec.at("args") == nlohmann::json::array({"/bin/sh", "-c", "echo hi", "extra"}));
    CHECK(spec.at("env") ==
          nlohmann::json::array({"FOO=bar", "A=b=c", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
    CHECK(spec.at("cwd") == "/");
    CHECK(spec.at("log_path") == "/.lxe/log/0.log");  // the log directory as the container sees it
    CHECK(spec.at("exit_path") == "/.lxe/state/exit.json");
    CHECK(spec.at("hostname") == "web");  // no hostname in the config: the pod's name
    CHECK_FALSE(spec.contains("uid"));
    CHECK_FALSE(spec.contains("gid"));
    CHECK(spec.at("stdin") == false);
    CHECK(spec.at("stdin_once") == false);
    CHECK(spec.at("tty") == false);
    CHECK(spec.at("attach_socket") == "/.lxe/state/attach.sock");  // every container can be attached to
  }
  SECTION("stdin, stdin_once and tty for attaching") {
    config.set_stdin(true);
    config.set_stdin_once(true);
    config.set_tty(true);
    const auto spec = init_spec(container(), config, sandbox(), sandbox_config);
    CHECK(spec.at("stdin") == true);
    CHECK(spec.at("stdin_once") == true);
    CHECK(spec.at("tty") == true);
    // A terminal's kind, as containerd gives tty containers, unless the container names one.
    CHECK(spec.at("env") ==
          nlohmann::json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}));
    add_env(config, "TERM", "vt100");
    CHECK(init_spec(container(), config, sandbox(), sandbox_config).at("env") ==
          nlohmann::json::array({"TERM=vt100", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  }
  SECTION("PATH given: no default added") {
    add_env(config, "PATH", "/opt/bin");
    const auto spec = init_spec(container(), config, sandbox(), sandbox_config);
    CHECK(spec.at("env") == nlohmann::json::array({"PATH=/opt/bin"}));
  }
  SECTION("working dir, hostname, user and group") {
    config.set_working_dir("/work");
    sandbox_config.set_hostname("web-host");
    auto* sc = config.mutable_linux()->mutable_security_context();
    sc->mutable_run_as_user()->set_value(1000);
    sc->mutable_run_as_group()->set_value(2000);
    const auto spec = init_spec(container(), config, sandbox(), sandbox_config);
    CHECK(spec.at("cwd") == "/work");
    CHECK(spec.at("hostname") == "web-host");
    CHECK(spec.at("uid") == 1000);
    CHECK(spec.at("gid") == 2000);
  }
  SECTION("run as root explicitly") {
    config.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
    const auto spec = init_spec(container(), config, sandbox(), sandbox_config);
    CHECK(spec.at("uid") == 0);
    CHECK_FALSE(spec.contains("gid"));
  }
  SECTION("no log path: no log") {
    const auto spec = init_spec(container(""), config, sandbox(), sandbox_config);
    CHECK(spec.at("log_path") == "");
  }
  SECTION("command alone, args alone") {
    v1::ContainerConfig only_args;
    only_args.add_args("sleep");
    only_args.add_args("10");
    CHECK(init_spec(container(), only_args, sandbox(), sandbox_config).at("args") == nlohmann::json::array({"sleep", "10"}));
    v1::ContainerConfig only_command;
    only_command.add_command("true");
    CHECK(init_spec(container(), only_command, sandbox(), sandbox_config).at("args") == nlohmann::json::array({"true"}));
  }
}

TEST_CASE("stored configs: to_json and parse_*_config round trip", "[lxd_specs]") {
  using google::protobuf::util::MessageDifferencer;
  SECTION("ContainerConfig") {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name("app");
    config.mutable_metadata()->set_attempt(3);
    config.mutable_image()->set_image("busybox:latest");
    config.add_command("/bin/sh");
    config.add_args("-c");
    config.add_args("sleep 1");
    config.set_working_dir("/tmp");
    add_env(config, "FOO", "bar with spaces and \"quotes\"");
    auto* m = config.add_mounts();
    m->set_host_path("/h");
    m->set_container_path("/c");
    m->set_readonly(true);
    (*config.mutable_labels())["io.kubernetes.container.name"] = "app";
    (*config.mutable_annotations())["note"] = "ünïcode";
    config.set_log_path("app/0.log");
    config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(1234567);
    config.mutable_linux()->mutable_resources()->set_cpuset_cpus("0-1");
    config.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);

    const std::string json = lxe::model::to_json(config);
    CHECK(json.find("\"working_dir\"") != std::string::npos);  // proto field names, as stored
    const auto back = parse_container_config(json);
    CHECK(MessageDifferencer::Equals(config, back));
    CHECK(back.linux().security_context().has_run_as_user());
    CHECK(lxe::model::to_json(back) == json);
  }
  SECTION("PodSandboxConfig") {
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name("web");
    config.mutable_metadata()->set_namespace_("shop");
    config.mutable_metadata()->set_uid("uid-1");
    config.set_hostname("web-host");
    config.mutable_dns_config()->add_servers("10.0.0.10");
    config.mutable_dns_config()->add_options("ndots:5");
    (*config.mutable_labels())["app"] = "web";
    const auto back = parse_sandbox_config(lxe::model::to_json(config));
    CHECK(MessageDifferencer::Equals(config, back));
  }
  SECTION("camelCase JSON and unknown fields are accepted") {
    const auto c = parse_container_config(R"({"workingDir":"/w","someFutureField":{"x":1}})");
    CHECK(c.working_dir() == "/w");
    const auto s = parse_sandbox_config(R"({"hostname":"h","unknown":true})");
    CHECK(s.hostname() == "h");
  }
  SECTION("empty object: default messages") {
    CHECK(MessageDifferencer::Equals(parse_container_config("{}"), v1::ContainerConfig{}));
    CHECK(MessageDifferencer::Equals(parse_sandbox_config("{}"), v1::PodSandboxConfig{}));
  }
}

TEST_CASE("stored configs: malformed JSON throws", "[lxd_specs]") {
  for (const std::string bad : {"{", "not json", "[1,2]", R"({"metadata": 5})",
                                R"({"working_dir": 12})", R"({"command": [1, 2]})"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_container_config(bad), std::runtime_error);
  }
  for (const std::string bad : {"{", "null garbage", R"({"hostname": ["x"]})", R"({"dns_config": "x"})"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_sandbox_config(bad), std::runtime_error);
  }
  CHECK_THROWS_WITH(parse_container_config("{"), Catch::Contains("ContainerConfig"));
  CHECK_THROWS_WITH(parse_sandbox_config("{"), Catch::Contains("PodSandboxConfig"));
}

TEST_CASE("drifted_devices: lxe's devices that LXD lacks or has changed, and only those", "[specs][drift]") {
  const lxe::lxd::Devices wanted = {{"lxe-init", {{"type", "disk"}, {"source", "/s/init"}, {"path", "/.lxe/init"}}},
                                    {"lxe-log", {{"type", "disk"}, {"source", "/logs"}, {"path", "/.lxe/log"}}}};
  CHECK(lxe::reconcile::drifted_devices(wanted, wanted).empty());
  lxe::lxd::Devices observed = wanted;
  observed["someone-elses"] = {{"type", "none"}};  // not lxe's: not looked at
  CHECK(lxe::reconcile::drifted_devices(wanted, observed).empty());
  observed.erase("lxe-log");
  CHECK(lxe::reconcile::drifted_devices(wanted, observed) == std::vector<std::string>{"lxe-log"});
  observed["lxe-init"]["readonly"] = "false";
  CHECK(lxe::reconcile::drifted_devices(wanted, observed) == std::vector<std::string>{"lxe-init", "lxe-log"});
  CHECK(lxe::reconcile::drifted_devices({}, observed).empty());
}

TEST_CASE("root_host_ids: the host IDs of the container's root, from LXD's idmap", "[specs]") {
  lxe::lxd::Instance instance;
  CHECK(lxe::reconcile::root_host_ids(instance) == std::pair<int64_t, int64_t>{0, 0});
  instance.config["volatile.idmap.next"] =
      R"([{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536},)"
      R"({"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":65536}])";
  CHECK(lxe::reconcile::root_host_ids(instance) == std::pair<int64_t, int64_t>{1000000, 1000000});
  // Once it ran, the current map wins.
  instance.config["volatile.idmap.current"] = R"([{"Isuid":true,"Isgid":true,"Hostid":2000000,"Nsid":0,"Maprange":65536}])";
  CHECK(lxe::reconcile::root_host_ids(instance) == std::pair<int64_t, int64_t>{2000000, 2000000});
  instance.config["volatile.idmap.current"] = "not json";
  CHECK(lxe::reconcile::root_host_ids(instance) == std::pair<int64_t, int64_t>{1000000, 1000000});
}

TEST_CASE("instance_idmap: the whole idmap volumes are idmapped with", "[specs]") {
  lxe::lxd::Instance instance;
  instance.name = "c1";
  CHECK(lxe::reconcile::instance_idmap(instance).empty());  // privileged: no idmap
  instance.config["volatile.idmap.next"] =
      R"([{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536},)"
      R"({"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":65536}])";
  CHECK(lxe::reconcile::instance_idmap(instance) ==
        std::vector<lxe::reconcile::IdRange>{{true, false, 0, 1000000, 65536}, {false, true, 0, 1000000, 65536}});
  instance.config["volatile.idmap.current"] = R"([{"Isuid":true,"Isgid":true,"Hostid":2000000,"Nsid":0,"Maprange":5}])";
  CHECK(lxe::reconcile::instance_idmap(instance) ==
        std::vector<lxe::reconcile::IdRange>{{true, true, 0, 2000000, 5}});
  // Unlike root_host_ids, an idmap that cannot be read is an error: a volume is not idmapped with
  // a guess.
  instance.config["volatile.idmap.current"] = "not json";
  CHECK_THROWS_WITH(lxe::reconcile::instance_idmap(instance),
                    Catch::Contains("c1") && Catch::Contains("volatile.idmap.current"));
}

TEST_CASE("container_instance: volumes from staged mounts, at container paths resolved in the rootfs", "[lxd_specs]") {
  v1::PodSandboxConfig sandbox_config;
  v1::ContainerConfig config;
  config.add_command("/bin/app");
  auto* m0 = config.add_mounts();
  m0->set_host_path("/var/lib/kubelet/pods/uid/volumes/token");
  m0->set_container_path("/var/run/secrets/kubernetes.io/serviceaccount");
  m0->set_readonly(true);
  auto* m1 = config.add_mounts();
  m1->set_host_path("/srv/cache");
  m1->set_container_path("/cache");
  auto* m2 = config.add_mounts();
  m2->set_host_path("/srv/more");
  m2->set_container_path("/more");

  lxe::reconcile::VolumeLayout layout;
  layout.staged = true;
  layout.container_paths = {"/run/secrets/kubernetes.io/serviceaccount", ""};  // mount2: none yet
  const auto i = container_instance(container(), config, sandbox(1), sandbox_config, kFiles, MappingOptions{}, layout);
  CHECK(i.devices.at("mount0") ==
        std::map<std::string, std::string>{{"type", "disk"},
                                           {"source", "/var/lib/lxe/files/volumes/" + kContainerId + "/mount0"},
                                           {"path", "/run/secrets/kubernetes.io/serviceaccount"},
                                           {"readonly", "true"}});
  CHECK(i.devices.at("mount1") ==
        std::map<std::string, std::string>{{"type", "disk"},
                                           {"source", "/var/lib/lxe/files/volumes/" + kContainerId + "/mount1"},
                                           {"path", "/cache"}});
  CHECK(i.devices.at("mount2").at("path") == "/more");
  CHECK(i.devices.at("mount2").at("source") == "/var/lib/lxe/files/volumes/" + kContainerId + "/mount2");

  // Not staged: the host paths themselves, still at the resolved paths.
  layout.staged = false;
  const auto plain = container_instance(container(), config, sandbox(1), sandbox_config, kFiles, MappingOptions{}, layout);
  CHECK(plain.devices.at("mount0").at("source") == "/var/lib/kubelet/pods/uid/volumes/token");
  CHECK(plain.devices.at("mount0").at("path") == "/run/secrets/kubernetes.io/serviceaccount");
  CHECK(lxe::reconcile::mount_device_name(7) == "mount7");
}

TEST_CASE("a host PID pod on its own network: the holder lets its containers bind low ports, and sets the network "
          "sysctls they cannot",
          "[lxd_specs][sysctls]") {
  v1::PodSandboxConfig sandbox_config;
  sandbox_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::NODE);
  (*sandbox_config.mutable_linux()->mutable_sysctls())["net.ipv4.tcp_syncookies"] = "1";
  (*sandbox_config.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  const auto holder = infra_instance(sandbox(), sandbox_config, kFiles, {});
  const std::string& holder_raw = holder.config.at("raw.lxc");
  CHECK_THAT(holder_raw, Catch::Contains("lxc.sysctl.net.ipv4.ip_unprivileged_port_start = 0\n") &&
                             Catch::Contains("lxc.sysctl.net.ipv4.tcp_syncookies = 1\n") &&
                             Catch::Contains("lxc.sysctl.kernel.shm_rmid_forced = 1\n"));
  v1::ContainerConfig config;
  config.add_command("sh");
  auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_pid(v1::NODE);
  ns->set_ipc(v1::POD);
  const auto raw = container_raw_lxc(container(), config, sandbox(5), sandbox_config, kFiles, {});
  // Its own user namespace may write neither the holder's network nor its IPC namespace.
  CHECK(raw.find("lxc.sysctl.") == std::string::npos);
  // With an IPC namespace of its own, the IPC sysctls are set there.
  ns->set_ipc(v1::CONTAINER);
  CHECK_THAT(container_raw_lxc(container(), config, sandbox(5), sandbox_config, kFiles, {}),
             Catch::Contains("lxc.sysctl.kernel.shm_rmid_forced = 1\n") && !Catch::Contains("lxc.sysctl.net."));
  // The pod's own value wins; a pod without host namespaces gets nothing extra.
  (*sandbox_config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "1024";
  CHECK_THAT(infra_instance(sandbox(), sandbox_config, kFiles, {}).config.at("raw.lxc"),
             Catch::Contains("ip_unprivileged_port_start = 1024\n") && !Catch::Contains("ip_unprivileged_port_start = 0"));
  CHECK(infra_instance(sandbox(), v1::PodSandboxConfig{}, kFiles, {}).config.at("raw.lxc").find("unprivileged") ==
        std::string::npos);
}

TEST_CASE("masked and read-only paths must be absolute and printable before they reach spec.json",
          "[lxd_specs][security]") {
  using lxe::reconcile::security_mounts_problem;
  v1::ContainerConfig config;
  auto* sc = config.mutable_linux()->mutable_security_context();
  sc->add_masked_paths("/proc/kcore");
  sc->add_readonly_paths("/proc/sys");
  CHECK(security_mounts_problem(config, false).empty());
  for (const std::string bad : {std::string(""), std::string("proc/kcore"), std::string("/proc/kcore\n/etc"),
                                std::string("/a\0b", 4), std::string("/tab\there"), "/" + std::string(5000, 'a')}) {
    v1::ContainerConfig hostile;
    hostile.mutable_linux()->mutable_security_context()->add_readonly_paths(bad);
    CHECK_THAT(security_mounts_problem(hostile, false), Catch::Contains("readonly_paths"));
  }
  // A system container: only Kubernetes' default lists, no read-only root.
  v1::ContainerConfig system;
  for (const auto& p : lxe::reconcile::default_masked_paths()) system.mutable_linux()->mutable_security_context()->add_masked_paths(p);
  CHECK(security_mounts_problem(system, true).empty());
  CHECK_THAT(security_mounts_problem(config, true), Catch::Contains("masked_paths other than"));
  system.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
  CHECK_THAT(security_mounts_problem(system, true), Catch::Contains("readonly_rootfs"));
}

TEST_CASE("effective_resources: the pod's resources are a ceiling on the container's", "[lxd_specs][update]") {
  using lxe::reconcile::effective_resources;
  v1::LinuxContainerResources own, pod;
  // No ceiling: the container's own, untouched.
  own.set_memory_limit_in_bytes(512);
  own.set_cpu_shares(2);
  own.set_oom_score_adj(1000);
  CHECK(effective_resources(own, pod).SerializeAsString() == own.SerializeAsString());
  // Memory: the smaller of the two; the pod's when the container has none.
  pod.set_memory_limit_in_bytes(256);
  CHECK(effective_resources(own, pod).memory_limit_in_bytes() == 256);
  pod.set_memory_limit_in_bytes(1024);
  CHECK(effective_resources(own, pod).memory_limit_in_bytes() == 512);
  CHECK(effective_resources(v1::LinuxContainerResources{}, pod).memory_limit_in_bytes() == 1024);
  // CPU quota: compared as a share of each one's period (100 ms when not given).
  pod.set_cpu_quota(50000);
  auto e = effective_resources(own, pod);
  CHECK(e.cpu_quota() == 50000);
  CHECK(e.cpu_period() == 100000);
  CHECK(e.cpu_shares() == 2);  // kept: the quota wins in LXD's one allowance key
  own.set_cpu_quota(10000);
  own.set_cpu_period(50000);  // 20% against the pod's 50%
  e = effective_resources(own, pod);
  CHECK(e.cpu_quota() == 10000);
  CHECK(e.cpu_period() == 50000);
  own.set_cpu_quota(40000);  // 80%
  e = effective_resources(own, pod);
  CHECK(e.cpu_quota() == 50000);
  CHECK(e.cpu_period() == 100000);
  // The pod's shares are a weight against other pods: not the container's.
  pod.set_cpu_shares(4096);
  CHECK(effective_resources(own, pod).cpu_shares() == 2);
  // cpuset: the pod's only when the container has none.
  pod.set_cpuset_cpus("0-1");
  CHECK(effective_resources(own, pod).cpuset_cpus() == "0-1");
  own.set_cpuset_cpus("1");
  CHECK(effective_resources(own, pod).cpuset_cpus() == "1");
  // Everything else is the container's own.
  CHECK(effective_resources(own, pod).oom_score_adj() == 1000);
}
