// Pod namespaces and the mount side of the security context on the real LXD: PID and IPC shared
// through the holder (POD), a PID namespace whose PID 1 is the workload (CONTAINER), the host's
// PID and IPC namespaces (NODE), masked, read-only paths and a read-only root, the OOM reason, and
// the refusals.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

void set_modes(cri::NamespaceOption* ns, cri::NamespaceMode network, cri::NamespaceMode pid, cri::NamespaceMode ipc) {
  ns->set_network(network);
  ns->set_pid(pid);
  ns->set_ipc(ipc);
}

cri::PodSandboxConfig pod_with(CriFixture& fx, const std::string& suffix, cri::NamespaceMode pid,
                               cri::NamespaceMode ipc) {
  auto pod = fx.pod_config(suffix);
  set_modes(pod.mutable_linux()->mutable_security_context()->mutable_namespace_options(), cri::POD, pid, ipc);
  return pod;
}

cri::ContainerConfig container_with(const std::string& name, std::vector<std::string> command, cri::NamespaceMode pid,
                                    cri::NamespaceMode ipc) {
  auto config = CriFixture::container_config(name, std::move(command));
  set_modes(config.mutable_linux()->mutable_security_context()->mutable_namespace_options(), cri::POD, pid, ipc);
  return config;
}

std::string host_ns(const char* kind) { return "/proc/" + std::to_string(::getpid()) + "/ns/" + kind; }

}  // namespace

TEST_CASE("namespaces: CRI's POD modes share the holder's PID and IPC namespaces between the pod's containers",
          "[namespaces][lxd]") {
  CriFixture fx("nspod");
  const auto pod = fx.pod_config("p");  // CRI's zero values: POD for each
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string a = fx.must_run_container(pod_id, CriFixture::container_config("a", {"sleep", "3601"}), pod);
  const std::string b = fx.must_run_container(pod_id, CriFixture::container_config("b", {"sleep", "3602"}), pod);
  // b sees a's process, and PID 1 is the holder's lxe-init.
  CHECK_THAT(fx.must_exec(b, {"ps"}), Catch::Contains("sleep 3601"));
  CHECK_THAT(fx.must_exec(b, {"cat", "/proc/1/cmdline"}), Catch::Contains("pause"));
  CHECK(fx.must_exec(a, {"readlink", "/proc/self/ns/ipc"}) == fx.must_exec(b, {"readlink", "/proc/self/ns/ipc"}));
  CHECK(fx.must_exec(a, {"readlink", "/proc/self/ns/pid"}) == fx.must_exec(b, {"readlink", "/proc/self/ns/pid"}));
  const auto status = fx.pod_status(pod_id);
  REQUIRE(status.ok());
  const auto& modes = status.value.status().linux().namespaces().options();
  CHECK(modes.network() == cri::POD);
  CHECK(modes.pid() == cri::POD);
  CHECK(modes.ipc() == cri::POD);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("namespaces: in CONTAINER PID mode the workload is PID 1 of its own namespace and execs see it",
          "[namespaces][lxd]") {
  CriFixture fx("nsctr");
  const auto pod = pod_with(fx, "p", cri::CONTAINER, cri::POD);
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string a =
      fx.must_run_container(pod_id, container_with("a", {"sleep", "3601"}, cri::CONTAINER, cri::POD), pod);
  const std::string b =
      fx.must_run_container(pod_id, container_with("b", {"sleep", "3602"}, cri::CONTAINER, cri::POD), pod);
  CHECK(fx.must_exec(a, {"cat", "/proc/1/cmdline"}) == std::string("sleep\0" "3601\0", 11));
  CHECK(fx.must_exec(b, {"cat", "/proc/1/cmdline"}) == std::string("sleep\0" "3602\0", 11));
  // Only the workload and the exec itself: not the other container, not lxe-init.
  const std::string ps = fx.must_exec(a, {"ps", "-o", "pid,args"});
  CHECK_THAT(ps, !Catch::Contains("3602") && !Catch::Contains("/.lxe/init"));
  CHECK(fx.must_exec(a, {"readlink", "/proc/self/ns/pid"}) != fx.must_exec(b, {"readlink", "/proc/self/ns/pid"}));
  // The IPC namespace is still the pod's.
  CHECK(fx.must_exec(a, {"readlink", "/proc/self/ns/ipc"}) == fx.must_exec(b, {"readlink", "/proc/self/ns/ipc"}));
  const auto status = fx.pod_status(pod_id);
  REQUIRE(status.ok());
  CHECK(status.value.status().linux().namespaces().options().pid() == cri::CONTAINER);
  // The exit code is still the workload's.
  const std::string c =
      fx.must_run_container(pod_id, container_with("c", {"sh", "-c", "exit 7"}, cri::CONTAINER, cri::POD), pod);
  const auto ended = fx.wait_for_state(c, cri::CONTAINER_EXITED);
  CHECK(ended.exit_code() == 7);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("namespaces: NODE PID and IPC join the host's, and the pod's status says so", "[namespaces][lxd]") {
  CriFixture fx("nsnode", {"--host-pidns", host_ns("pid"), "--host-ipcns", host_ns("ipc")});
  // A shared memory segment of this (host) process: a host IPC container sees it.
  const int segment = ::shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  REQUIRE(segment >= 0);
  struct RemoveSegment {
    int id;
    ~RemoveSegment() { ::shmctl(id, IPC_RMID, nullptr); }
  } remove_segment{segment};

  const auto pod = pod_with(fx, "p", cri::NODE, cri::NODE);
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string a = fx.must_run_container(pod_id, container_with("a", {"sleep", "3601"}, cri::NODE, cri::NODE), pod);
  // This test process is visible, and /proc is the host's.
  CHECK_THAT(fx.must_exec(a, {"cat", "/proc/" + std::to_string(::getpid()) + "/status"}), Catch::Contains("Pid:"));
  CHECK_THAT(fx.must_exec(a, {"cat", "/proc/sysvipc/shm"}), Catch::Contains(" " + std::to_string(segment) + " "));
  const auto status = fx.pod_status(pod_id);
  REQUIRE(status.ok());
  CHECK(status.value.status().linux().namespaces().options().pid() == cri::NODE);
  CHECK(status.value.status().linux().namespaces().options().ipc() == cri::NODE);
  // Its own user namespace has no capability in the pod's network namespace: the holder lets any
  // user bind low ports, so a web server on port 80 runs (critest's host PID spec runs nginx).
  const std::string web =
      fx.must_run_container(pod_id, container_with("w", {"httpd", "-f", "-p", "80"}, cri::NODE, cri::NODE), pod);
  CHECK(fx.must_exec(web, {"cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"}) == "0\n");
  CHECK_THAT(fx.must_exec(web, {"netstat", "-ltn"}), Catch::Contains(":80 "));
  CHECK(fx.container_status(web).value.state() == cri::CONTAINER_RUNNING);

  // Host IPC with a pod PID namespace: the PID namespace cannot be the holder's, each container
  // has its own and the pod says CONTAINER; the IPC namespace is still the host's.
  const auto pod2 = pod_with(fx, "q", cri::POD, cri::NODE);
  const std::string pod2_id = fx.must_run_pod(pod2);
  const std::string b =
      fx.must_run_container(pod2_id, container_with("b", {"sleep", "3602"}, cri::POD, cri::NODE), pod2);
  CHECK_THAT(fx.must_exec(b, {"cat", "/proc/sysvipc/shm"}), Catch::Contains(" " + std::to_string(segment) + " "));
  CHECK(fx.must_exec(b, {"cat", "/proc/1/cmdline"}) == std::string("sleep\0" "3602\0", 11));
  const auto status2 = fx.pod_status(pod2_id);
  REQUIRE(status2.ok());
  CHECK(status2.value.status().linux().namespaces().options().pid() == cri::CONTAINER);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("namespaces: TARGET, a bad host namespace file, a system container's shared PID and host IPC sysctls "
          "are refused",
          "[namespaces][lxd]") {
  // A network namespace file where a PID one is wanted.
  CriFixture fx("nsbad", {"--host-pidns", host_ns("net")});
  auto host_pid = pod_with(fx, "h", cri::NODE, cri::POD);
  const auto refused_pod = fx.run_pod(host_pid);
  CHECK(refused_pod.code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused_pod.status.error_message(),
             Catch::Contains("--host-pidns") && Catch::Contains("is not a PID namespace"));
  CHECK(fx.list_pods().empty());

  auto ipc_sysctl = pod_with(fx, "s", cri::POD, cri::NODE);
  (*ipc_sysctl.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  const auto refused_sysctl = fx.run_pod(ipc_sysctl);
  CHECK(refused_sysctl.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused_sysctl.status.error_message(), Catch::Contains("host's IPC namespace"));

  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto target = container_with("t", {"sleep", "1"}, cri::TARGET, cri::POD);
  target.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_target_id("abc");
  const auto refused_target = fx.create_container(pod_id, target, pod);
  CHECK(refused_target.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused_target.status.error_message(), Catch::Contains("TARGET"));
  // The busybox LXD image without a command is a system container: its init must be PID 1.
  const auto refused_system = fx.create_container(pod_id, container_with("s", {}, cri::POD, cri::POD), pod);
  CHECK(refused_system.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused_system.status.error_message(), Catch::Contains("system container"));
  CHECK(fx.list_containers().empty());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("security mounts: Kubernetes' default masks, masked and read-only paths, a read-only root with a writable "
          "volume",
          "[namespaces][security][lxd]") {
  CriFixture fx("secmnt");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  // Defaults: /proc/timer_list (host root's only, so unreadable for the container's root) reads
  // as /dev/null, /proc/sys is read-only.
  const std::string plain = fx.must_run_container(pod_id, CriFixture::container_config("d", {"sleep", "3600"}), pod);
  CHECK(fx.must_exec(plain, {"cat", "/proc/timer_list"}).empty());
  const auto sys_write = fx.exec(plain, {"sh", "-c", "echo 1 > /proc/sys/kernel/shm_rmid_forced"});
  REQUIRE(sys_write.ok());
  CHECK(sys_write.value.exit_code() != 0);
  CHECK_THAT(sys_write.value.stderr(), Catch::Contains("Read-only file system"));

  // critest's: a masked /bin/ls (a symlink to busybox here: the name is masked, not busybox), a
  // read-only /tmp.
  auto masked = CriFixture::container_config("m", {"sleep", "3600"});
  masked.mutable_linux()->mutable_security_context()->add_masked_paths("/bin/ls");
  masked.mutable_linux()->mutable_security_context()->add_readonly_paths("/tmp");
  const std::string m = fx.must_run_container(pod_id, masked, pod);
  // (Debian's busybox shell runs its own ls applet for `sh -c ls`, so the path is run directly.)
  const auto ls = fx.exec(m, {"/bin/sh", "-c", "/bin/ls"});
  INFO(describe(ls.status));
  REQUIRE(ls.ok());
  CHECK(ls.value.exit_code() != 0);
  CHECK(ls.value.stderr() == "/bin/sh: /bin/ls: Permission denied\n");
  // The name is masked, not busybox behind it: another applet's link still runs.
  CHECK(fx.must_exec(m, {"/bin/echo", "still"}) == "still\n");
  const auto touch = fx.exec(m, {"touch", "/tmp/test"});
  REQUIRE(touch.ok());
  CHECK(touch.value.stderr() == "touch: /tmp/test: Read-only file system\n");
  // The lists replace the defaults: /proc/timer_list is the kernel's again (refused to the
  // container's root), /proc/sys writable where the kernel lets the container write.
  const auto timer_list = fx.exec(m, {"cat", "/proc/timer_list"});
  REQUIRE(timer_list.ok());
  CHECK(timer_list.value.exit_code() != 0);
  CHECK(fx.must_exec(m, {"sh", "-c", "echo 1 > /proc/sys/kernel/shm_rmid_forced && echo ok"}) == "ok\n");

  // A read-only root; the container's volume stays writable.
  const std::filesystem::path volume = std::filesystem::path(fx.dir().path()) / "vol";
  std::filesystem::create_directories(volume);
  std::filesystem::permissions(volume, std::filesystem::perms::all);
  auto readonly = CriFixture::container_config("r", {"sleep", "3600"});
  readonly.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
  auto* mount = readonly.add_mounts();
  mount->set_host_path(volume.string());
  mount->set_container_path("/data");
  const std::string r = fx.must_run_container(pod_id, readonly, pod);
  const auto root_write = fx.exec(r, {"touch", "/x"});
  REQUIRE(root_write.ok());
  CHECK_THAT(root_write.value.stderr(), Catch::Contains("Read-only file system"));
  CHECK(fx.must_exec(r, {"sh", "-c", "echo hi > /data/f && cat /data/f"}) == "hi\n");

  // Refused: a relative path, and a read-only root for a system container (no lxe-init).
  auto relative = CriFixture::container_config("x", {"sleep", "1"});
  relative.mutable_linux()->mutable_security_context()->add_masked_paths("proc/kcore");
  const auto refused_relative = fx.create_container(pod_id, relative, pod);
  CHECK(refused_relative.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused_relative.status.error_message(), Catch::Contains("masked_paths") && Catch::Contains("absolute"));
  auto system = CriFixture::container_config("y", {});
  system.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
  const auto refused_system = fx.create_container(pod_id, system, pod);
  CHECK(refused_system.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused_system.status.error_message(), Catch::Contains("readonly_rootfs"));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("oom: a shell whose child the OOM killer takes ends 137 with reason OOMKilled", "[namespaces][lxd]") {
  CriFixture fx("oom");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // critest's: dd with a 20 MiB buffer under a 15 MiB limit.
  auto config = CriFixture::container_config("o", {"sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M"});
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(15 * 1024 * 1024);
  const std::string id = fx.must_run_container(pod_id, config, pod);
  const auto ended = fx.wait_for_state(id, cri::CONTAINER_EXITED, std::chrono::seconds(60));
  CHECK(ended.state() == cri::CONTAINER_EXITED);
  CHECK(ended.exit_code() == 137);
  CHECK(ended.reason() == "OOMKilled");
  fx.remove_all_pods_and_expect_clean();
}
