// Bad requests get the exact status code kubelet and crictl expect, and leave everything as it
// was: the store (what ListPodSandbox / ListContainers show) and LXD (no new objects).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <set>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

// Everything a bad request must not change.
struct Snapshot {
  std::set<std::string> pods;        // "id state"
  std::set<std::string> containers;  // "id pod state"
  std::set<std::string> instances;
  std::set<std::string> profiles;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(CriFixture& fx) {
  Snapshot s;
  for (const auto& p : fx.list_pods()) s.pods.insert(p.id() + " " + cri::PodSandboxState_Name(p.state()));
  for (const auto& c : fx.list_containers())
    s.containers.insert(c.id() + " " + c.pod_sandbox_id() + " " + cri::ContainerState_Name(c.state()));
  s.instances = fx.lxd_instances();
  s.profiles = fx.lxd_profiles();
  return s;
}

std::string show(const Snapshot& s) {
  std::string out;
  for (const auto& p : s.pods) out += "\n  pod " + p;
  for (const auto& c : s.containers) out += "\n  container " + c;
  for (const auto& i : s.instances) out += "\n  instance " + i;
  for (const auto& p : s.profiles) out += "\n  profile " + p;
  return out;
}

}  // namespace

TEST_CASE("lifecycle: bad requests are refused with the right code and change nothing", "[lifecycle][lxd]") {
  CriFixture fx("bad", {"--host-netns", "/nonexistent/netns"});
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string container_id =
      fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod);
  const Snapshot before = snapshot(fx);
  REQUIRE(before.pods.size() == 1);
  REQUIRE(before.containers.size() == 1);
  REQUIRE(before.instances.size() == 2);
  REQUIRE(before.profiles.size() == 1);

  // Each case: the call, the code it must get.
  auto expect = [&](const char* what, grpc::StatusCode want, const grpc::Status& got) {
    INFO(what << ": " << describe(got));
    CHECK(got.error_code() == want);
    const Snapshot after = snapshot(fx);
    INFO("before:" << show(before) << "\nafter:" << show(after));
    CHECK(after == before);
  };
  const auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
  const auto not_found = grpc::StatusCode::NOT_FOUND;

  {  // RunPodSandbox
    cri::RunPodSandboxRequest no_config;
    expect("RunPodSandbox without config", invalid, fx.run_pod(no_config).status);

    cri::RunPodSandboxRequest no_metadata;
    no_metadata.mutable_config()->set_hostname("x");
    expect("RunPodSandbox without metadata", invalid, fx.run_pod(no_metadata).status);

    auto empty_name = fx.pod_config("x");
    empty_name.mutable_metadata()->set_name("");
    expect("RunPodSandbox with an empty name", invalid, fx.run_pod(empty_name).status);

    auto empty_namespace = fx.pod_config("x");
    empty_namespace.mutable_metadata()->set_namespace_("");
    expect("RunPodSandbox with an empty namespace", invalid, fx.run_pod(empty_namespace).status);

    auto empty_uid = fx.pod_config("x");
    empty_uid.mutable_metadata()->set_uid("");
    expect("RunPodSandbox with an empty uid", invalid, fx.run_pod(empty_uid).status);

    auto relative_logs = fx.pod_config("x");
    relative_logs.set_log_directory("var/log/pods/x");
    expect("RunPodSandbox with a relative log_directory", invalid, fx.run_pod(relative_logs).status);

    expect("RunPodSandbox with an unknown runtime handler", invalid, fx.run_pod(fx.pod_config("x"), "runc").status);

    // The hostname becomes the pods' UTS name, the DNS config their resolv.conf: nothing that is
    // not a hostname or a single word may get through.
    for (const std::string& hostname : std::vector<std::string>{"bad\nlxc.apparmor.profile = unconfined", "under_score",
                                                                "-lead", std::string(64, 'h')}) {
      auto bad_hostname = fx.pod_config("x");
      bad_hostname.set_hostname(hostname);
      expect(("RunPodSandbox with hostname '" + hostname + "'").c_str(), invalid, fx.run_pod(bad_hostname).status);
    }
    auto control_in_dns = fx.pod_config("x");
    control_in_dns.mutable_dns_config()->add_searches("example.org\x01");
    expect("RunPodSandbox with a control character in a DNS search", invalid, fx.run_pod(control_in_dns).status);
    auto log_directory_lines = fx.pod_config("x");
    log_directory_lines.set_log_directory(log_directory_lines.log_directory() + "\nlxc.mount.entry = /etc x none bind 0 0");
    expect("RunPodSandbox with a log_directory spanning lines", invalid, fx.run_pod(log_directory_lines).status);
    auto name_lines = fx.pod_config("x");
    name_lines.mutable_metadata()->set_uid("uid\nx");
    expect("RunPodSandbox with a uid spanning lines", invalid, fx.run_pod(name_lines).status);

    auto bad_dns = fx.pod_config("x");
    bad_dns.mutable_dns_config()->add_servers("10.0.0.53\nnameserver 10.6.6.6");
    expect("RunPodSandbox with a DNS server spanning lines", invalid, fx.run_pod(bad_dns).status);

    auto host_network = fx.pod_config("x");
    host_network.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(cri::NODE);
    // This lxe's --host-netns names no namespace it can join.
    expect("RunPodSandbox with host network, no usable --host-netns", grpc::StatusCode::FAILED_PRECONDITION,
           fx.run_pod(host_network).status);

    // The same metadata (name, namespace, uid, attempt) as the running pod.
    expect("RunPodSandbox of an existing pod", grpc::StatusCode::ALREADY_EXISTS, fx.run_pod(pod).status);
  }

  {  // CreateContainer
    const auto good = fx.container_config("new", {"sleep", "3600"}, "new.log");

    expect("CreateContainer with an empty pod_sandbox_id", invalid, fx.create_container("", good, pod).status);
    expect("CreateContainer in an unknown pod", not_found,
           fx.create_container(std::string(64, 'e'), good, pod).status);
    expect("CreateContainer with a container ID as pod sandbox ID", not_found,
           fx.create_container(container_id, good, pod).status);

    cri::CreateContainerRequest no_config;
    no_config.set_pod_sandbox_id(pod_id);
    *no_config.mutable_sandbox_config() = pod;
    expect("CreateContainer without config", invalid, fx.create_container(no_config).status);

    auto no_metadata = good;
    no_metadata.clear_metadata();
    expect("CreateContainer without metadata", invalid, fx.create_container(pod_id, no_metadata, pod).status);

    auto empty_name = good;
    empty_name.mutable_metadata()->set_name("");
    expect("CreateContainer with an empty name", invalid, fx.create_container(pod_id, empty_name, pod).status);

    auto empty_image = good;
    empty_image.mutable_image()->set_image("");
    expect("CreateContainer with an empty image", invalid, fx.create_container(pod_id, empty_image, pod).status);

    auto no_image = good;
    no_image.clear_image();
    expect("CreateContainer without image", invalid, fx.create_container(pod_id, no_image, pod).status);

    auto missing_image = good;
    missing_image.mutable_image()->set_image("lxe-test-no-such-image");
    expect("CreateContainer of an image LXD does not have", not_found,
           fx.create_container(pod_id, missing_image, pod).status);

    auto missing_registry_image = good;
    missing_registry_image.mutable_image()->set_image("registry.example.com/team/no-such:1.0");
    expect("CreateContainer of a registry image LXD does not have", not_found,
           fx.create_container(pod_id, missing_registry_image, pod).status);

    for (const std::string& escaping : std::vector<std::string>{"../x.log", "/tmp/x.log", "c/../../x.log", ".."}) {
      auto bad_log = good;
      bad_log.set_log_path(escaping);
      expect(("CreateContainer with log_path " + escaping).c_str(), invalid,
             fx.create_container(pod_id, bad_log, pod).status);
    }

    auto relative_mount = good;
    auto* m = relative_mount.add_mounts();
    m->set_host_path("relative/dir");
    m->set_container_path("/mnt");
    expect("CreateContainer with a relative mount host_path", invalid,
           fx.create_container(pod_id, relative_mount, pod).status);

    // Each refusal names the mount (its index and field).
    struct BadMount {
      const char* what;
      std::string host_path, container_path, must_mention;
    };
    const std::string under_a_file = fx.dir().file("a-file") + "/sub";
    lxe::test::write_file(fx.dir().file("a-file"), "");
    const BadMount bad_mounts[] = {
        {"an empty container_path", "/tmp", "", "mounts[0].container_path is empty"},
        {"a relative container_path", "/tmp", "data", "mounts[0].container_path 'data' is not an absolute path"},
        {"the container's root as container_path", "/tmp", "/", "the container's root"},
        {"an empty host_path", "", "/data", "mounts[0].host_path is empty"},
        // A missing host path is created (as containerd does); one that cannot be is refused.
        {"a host_path that cannot be created", under_a_file, "/data",
         "mounts[0].host_path '" + under_a_file + "' does not exist and cannot be created"},
    };
    for (const auto& b : bad_mounts) {
      auto bad = good;
      auto* bm = bad.add_mounts();
      bm->set_host_path(b.host_path);
      bm->set_container_path(b.container_path);
      const auto status = fx.create_container(pod_id, bad, pod).status;
      expect((std::string("CreateContainer with ") + b.what).c_str(), invalid, status);
      INFO(b.what << ": " << status.error_message());
      CHECK_THAT(status.error_message(), Catch::Contains(b.must_mention));
    }

    // Strings that reach LXD's config (environment.* keys, disk devices, limits) or lxe-init's
    // files: LXD writes most into lxc.conf line by line, so a line break would add LXC config. The
    // first is the reproducer of an injection of a host bind mount through an env name.
    struct Hostile {
      const char* what;
      void (*spoil)(cri::ContainerConfig&);
    };
    const Hostile hostile[] = {
        {"an env name spanning lines",
         [](cri::ContainerConfig& c) {
           auto* e = c.add_envs();
           e->set_key("A\nlxc.mount.entry = /etc mnt/hostetc none rbind,create=dir 0 0\nlxc.environment = B");
           e->set_value("1");
         }},
        {"an env name with '='",
         [](cri::ContainerConfig& c) {
           auto* e = c.add_envs();
           e->set_key("A=B");
           e->set_value("1");
         }},
        {"an env value spanning lines",
         [](cri::ContainerConfig& c) {
           auto* e = c.add_envs();
           e->set_key("A");
           e->set_value("1\nlxc.apparmor.profile = unconfined");
         }},
        {"a mount host_path spanning lines",
         [](cri::ContainerConfig& c) {
           auto* m = c.add_mounts();
           m->set_host_path("/tmp/lxe-test\nlxc.mount.entry = /etc etc none bind 0 0");
           m->set_container_path("/mnt");
         }},
        {"a mount container_path with a control character",
         [](cri::ContainerConfig& c) {
           auto* m = c.add_mounts();
           m->set_host_path("/tmp");
           m->set_container_path("/mnt\x01");
         }},
        {"a log_path spanning lines", [](cri::ContainerConfig& c) { c.set_log_path("new.log\nx"); }},
        {"an image reference spanning lines", [](cri::ContainerConfig& c) { c.mutable_image()->set_image("busybox\nx"); }},
        {"a working_dir with a control character", [](cri::ContainerConfig& c) { c.set_working_dir("/\x1b"); }},
        {"a command with a NUL byte", [](cri::ContainerConfig& c) { c.set_command(0, std::string("sleep\0x", 7)); }},
        {"a cpuset spanning lines",
         [](cri::ContainerConfig& c) {
           c.mutable_linux()->mutable_resources()->set_cpuset_cpus("0\nlxc.cgroup2.devices.allow = a");
         }},
    };
    for (const auto& h : hostile) {
      auto bad = good;
      h.spoil(bad);
      expect((std::string("CreateContainer with ") + h.what).c_str(), invalid,
             fx.create_container(pod_id, bad, pod).status);
    }

    // The same name and attempt as the existing container of the pod.
    expect("CreateContainer of an existing container", grpc::StatusCode::ALREADY_EXISTS,
           fx.create_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod).status);
  }

  {  // UpdateContainerResources: a cpuset becomes LXD's limits.cpu
    cri::UpdateContainerResourcesRequest update;
    update.set_container_id(container_id);
    update.mutable_linux()->set_cpuset_cpus("0\nlxc.cgroup2.devices.allow = a");
    cri::UpdateContainerResourcesResponse ignored;
    expect("UpdateContainerResources with a cpuset spanning lines", invalid,
           fx.runtime().UpdateContainerResources(lxe::test::context_with_deadline().get(), update, &ignored));
  }

  {  // lookups of what is not there
    const std::string unknown(64, 'd');
    expect("ContainerStatus of an unknown ID", not_found, fx.container_status(unknown).status);
    expect("ContainerStatus of a pod sandbox ID", not_found, fx.container_status(pod_id).status);
    expect("PodSandboxStatus of an unknown ID", not_found, fx.pod_status(unknown).status);
    expect("PodSandboxStatus of a container ID", not_found, fx.pod_status(container_id).status);
    expect("ExecSync in an unknown container", not_found, fx.exec(unknown, {"true"}).status);
    expect("ExecSync with an empty cmd", invalid, fx.exec(container_id, {}).status);
    expect("ReopenContainerLog of an unknown container", not_found, fx.reopen_log(unknown));
    expect("StartContainer of an unknown container", not_found, fx.start(unknown));
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: a pod with a long name (as Kubernetes allows) runs and its containers too",
          "[lifecycle][lxd]") {
  // Kubernetes pod names go up to 253 characters, container names up to 63. lxe shortens them for
  // LXD names (at most 63 characters), whatever --lxd-name-prefix is (up to 20 characters).
  CriFixture fx("long");
  const auto pod = fx.pod_config("kube-controller-manager-worker-node-0001.cluster.example.com");
  const auto reply = fx.run_pod(pod);
  INFO("RunPodSandbox: " << describe(reply.status));
  REQUIRE(reply.ok());
  const auto c = fx.create_container(
      reply.value, fx.container_config("kube-controller-manager-sidecar-container", {"sleep", "3600"}), pod);
  INFO("CreateContainer: " << describe(c.status));
  CHECK(c.ok());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: a log_path that names the log directory itself is refused", "[lifecycle][lxd]") {
  // log_path "." (or "sub/..") resolves to log_directory itself: not a file lxe may give the
  // container. CreateContainer must refuse it, and must never hand the pod's log directory to the
  // container's root.
  CriFixture fx("logdir");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  struct stat before {};
  REQUIRE(::stat(pod.log_directory().c_str(), &before) == 0);
  for (const std::string& log_path : std::vector<std::string>{".", "sub/..", "./"}) {
    const auto reply = fx.create_container(pod_id, fx.container_config("c", {"sleep", "3600"}, log_path), pod);
    INFO("CreateContainer with log_path '" << log_path << "': " << describe(reply.status));
    CHECK(reply.code() == grpc::StatusCode::INVALID_ARGUMENT);
    struct stat after {};
    REQUIRE(::stat(pod.log_directory().c_str(), &after) == 0);
    CHECK(after.st_uid == before.st_uid);
    CHECK(after.st_gid == before.st_gid);
    if (reply.ok()) {
      const auto st = fx.container_status(reply.value);
      INFO("its log_path: " << st.value.log_path());
      CHECK(fx.remove(reply.value).ok());
    }
  }
  CHECK(fx.list_containers().empty());
  fx.remove_all_pods_and_expect_clean();
}
