// A pod's sysctls on the real LXD: applied in every container's namespaces before its process
// starts (the IPC ones in each container's own IPC namespace, the network ones in the pod's shared
// network namespace), and a node-wide sysctl refused before anything is stored.
#include <catch2/catch.hpp>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

std::string read_in(CriFixture& fx, const std::string& container_id, const std::string& proc_sys_path) {
  const auto reply = fx.exec(container_id, {"cat", "/proc/sys/" + proc_sys_path});
  INFO(describe(reply.status));
  REQUIRE(reply.status.ok());
  INFO("stderr: " << reply.value.stderr());
  REQUIRE(reply.value.exit_code() == 0);
  std::string out = reply.value.stdout();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("sysctls: a pod's namespaced sysctls hold in each of its containers", "[sysctls][lxd]") {
  CriFixture fx("sysctl");
  auto pod = fx.pod_config("p");
  auto& sysctls = *pod.mutable_linux()->mutable_sysctls();
  sysctls["kernel.shm_rmid_forced"] = "1";   // IPC namespace (critest's "safe" sysctl)
  sysctls["fs.mqueue.msg_max"] = "100";      // IPC namespace (critest's "unsafe" one)
  sysctls["net/ipv4/ip_unprivileged_port_start"] = "80";  // network namespace, '/' form
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string a = fx.must_run_container(pod_id, CriFixture::container_config("a", {"sleep", "3600"}), pod);
  const std::string b = fx.must_run_container(pod_id, CriFixture::container_config("b", {"sleep", "3600"}), pod);
  for (const auto& id : {a, b}) {
    CHECK(read_in(fx, id, "kernel/shm_rmid_forced") == "1");
    CHECK(read_in(fx, id, "fs/mqueue/msg_max") == "100");
    CHECK(read_in(fx, id, "net/ipv4/ip_unprivileged_port_start") == "80");
  }
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("sysctls: a node-wide sysctl is refused and nothing is stored", "[sysctls][lxd]") {
  CriFixture fx("sysctlbad");
  auto pod = fx.pod_config("p");
  (*pod.mutable_linux()->mutable_sysctls())["kernel.panic"] = "10";
  const auto reply = fx.run_pod(pod);
  CHECK(reply.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(reply.status.error_message(), Catch::Contains("kernel.panic") && Catch::Contains("not namespaced"));
  CHECK(fx.list_pods().empty());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("sysctls: a value the kernel refuses fails RunPodSandbox with a message naming the sysctls", "[sysctls][lxd]") {
  CriFixture fx("sysctlval");
  auto pod = fx.pod_config("p");
  // Namespaced, so accepted, but the group range goes beyond the container's ID map: EINVAL.
  (*pod.mutable_linux()->mutable_sysctls())["net.ipv4.ping_group_range"] = "0 2147483647";
  const auto reply = fx.run_pod(pod);
  CHECK_FALSE(reply.status.ok());
  CHECK_THAT(reply.status.error_message(),
             Catch::Contains("net.ipv4.ping_group_range=0 2147483647") && Catch::Contains("lxc.log"));
  // RunPodSandbox rolled the pod back (desired removed): until its removal has gone far enough to
  // hide it (removed for CRI), it lists as NOTREADY and RemovePodSandbox takes it; either way lxe
  // takes its LXD objects away, once LXD has finished cleaning up after the failed start.
  const auto pods = fx.list_pods();
  REQUIRE(pods.size() <= 1);
  if (!pods.empty()) {
    CHECK(pods[0].state() == cri::SANDBOX_NOTREADY);
    CHECK(fx.remove_pod(pods[0].id()).ok());
  }
  fx.remove_all_pods_and_expect_clean();
}
