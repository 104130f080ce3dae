// The pod sandbox RPCs through lxe's RuntimeService, in this process, with a running reconciler over
// the in-memory LXD: each call's success, what the status and list calls then show, and the gRPC
// code each of LXD's failures becomes. Behaviour only: requests in, statuses and LXD's state out.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "model/naming.h"
#include "reconcile/pinned_namespaces.h"
#include "support/memory_fixture.h"

namespace v1 = runtime::v1;
using lxe::lxd::ErrorKind;
using lxe::test::MemoryLxd;
using lxe::test::MemoryRuntime;
using Op = MemoryLxd::Op;

namespace {

constexpr int kPersistent = 1000;  // a failure that lasts until the test clears it

v1::PodSandboxStatusResponse pod_status(MemoryRuntime& rt, const std::string& id, grpc::Status* status = nullptr) {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(id);
  v1::PodSandboxStatusResponse response;
  const auto s = rt.runtime.PodSandboxStatus(nullptr, &request, &response);
  if (status) *status = s;
  return response;
}

std::vector<std::string> listed_pods(MemoryRuntime& rt) {
  v1::ListPodSandboxRequest request;
  v1::ListPodSandboxResponse response;
  REQUIRE(rt.runtime.ListPodSandbox(nullptr, &request, &response).ok());
  std::vector<std::string> ids;
  for (const auto& item : response.items()) ids.push_back(item.id());
  return ids;
}

// The failed RunPodSandbox took down what it made: the record and the LXD objects are gone.
bool cleaned_up(MemoryRuntime& rt) {
  std::vector<std::string> ids;
  for (const auto& s : rt.registry.sandboxes()) ids.push_back(s.id);
  const bool erased = rt.wait_until([&](const lxe::store::Registry::View& view) {
    return std::none_of(ids.begin(), ids.end(), [&](const std::string& id) { return view.sandbox(id) != nullptr; });
  });
  return erased && rt.lxd.instance_names().empty() && rt.lxd.profile_names() == std::vector<std::string>{"default"};
}

}  // namespace

TEST_CASE("RunPodSandbox: the pod's profile and running holder; READY in status and list", "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod("web");
  REQUIRE(pod.status.ok());
  const auto record = rt.sandbox(pod.id);
  CHECK(rt.lxd.profile(record.lxd_name));
  REQUIRE(rt.lxd.instance(record.lxd_name));
  CHECK(rt.lxd.instance(record.lxd_name)->running());

  const auto status = pod_status(rt, pod.id);
  CHECK(status.status().state() == v1::SANDBOX_READY);
  CHECK(status.status().metadata().name() == "web");
  CHECK(listed_pods(rt) == std::vector<std::string>{pod.id});

  // The same pod again is refused; nothing new is made in LXD.
  const auto again = rt.run_pod("web");
  CHECK(again.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(rt.lxd.instance_names().size() == 1);
}

TEST_CASE("RunPodSandbox: LXD's failures become gRPC codes, and the half-made pod is taken down", "[cri][sandbox]") {
  MemoryRuntime rt;
  SECTION("LXD refuses: UNKNOWN with LXD's reason") {
    rt.lxd.fail_next(Op::CreateInstance,
                     {.kind = ErrorKind::BadRequest, .message = "Invalid devices", .times = kPersistent});
    const auto pod = rt.run_pod();
    CHECK(pod.status.error_code() == grpc::StatusCode::UNKNOWN);
    CHECK_THAT(pod.status.error_message(), Catch::Contains("Invalid devices"));
  }
  SECTION("LXD is down altogether: UNAVAILABLE, and the pod goes once LXD is back") {
    rt.lxd.set_reachable(false);
    const auto pod = rt.run_pod();
    CHECK(pod.status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(pod.status.error_message(), Catch::Contains("LXD is unavailable"));
    rt.lxd.set_reachable(true);
  }
  rt.lxd.clear_faults();
  CHECK(cleaned_up(rt));
  CHECK(listed_pods(rt).empty());
}

TEST_CASE("StopPodSandbox: the holder and the pod's containers stop; NOTREADY; idempotent", "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto [pod, container] = rt.running_pod();
  const auto holder = rt.sandbox(pod).lxd_name;
  const auto instance = rt.container(container).lxd_name;
  REQUIRE(rt.stop_pod(pod).ok());
  CHECK(pod_status(rt, pod).status().state() == v1::SANDBOX_NOTREADY);
  CHECK_FALSE(rt.lxd.instance(holder)->running());
  CHECK_FALSE(rt.lxd.instance(instance)->running());
  CHECK(rt.container(container).observed_state == lxe::store::ContainerObserved::Exited);
  // CRI asks a forced stop of the containers.
  for (const auto& call : rt.lxd.calls(Op::StopInstance)) CHECK(call.body["mode"] == "force");
  CHECK(rt.stop_pod(pod).ok());
  CHECK(rt.stop_pod(std::string(64, 'f')).ok());  // unknown: already stopped
}

TEST_CASE("StopPodSandbox: LXD refusing is UNKNOWN; a retry once LXD answers stops the pod",
          "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::BadRequest, .message = "no", .times = kPersistent});
  CHECK(rt.stop_pod(pod.id).error_code() == grpc::StatusCode::UNKNOWN);
  // The reconciler retries on its own once LXD answers; then the pod is stopped.
  rt.lxd.clear_faults();
  CHECK(rt.wait_until([&](const lxe::store::Registry::View& view) {
    const auto* s = view.sandbox(pod.id);
    return s->observed_generation == s->generation && s->last_error.empty();
  }));
  CHECK(rt.stop_pod(pod.id).ok());
  CHECK(pod_status(rt, pod.id).status().state() == v1::SANDBOX_NOTREADY);
}

TEST_CASE("RemovePodSandbox: everything of the pod goes, from the lists at once, then from LXD and the host; "
          "idempotent",
          "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto [pod, container] = rt.running_pod();
  REQUIRE(rt.remove_pod(pod).ok());
  // Answered once nothing of the pod runs; LXD's deletes follow off the caller's path.
  for (const auto& name : rt.lxd.instance_names()) CHECK_FALSE(rt.lxd.instance(name)->running());
  CHECK(listed_pods(rt).empty());
  CHECK(rt.wait_until([&](const lxe::store::Registry::View& view) { return view.sandbox(pod) == nullptr; }));
  CHECK(rt.lxd.instance_names().empty());
  CHECK(rt.lxd.profile_names() == std::vector<std::string>{"default"});
  CHECK_FALSE(rt.registry.sandbox(pod));
  CHECK_FALSE(rt.registry.container(container));
  CHECK(listed_pods(rt).empty());
  grpc::Status status;
  pod_status(rt, pod, &status);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(rt.remove_pod(pod).ok());
}

TEST_CASE("RemovePodSandbox: answered before the deletes, which LXD's busy moments and refusals only delay; "
          "a lasting refusal to stop is UNKNOWN",
          "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto [pod, container] = rt.running_pod();
  const auto gone = [&] {
    return rt.wait_until([&](const lxe::store::Registry::View& view) { return view.sandbox(pod) == nullptr; });
  };
  SECTION("busy twice, then done") {
    rt.lxd.busy_next(Op::DeleteInstance, 2);
    CHECK(rt.remove_pod(pod).ok());
    CHECK(gone());
    CHECK(rt.lxd.instance_names().empty());
  }
  SECTION("delete refused until cleared: the records stay (hidden from CRI, the failure stored)") {
    rt.lxd.fail_next(Op::DeleteInstance, {.kind = ErrorKind::Server, .message = "disk on fire", .times = kPersistent});
    CHECK(rt.remove_pod(pod).ok());
    CHECK(rt.wait_until([&](const lxe::store::Registry::View& view) {
      const auto* s = view.sandbox(pod);
      return s && s->last_error.find("disk on fire") != std::string::npos;
    }));
    // Nothing is forgotten while LXD has it, and CRI no longer shows it.
    CHECK(rt.registry.sandbox(pod));
    CHECK(rt.registry.container(container));
    CHECK(listed_pods(rt).empty());
    grpc::Status status;
    pod_status(rt, pod, &status);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(rt.remove_pod(pod).ok());
    // Once LXD answers, the reconciler's own retry finishes the removal.
    rt.lxd.clear_faults();
    CHECK(gone());
    CHECK(rt.lxd.instance_names().empty());
  }
  SECTION("stop refused: UNKNOWN, and the pod stays listed") {
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::Server, .message = "disk on fire", .times = kPersistent});
    const auto status = rt.remove_pod(pod);
    CHECK(status.error_code() == grpc::StatusCode::UNKNOWN);
    CHECK_THAT(status.error_message(), Catch::Contains("disk on fire"));
    CHECK(listed_pods(rt) == std::vector<std::string>{pod});
    rt.lxd.clear_faults();
    CHECK(gone());
    CHECK(rt.remove_pod(pod).ok());
  }
  CHECK_FALSE(rt.registry.sandbox(pod));
}

// Fixed by the failure kinds stored next to last_error (was a known bug: the facade looked for
// an "LXD unavailable: " prefix at the start of last_error only, and answered UNKNOWN).
TEST_CASE("Pod sandbox RPCs: one LXD call unanswered while the health check answers is UNAVAILABLE",
          "[cri][sandbox]") {
  MemoryRuntime rt;
  SECTION("RunPodSandbox, LXD does not answer") {
    rt.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.run_pod().status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("RunPodSandbox, LXD too slow") {
    rt.lxd.fail_next(Op::StartInstance, {.kind = ErrorKind::Timeout, .times = kPersistent});
    CHECK(rt.run_pod().status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("StopPodSandbox") {
    const auto pod = rt.run_pod();
    REQUIRE(pod.status.ok());
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.stop_pod(pod.id).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("RemovePodSandbox") {
    const auto pod = rt.run_pod();
    REQUIRE(pod.status.ok());
    // (Its holder is stopped through LXD here: the in-memory LXD has no cgroups to kill.)
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::Timeout, .times = kPersistent});
    CHECK(rt.remove_pod(pod.id).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_CASE("PodSandboxStatus: the pod's holder stopped outside lxe shows as NOTREADY", "[cri][sandbox]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  rt.lxd.stop_outside(rt.sandbox(pod.id).lxd_name);  // LXD's event reaches the reconciler
  CHECK(rt.wait_until([&](const lxe::store::Registry::View& view) {
    return view.sandbox(pod.id)->observed_state == lxe::store::SandboxObserved::NotReady;
  }));
  CHECK(pod_status(rt, pod.id).status().state() == v1::SANDBOX_NOTREADY);
}

namespace {

// kubelet's namespace modes on a pod and a container of it: lxe pins such a pod's namespaces.
struct PinnedPod {
  grpc::Status status;
  std::string pod_id;
  v1::PodSandboxConfig config;
};

void kubelet_modes(v1::NamespaceOption* ns) {
  ns->set_network(v1::POD);
  ns->set_pid(v1::CONTAINER);
  ns->set_ipc(v1::POD);
}

PinnedPod run_kubelet_pod(MemoryRuntime& rt, const std::string& name) {
  PinnedPod p;
  p.config = rt.pod_config(name);
  kubelet_modes(p.config.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = p.config;
  v1::RunPodSandboxResponse response;
  p.status = rt.runtime.RunPodSandbox(nullptr, &request, &response);
  p.pod_id = response.pod_sandbox_id();
  return p;
}

MemoryRuntime::Created create_kubelet_container(MemoryRuntime& rt, const PinnedPod& pod) {
  v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod.pod_id);
  *request.mutable_config() = rt.container_config("app", {"sleep", "3600"});
  kubelet_modes(request.mutable_config()->mutable_linux()->mutable_security_context()->mutable_namespace_options());
  *request.mutable_sandbox_config() = pod.config;
  v1::CreateContainerResponse response;
  const auto status = rt.runtime.CreateContainer(nullptr, &request, &response);
  return {status, response.container_id()};
}

}  // namespace

TEST_CASE("pinned pods: no holder in LXD, the container names the pins, and everything goes with the pod",
          "[cri][sandbox][pinned]") {
  MemoryRuntime rt;
  const auto pod = run_kubelet_pod(rt, "web");
  REQUIRE(pod.status.ok());
  const auto record = rt.sandbox(pod.pod_id);
  CHECK(record.pod_namespaces == lxe::store::PodNamespaces::Pinned);
  CHECK(record.pinned_netns != 0);
  CHECK(rt.lxd.profile(record.lxd_name));
  CHECK_FALSE(rt.lxd.instance(record.lxd_name));  // no holder
  CHECK(pod_status(rt, pod.pod_id).status().state() == v1::SANDBOX_READY);
  const std::string pins = rt.files.pod_namespaces_dir(pod.pod_id);
  CHECK(lxe::reconcile::pinned_netns_inode(pins) == record.pinned_netns);

  const auto app = create_kubelet_container(rt, pod);
  REQUIRE(app.status.ok());
  REQUIRE(rt.start_container(app.id).ok());
  const auto instance = rt.lxd.instance(rt.container(app.id).lxd_name);
  REQUIRE(instance);
  CHECK_THAT(instance->config.at("raw.lxc"), Catch::Contains("lxc.namespace.share.net = " + pins + "/net\n") &&
                                                 Catch::Contains("lxc.namespace.share.user = " + pins + "/user\n") &&
                                                 Catch::Contains("lxc.namespace.share.ipc = " + pins + "/ipc\n"));

  REQUIRE(rt.remove_pod(pod.pod_id).ok());
  CHECK(rt.wait_until([&](const lxe::store::Registry::View& view) { return view.sandbox(pod.pod_id) == nullptr; }));
  CHECK_FALSE(std::filesystem::exists(pins));
  CHECK(rt.lxd.instance_names().empty());
}

TEST_CASE("pinned pods: LXD giving a container another ID map than the pins' fails its create, saying what to do",
          "[cri][sandbox][pinned]") {
  MemoryRuntime::Options options;
  options.pod_idmap = {lxe::reconcile::IdRange{true, false, 0, 200000, 65536},
                       lxe::reconcile::IdRange{false, true, 0, 200000, 65536}};
  MemoryRuntime rt(options);
  const auto pod = run_kubelet_pod(rt, "web");
  REQUIRE(pod.status.ok());
  const auto app = create_kubelet_container(rt, pod);
  CHECK_FALSE(app.status.ok());
  CHECK_THAT(app.status.error_message(), Catch::Contains("not the one lxe pinned the pod's user namespace with") &&
                                             Catch::Contains("--pod-namespaces holder"));
  REQUIRE(rt.remove_pod(pod.pod_id).ok());
}
