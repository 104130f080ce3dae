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

TEST_CASE("resources_problem: UpdateContainerResources' cpusets", "[validation]") {
  v1::LinuxContainerResources r;
  r.set_cpuset_cpus("0-1");
  CHECK(resources_problem(r).empty());
  r.set_cpuset_cpus("0-1\nlxc.cgroup2.devices.allow = a");
  CHECK_THAT(resources_problem(r), Contains("cpuset_cpus") && Contains("is not a list"));
}

TEST_CASE("mount_problem: kubelet-shaped mounts pass; each bad one is named by its index and container path",
          "[validation]") {
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
  CHECK(mount_problem(mount("/srv", "data"), 1) == "mounts[1] (at data): container_path 'data' is not an absolute path");
  CHECK_THAT(mount_problem(mount("/srv", "/"), 0), Contains("mounts[0] (at /)") && Contains("container's root"));
  CHECK_THAT(mount_problem(mount("/srv", "/data/.."), 0), Contains("container's root"));
  CHECK(mount_problem(mount("", "/data"), 4) == "mounts[4] (at /data): host_path is empty");
  CHECK(mount_problem(mount("relative/dir", "/data"), 0) ==
        "mounts[0] (at /data): host_path 'relative/dir' is not an absolute path");
  CHECK_THAT(mount_problem(mount("/srv\n", "/data"), 0), Contains("mounts[0].host_path") && Contains("line break"));

  auto rro = mount("/srv", "/data");
  rro.set_recursive_read_only(true);
  CHECK_THAT(mount_problem(rro, 0), Contains("recursive_read_only needs readonly"));
  rro.set_readonly(true);
  CHECK(mount_problem(rro, 0).empty());

  auto image = mount("", "/models");
  image.mutable_image()->set_image("registry.example.com/models:1");
  CHECK_THAT(mount_problem(image, 0), Contains("image volume") && Contains("registry.example.com/models:1"));

  // container_config_problem names the first bad mount.
  auto config = good_config();
  *config.add_mounts() = mount("/srv", "");
  CHECK(container_config_problem(config) == "mounts[1].container_path is empty");
}
