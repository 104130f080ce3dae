// The checks on CRI strings that reach LXD's configuration or lxe-init's files: no line break or
// other control character where LXD would write the string into lxc.conf.
#include <catch2/catch.hpp>
#include <string>

#include "cri/validation.h"

using lxe::cri::container_config_problem;
using lxe::cri::control_character_problem;
using lxe::cri::cpuset_problem;
using lxe::cri::env_name_problem;
using lxe::cri::resources_problem;
namespace v1 = runtime::v1;
using Catch::Contains;

namespace {

// The reproducer of the injection: an env name whose second line is an LXC mount of the host's /etc.
const std::string kInjectedName =
    "A\nlxc.mount.entry = /etc mnt/hostetc none rbind,create=dir 0 0\nlxc.environment = B";

v1::ContainerConfig good_config() {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("app");
  c.mutable_image()->set_image("busybox");
  c.add_command("/bin/sh");
  c.add_args("-c");
  c.add_args("echo one\necho two");  // a multi-line script is an ordinary argument
  c.set_working_dir("/srv");
  auto* env = c.add_envs();
  env->set_key("GREETING");
  env->set_value("hello world = yes");
  auto* m = c.add_mounts();
  m->set_host_path("/var/lib/kubelet/pods/x/volumes/data");
  m->set_container_path("/data");
  c.set_log_path("app/0.log");
  c.mutable_linux()->mutable_resources()->set_cpuset_cpus("0-1,3");
  return c;
}

}  // namespace

TEST_CASE("control_character_problem", "[validation]") {
  CHECK(control_character_problem("").empty());
  CHECK(control_character_problem("plain text, spaces = fine").empty());
  CHECK(control_character_problem("ünïcödé").empty());
  CHECK(control_character_problem("a\nb") == "contains a line break");
  CHECK(control_character_problem("a\rb") == "contains a line break");
  CHECK(control_character_problem(std::string("a\0b", 3)) == "contains a NUL byte");
  CHECK(control_character_problem("a\x1b[0m") == "contains the control character 0x1b");
  CHECK(control_character_problem("tab\there") == "contains the control character 0x09");
  CHECK(control_character_problem("del\x7f") == "contains the control character 0x7f");
}

TEST_CASE("env_name_problem", "[validation]") {
  CHECK(env_name_problem("PATH").empty());
  CHECK(env_name_problem("my.dotted-name_1").empty());  // Kubernetes allows any printable name
  CHECK(env_name_problem("") == "is empty");
  CHECK(env_name_problem("A=B") == "contains '='");
  CHECK(env_name_problem(kInjectedName) == "contains a line break");
}

TEST_CASE("cpuset_problem", "[validation]") {
  CHECK(cpuset_problem("").empty());
  CHECK(cpuset_problem("3").empty());
  CHECK(cpuset_problem("0-3,8,10-11").empty());
  CHECK_FALSE(cpuset_problem("0-1\nlxc.cgroup.devices.allow = a").empty());
  CHECK_FALSE(cpuset_problem("all").empty());
}

TEST_CASE("cpuset_problem: only lists LXD and the kernel parse, of CPUs that can exist (fuzzer finding)",
          "[validation]") {
  // These passed the old check (digits, ',' and '-' only). LXD refused the malformed ones only when
  // the container was created, and lists every CPU of a range as it parses it: "0-9999999999"
  // would have LXD allocate ten billion entries.
  CHECK(cpuset_problem("0-8191").empty());
  CHECK(cpuset_problem("007").empty());  // leading zeros: LXD and the kernel read 7
  for (const char* malformed : {",", "-", "1,", ",1", "0,,1", "0-", "-3", "0-0-3", "0--3"}) {
    INFO(malformed);
    CHECK(cpuset_problem(malformed) == "is not a list of CPU numbers and ranges such as '0-3,8'");
  }
  CHECK(cpuset_problem("3-1") == "has the range '3-1', whose end is below its start");
  CHECK_THAT(cpuset_problem("8192"), Contains("beyond 8191"));
  CHECK_THAT(cpuset_problem("0-9999999999"), Contains("beyond 8191"));
  CHECK_THAT(cpuset_problem("0-99999999999999999999999"), Contains("beyond 8191"));
  CHECK_THAT(cpuset_problem("0-8191,0-8191"), Contains("more than 8192 CPUs"));
}

TEST_CASE("container_config_problem: a good config passes; each hostile field is named", "[validation]") {
  CHECK(container_config_problem(good_config()).empty());

  struct Case {
    const char* what;
    void (*spoil)(v1::ContainerConfig&);
    const char* must_mention;
  };
  const Case cases[] = {
      {"env name with a line break", [](v1::ContainerConfig& c) { c.mutable_envs(0)->set_key(kInjectedName); },
       "environment variable name 'A\\nlxc.mount.entry"},
      {"env name with '='", [](v1::ContainerConfig& c) { c.mutable_envs(0)->set_key("A=B"); }, "contains '='"},
      {"empty env name", [](v1::ContainerConfig& c) { c.mutable_envs(0)->set_key(""); }, "is empty"},
      {"env value with a line break",
       [](v1::ContainerConfig& c) { c.mutable_envs(0)->set_value("x\nlxc.apparmor.profile = unconfined"); },
       "the value of environment variable GREETING contains a line break"},
      {"env value with NUL", [](v1::ContainerConfig& c) { c.mutable_envs(0)->set_value(std::string("x\0y", 3)); },
       "GREETING contains a NUL byte"},
      {"host path with a line break",
       [](v1::ContainerConfig& c) { c.mutable_mounts(0)->set_host_path("/tmp/x\nlxc.mount.entry = /"); },
       "mounts[0].host_path"},
      {"container path with a line break",
       [](v1::ContainerConfig& c) { c.mutable_mounts(0)->set_container_path("/data\n"); },
       "mounts[0].container_path"},
      {"log path with a line break", [](v1::ContainerConfig& c) { c.set_log_path("app/0.log\nx"); }, "log_path"},
      {"image with a line break", [](v1::ContainerConfig& c) { c.mutable_image()->set_image("busybox\n"); }, "image"},
      {"working dir with a control character", [](v1::ContainerConfig& c) { c.set_working_dir("/srv\x01"); },
       "working_dir"},
      {"name with a line break", [](v1::ContainerConfig& c) { c.mutable_metadata()->set_name("app\nx"); },
       "metadata.name"},
      {"command with NUL", [](v1::ContainerConfig& c) { c.set_command(0, std::string("/bin/sh\0x", 9)); },
       "command[0]"},
      {"args with NUL", [](v1::ContainerConfig& c) { c.set_args(1, std::string("a\0b", 3)); }, "args[1]"},
      {"cpuset_cpus with a line break",
       [](v1::ContainerConfig& c) { c.mutable_linux()->mutable_resources()->set_cpuset_cpus("0\nlxc.x = y"); },
       "cpuset_cpus '0\\nlxc.x = y'"},
      {"cpuset_mems not a list",
       [](v1::ContainerConfig& c) { c.mutable_linux()->mutable_resources()->set_cpuset_mems("zero"); },
       "cpuset_mems"},
  };
  for (const auto& c : cases) {
    auto config = good_config();
    c.spoil(config);
    INFO(c.what);
    CHECK_THAT(container_config_problem(config), Contains(c.must_mention));
  }
}

TEST_CASE("container_config_problem: mounts that would replace the root, lxe's /.lxe or each other (fuzzer finding)",
          "[validation]") {
  // These reached LXD as disk devices: at "/" LXD refuses a disk with a source (the root disk has
  // none), two devices at one path are refused or hide each other, and a mount at or under /.lxe
  // replaces or hides lxe-init (/.lxe/init), the state directory or the log directory.
  const auto with_mounts = [](std::initializer_list<const char*> paths) {
    auto c = good_config();
    c.clear_mounts();
    int n = 0;
    for (const char* p : paths) {
      auto* m = c.add_mounts();
      m->set_host_path("/srv/volume" + std::to_string(n++));
      m->set_container_path(p);
    }
    return container_config_problem(c);
  };
  CHECK(with_mounts({"/data", "/data2", "/lxe", "/.lxe-not", "/srv/.lxe"}).empty());
  for (const char* root : {"/", "//", "/.", "/srv/..", "/../"}) {
    INFO(root);
    CHECK_THAT(with_mounts({root}), Contains("mounts[0].container_path") && Contains("is the container's root"));
  }
  for (const char* own : {"/.lxe", "/.lxe/", "/.lxe/init", "/.lxe/state", "/.lxe/log/x", "//.lxe/./init", "/srv/../.lxe"}) {
    INFO(own);
    CHECK_THAT(with_mounts({own}), Contains("is inside /.lxe"));
  }
  CHECK(with_mounts({"/data", "/data"}) == "mounts[1].container_path '/data' is where mounts[0] is mounted too");
  CHECK_THAT(with_mounts({"/data/", "/srv", "/data/./"}), Contains("mounts[2].container_path '/data/./' is where mounts[0]"));
}

TEST_CASE("container_config_problem: an environment value that is not UTF-8 (fuzzer finding)", "[validation]") {
  // KeyValue.value is `bytes` in the CRI proto lxe serves, so protobuf lets any bytes through. The
  // JSON of spec.json and of the LXD request cannot hold them: creating the container failed only
  // after it was recorded.
  for (const char* bad : {"\xff", "caf\xc3", "\xc0\xaf", "x\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    auto c = good_config();
    c.mutable_envs(0)->set_value(bad);
    INFO(bad);
    CHECK(container_config_problem(c) == "the value of environment variable GREETING is not valid UTF-8");
  }
  auto c = good_config();
  c.mutable_envs(0)->set_value("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80");  // café ☃ 😀
  CHECK(container_config_problem(c).empty());
}

TEST_CASE("resources_problem: UpdateContainerResources' cpusets", "[validation]") {
  v1::LinuxContainerResources r;
  r.set_cpuset_cpus("0-1");
  CHECK(resources_problem(r).empty());
  r.set_cpuset_cpus("0-1\nlxc.cgroup2.devices.allow = a");
  CHECK_THAT(resources_problem(r), Contains("cpuset_cpus") && Contains("is not a list"));
}

namespace {

v1::RunPodSandboxRequest good_pod() {
  v1::RunPodSandboxRequest r;
  auto* m = r.mutable_config()->mutable_metadata();
  m->set_name("web");
  m->set_namespace_("shop");
  m->set_uid("6f1c2d3e");
  r.mutable_config()->set_hostname("web-0");
  r.mutable_config()->set_log_directory("/var/log/pods/shop_web_6f1c2d3e");
  r.mutable_config()->mutable_dns_config()->add_servers("10.96.0.10");
  return r;
}

}  // namespace

TEST_CASE("run_pod_sandbox_problem: RunPodSandbox's checks, each naming the field", "[validation]") {
  CHECK(lxe::cri::run_pod_sandbox_problem(good_pod()).empty());
  auto host_network = good_pod();  // accepted: the facade checks --host-netns (pod_network_test)
  host_network.mutable_config()->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  CHECK(lxe::cri::run_pod_sandbox_problem(host_network).empty());
  struct Case {
    const char* what;
    void (*spoil)(v1::RunPodSandboxRequest&);
    const char* problem;
  };
  const Case cases[] = {
      {"no config", [](v1::RunPodSandboxRequest& r) { r.clear_config(); }, "config is missing"},
      {"no metadata", [](v1::RunPodSandboxRequest& r) { r.mutable_config()->clear_metadata(); },
       "config.metadata is missing"},
      {"no uid", [](v1::RunPodSandboxRequest& r) { r.mutable_config()->mutable_metadata()->clear_uid(); },
       "metadata.uid is empty"},
      {"namespace with a line break",
       [](v1::RunPodSandboxRequest& r) { r.mutable_config()->mutable_metadata()->set_namespace_("a\nb"); },
       "metadata.namespace contains a line break"},
      {"relative log directory", [](v1::RunPodSandboxRequest& r) { r.mutable_config()->set_log_directory("logs"); },
       "log_directory 'logs' is not an absolute path"},
      {"hostname injection",
       [](v1::RunPodSandboxRequest& r) { r.mutable_config()->set_hostname("web\nlxc.uts.name = x"); },
       "is not a valid hostname"},
      {"DNS entry with a space",
       [](v1::RunPodSandboxRequest& r) { r.mutable_config()->mutable_dns_config()->add_searches("a b"); },
       "dns_config entry 'a b' is empty or contains whitespace"},
      {"unknown runtime handler", [](v1::RunPodSandboxRequest& r) { r.set_runtime_handler("runc"); },
       "runtime handler 'runc' is not known"},
      {"a node-wide sysctl",
       [](v1::RunPodSandboxRequest& r) {
         (*r.mutable_config()->mutable_linux()->mutable_sysctls())["kernel.panic"] = "1";
       },
       "sysctl 'kernel.panic' is not namespaced"},
      {"a sysctl value that starts an LXC line",
       [](v1::RunPodSandboxRequest& r) {
         (*r.mutable_config()->mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1\nlxc.apparmor.profile = x";
       },
       "a line break or another control character"},
      {"net.* in the host's network",
       [](v1::RunPodSandboxRequest& r) {
         r.mutable_config()->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
             v1::NODE);
         (*r.mutable_config()->mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1024";
       },
       "would change the node's own network settings"},
  };
  for (const auto& c : cases) {
    auto request = good_pod();
    c.spoil(request);
    INFO(c.what);
    CHECK_THAT(lxe::cri::run_pod_sandbox_problem(request), Contains(c.problem));
  }
}

TEST_CASE("create_container_problem: CreateContainer's checks", "[validation]") {
  v1::CreateContainerRequest r;
  r.set_pod_sandbox_id("5a1b");
  *r.mutable_config() = good_config();
  CHECK(lxe::cri::create_container_problem(r).empty());
  auto relative = r;
  relative.mutable_config()->mutable_mounts(0)->set_container_path("data");
  CHECK(lxe::cri::create_container_problem(relative) == "mounts[0].container_path 'data' is not an absolute path");
  auto no_image = r;
  no_image.mutable_config()->clear_image();
  CHECK(lxe::cri::create_container_problem(no_image) == "image is empty");
  auto no_sandbox = r;
  no_sandbox.clear_pod_sandbox_id();
  CHECK(lxe::cri::create_container_problem(no_sandbox) == "pod_sandbox_id is empty");
  auto hostile = r;
  hostile.mutable_config()->mutable_envs(0)->set_key(kInjectedName);
  CHECK_THAT(lxe::cri::create_container_problem(hostile), Contains("environment variable name"));
}

TEST_CASE("log_path_problem: the log file lies inside the pod's log directory", "[validation]") {
  std::string full;
  CHECK(lxe::cri::log_path_problem("/var/log/pods/p", "app/0.log", full).empty());
  CHECK(full == "/var/log/pods/p/app/0.log");
  CHECK(lxe::cri::log_path_problem("/var/log/pods/p", "", full).empty());
  CHECK(full.empty());
  CHECK_THAT(lxe::cri::log_path_problem("", "app/0.log", full), Contains("has no log_directory"));
  CHECK_THAT(lxe::cri::log_path_problem("/var/log/pods/p", "/etc/passwd", full), Contains("must be relative"));
  CHECK_THAT(lxe::cri::log_path_problem("/var/log/pods/p", "../../../etc/x", full), Contains("leads outside"));
  CHECK_THAT(lxe::cri::log_path_problem("/var/log/pods/p", "app/..", full), Contains("leads outside"));
}

TEST_CASE("log_path_problem: a log_path that names a directory is refused (fuzzer finding)", "[validation]") {
  // "0.log/" was accepted as "<dir>/0.log/": lxe then failed to create the log file after the
  // container was recorded, and lxe-init's log_path became "/.lxe/log/" (no file).
  std::string full;
  for (const char* path : {"0.log/", "app/0.log/.", "app/0.log//", "app/x/../"}) {
    INFO(path);
    CHECK(lxe::cri::log_path_problem("/var/log/pods/p", path, full) ==
          std::string("log_path '") + path + "' names a directory, not a file");
    CHECK(full.empty());
  }
  CHECK(lxe::cri::log_path_problem("/var/log/pods/p/", "app/./0.log", full).empty());
  CHECK(full == "/var/log/pods/p/app/0.log");
}

TEST_CASE("UpdateContainerResources: the request's checks, the merge, what may change live", "[validation]") {
  v1::UpdateContainerResourcesRequest request;
  CHECK_THAT(lxe::cri::update_resources_problem(request), Contains("linux resources are missing"));
  request.mutable_linux()->set_cpuset_cpus("0-1\nx");
  CHECK_THAT(lxe::cri::update_resources_problem(request), Contains("cpuset_cpus"));
  request.mutable_linux()->set_cpuset_cpus("0-1");
  CHECK(lxe::cri::update_resources_problem(request).empty());

  v1::LinuxContainerResources current;
  current.set_memory_limit_in_bytes(1 << 20);
  current.set_cpu_shares(512);
  current.set_oom_score_adj(100);
  v1::LinuxContainerResources wanted;
  wanted.set_memory_limit_in_bytes(2 << 20);  // crictl update --memory: only that field
  const auto merged = lxe::cri::merged_resources(current, wanted);
  CHECK(merged.memory_limit_in_bytes() == (2 << 20));
  CHECK(merged.cpu_shares() == 512);  // zero in the request: kept
  CHECK(lxe::cri::live_update_problem(current, merged).empty());

  wanted.set_oom_score_adj(-1000);
  CHECK_THAT(lxe::cri::live_update_problem(current, lxe::cri::merged_resources(current, wanted)),
             Contains("oom_score_adj applies only when the container starts"));
  v1::LinuxContainerResources mems;
  mems.set_cpuset_mems("1");
  CHECK_THAT(lxe::cri::live_update_problem(current, lxe::cri::merged_resources(current, mems)),
             Contains("cpuset_mems cannot change"));
  v1::LinuxContainerResources unified;
  (*unified.mutable_unified())["cpu.weight"] = "100";
  CHECK_THAT(lxe::cri::live_update_problem(current, lxe::cri::merged_resources(current, unified)),
             Contains("unified cgroup setting 'cpu.weight'"));
}

TEST_CASE("mount_problem: kubelet-shaped mounts pass; each bad one is named by its index and field", "[validation]") {
  const auto mount = [](const std::string& host, const std::string& container) {
    v1::Mount m;
    m.set_host_path(host);
    m.set_container_path(container);
    return m;
  };
  using lxe::cri::mount_problem;
  CHECK(mount_problem(mount("/var/lib/kubelet/pods/u/volumes/kubernetes.io~projected/kube-api-access",
                            "/var/run/secrets/kubernetes.io/serviceaccount"),
                      0)
            .empty());
  CHECK(mount_problem(mount("/var/lib/kubelet/pods/u/etc-hosts", "/etc/hosts"), 1).empty());
  CHECK(mount_problem(mount("/var/lib/kubelet/pods/u/containers/c/x", "/dev/termination-log"), 2).empty());
  CHECK(mount_problem(mount("/srv", "/data/../other/"), 3).empty());

  CHECK(mount_problem(mount("/srv", ""), 2) == "mounts[2].container_path is empty");
  CHECK(mount_problem(mount("/srv", "data"), 1) == "mounts[1].container_path 'data' is not an absolute path");
  CHECK(mount_problem(mount("", "/data"), 4) == "mounts[4].host_path is empty");
  CHECK(mount_problem(mount("relative/dir", "/data"), 0) == "mounts[0].host_path 'relative/dir' is not an absolute path");
  CHECK_THAT(mount_problem(mount("/srv\n", "/data"), 0), Contains("mounts[0].host_path") && Contains("line break"));

  auto rro = mount("/srv", "/data");
  rro.set_recursive_read_only(true);
  CHECK_THAT(mount_problem(rro, 0), Contains("mounts[0] asks for recursive_read_only without readonly"));
  rro.set_readonly(true);
  CHECK(mount_problem(rro, 0).empty());

  auto image = mount("", "/models");
  image.mutable_image()->set_image("registry.example.com/models:1");
  CHECK_THAT(mount_problem(image, 0), Contains("image volume") && Contains("registry.example.com/models:1"));

  // container_config_problem names the first bad mount.
  auto config = good_config();
  *config.add_mounts() = mount("/srv", "");
  CHECK(container_config_problem(config) == "mounts[1].container_path is empty");
  // The root, /.lxe and a second mount at one place are container_config_problem's (above).
  CHECK(mount_problem(mount("/srv", "/"), 0).empty());
}

TEST_CASE("resources_problem: oom_score_adj within the kernel's range", "[validation]") {
  v1::LinuxContainerResources r;
  for (const int64_t ok : {-1000, -997, 0, 2, 1000}) {
    r.set_oom_score_adj(ok);
    CHECK(resources_problem(r).empty());
  }
  r.set_oom_score_adj(1001);
  CHECK(resources_problem(r) == "oom_score_adj 1001 is outside the kernel's range -1000..1000");
  r.set_oom_score_adj(-1001);
  CHECK_THAT(resources_problem(r), Contains("-1001 is outside"));
}

TEST_CASE("update_pod_resources_problem", "[validation][update]") {
  v1::UpdatePodSandboxResourcesRequest request;
  CHECK(lxe::cri::update_pod_resources_problem(request) == "pod_sandbox_id is empty");
  request.set_pod_sandbox_id("abc");
  CHECK_THAT(lxe::cri::update_pod_resources_problem(request), Contains("resources is missing"));
  request.mutable_resources()->set_memory_limit_in_bytes(1 << 30);
  CHECK(lxe::cri::update_pod_resources_problem(request).empty());
  request.mutable_resources()->set_cpuset_cpus("0-1\nlxc.mount.entry = x");
  CHECK_THAT(lxe::cri::update_pod_resources_problem(request), Contains("resources: cpuset_cpus"));
  request.mutable_resources()->clear_cpuset_cpus();
  request.mutable_overhead()->set_oom_score_adj(5000);
  CHECK_THAT(lxe::cri::update_pod_resources_problem(request), Contains("overhead: oom_score_adj 5000"));
}
