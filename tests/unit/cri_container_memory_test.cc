// The container RPCs through lxe's RuntimeService, in this process, with a running reconciler over
// the in-memory LXD: each call's success, what ContainerStatus and ListContainers then show, and
// the gRPC code each of LXD's failures becomes. Behaviour only: requests in, statuses and LXD's
// state out.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "support/memory_fixture.h"

namespace v1 = runtime::v1;
using lxe::lxd::ErrorKind;
using lxe::store::Registry;
using lxe::test::MemoryLxd;
using lxe::test::MemoryRuntime;
using Op = MemoryLxd::Op;

namespace {

constexpr int kPersistent = 1000;  // a failure that lasts until the test clears it

v1::ContainerStatus container_status(MemoryRuntime& rt, const std::string& id, grpc::Status* status = nullptr) {
  v1::ContainerStatusRequest request;
  request.set_container_id(id);
  v1::ContainerStatusResponse response;
  const auto s = rt.runtime.ContainerStatus(nullptr, &request, &response);
  if (status) *status = s;
  return response.status();
}

std::vector<std::pair<std::string, v1::ContainerState>> listed_containers(MemoryRuntime& rt) {
  v1::ListContainersRequest request;
  v1::ListContainersResponse response;
  REQUIRE(rt.runtime.ListContainers(nullptr, &request, &response).ok());
  std::vector<std::pair<std::string, v1::ContainerState>> out;
  for (const auto& c : response.containers()) out.emplace_back(c.id(), c.state());
  return out;
}

// The reconciler retried on its own once LXD answered and caught up with the container.
bool caught_up(MemoryRuntime& rt, const std::string& id) {
  return rt.wait_until([&](const Registry::View& view) {
    const auto* c = view.container(id);
    return !c || (c->observed_generation == c->generation && c->last_error.empty());
  });
}

grpc::Status update_memory(MemoryRuntime& rt, const std::string& id, int64_t bytes) {
  v1::UpdateContainerResourcesRequest request;
  request.set_container_id(id);
  request.mutable_linux()->set_memory_limit_in_bytes(bytes);
  v1::UpdateContainerResourcesResponse response;
  return rt.runtime.UpdateContainerResources(nullptr, &request, &response);
}

grpc::Status attach(MemoryRuntime& rt, const std::string& id, bool tty = false, bool in = true, bool err = true) {
  v1::AttachRequest request;
  request.set_container_id(id);
  request.set_tty(tty);
  request.set_stdin(in);
  request.set_stdout(true);
  request.set_stderr(err);
  v1::AttachResponse response;
  return rt.runtime.Attach(nullptr, &request, &response);
}

// A socket where lxe-init would listen; bound through the directory's /proc/self/fd link, as the
// host path is longer than a socket address allows.
lxe::UniqueFd listen_as_init(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir);
  lxe::UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const std::string via = "/proc/self/fd/" + std::to_string(dir_fd.get()) + "/" + std::filesystem::path(path).filename().string();
  lxe::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, via.c_str());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd.get(), 4) == 0);
  return fd;
}

}  // namespace

TEST_CASE("CreateContainer: the stopped instance; CREATED in status and list", "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  const auto created = rt.create_container(pod.id);
  REQUIRE(created.status.ok());
  const auto instance = rt.lxd.instance(rt.container(created.id).lxd_name);
  REQUIRE(instance);
  CHECK_FALSE(instance->running());
  CHECK(instance->config.at("volatile.base_image") == rt.image_fingerprint);
  const auto status = container_status(rt, created.id);
  CHECK(status.state() == v1::CONTAINER_CREATED);
  CHECK(status.image().image() == MemoryRuntime::kImage);
  CHECK(listed_containers(rt) == std::vector<std::pair<std::string, v1::ContainerState>>{{created.id, v1::CONTAINER_CREATED}});
}

TEST_CASE("CreateContainer: refusals before anything is made", "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  SECTION("an image LXD does not have: NOT_FOUND") {
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id(pod.id);
    *request.mutable_config() = rt.container_config("app");
    request.mutable_config()->mutable_image()->set_image("nginx");
    v1::CreateContainerResponse response;
    const auto status = rt.runtime.CreateContainer(nullptr, &request, &response);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(status.error_message(), Catch::Contains("nginx"));
  }
  SECTION("a pod that is not ready: FAILED_PRECONDITION") {
    REQUIRE(rt.stop_pod(pod.id).ok());
    CHECK(rt.create_container(pod.id).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  SECTION("LXD cannot be asked for the image: UNAVAILABLE") {
    rt.lxd.fail_next(Op::GetImageAlias, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.create_container(pod.id).status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  CHECK(rt.registry.containers().empty());
  CHECK(rt.lxd.count(Op::CreateInstance, "") == 1);  // the pod's holder, nothing else
}

TEST_CASE("CreateContainer: a failure on the host is INTERNAL, and the record is taken down", "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  // Where the container's log folder must go, a file.
  const std::string log_directory = rt.pod_config("web").log_directory();
  std::filesystem::create_directories(std::filesystem::path(log_directory).parent_path());
  lxe::test::write_file(log_directory, "not a folder");
  const auto created = rt.create_container(pod.id);
  CHECK(created.status.error_code() == grpc::StatusCode::INTERNAL);
  CHECK_THAT(created.status.error_message(), Catch::Contains("CreateContainer"));
  CHECK(rt.wait_until([&](const Registry::View& view) { return view.containers_of(pod.id).empty(); }));
  CHECK(rt.lxd.count(Op::CreateInstance) == 1);  // the holder's: nothing was asked of LXD
}

TEST_CASE("CreateContainer: LXD refusing is UNKNOWN with its reason, and the record is taken down",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  rt.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::BadRequest, .message = "Invalid devices", .times = kPersistent});
  const auto created = rt.create_container(pod.id);
  CHECK(created.status.error_code() == grpc::StatusCode::UNKNOWN);
  CHECK_THAT(created.status.error_message(), Catch::Contains("Invalid devices"));
  rt.lxd.clear_faults();
  CHECK(rt.wait_until([&](const Registry::View& view) { return view.containers_of(pod.id).empty(); }));
  CHECK(listed_containers(rt).empty());
  CHECK(rt.lxd.instance_names().size() == 1);  // the holder
}

TEST_CASE("StartContainer: the instance runs in the pod's namespaces; RUNNING; a second start is refused",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  const auto instance = rt.lxd.instance(rt.container(id).lxd_name);
  CHECK(instance->running());
  CHECK_THAT(instance->config.at("raw.lxc"),
             Catch::Contains("lxc.namespace.share.net = " + std::to_string(rt.sandbox(pod).infra_pid)));
  const auto status = container_status(rt, id);
  CHECK(status.state() == v1::CONTAINER_RUNNING);
  CHECK(status.started_at() > 0);
  CHECK(rt.start_container(id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(rt.lxd.count(Op::StartInstance, rt.container(id).lxd_name) == 1);
}

TEST_CASE("StartContainer: LXD's failures become gRPC codes; the container ends EXITED with StartError",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  const auto created = rt.create_container(pod.id);
  REQUIRE(created.status.ok());
  grpc::StatusCode expected = grpc::StatusCode::OK;
  SECTION("LXD down altogether: UNAVAILABLE") {
    rt.lxd.set_reachable(false);
    expected = grpc::StatusCode::UNAVAILABLE;
  }
  SECTION("LXD refuses: UNKNOWN") {
    rt.lxd.fail_next(Op::StartInstance,
                     {.kind = ErrorKind::OperationFailed, .message = "Failed to run: lxc-start", .times = kPersistent});
    expected = grpc::StatusCode::UNKNOWN;
  }
  const auto status = rt.start_container(created.id);
  CHECK(status.error_code() == expected);
  rt.lxd.set_reachable(true);
  const auto after = container_status(rt, created.id);
  CHECK(after.state() == v1::CONTAINER_EXITED);
  CHECK(after.reason() == "StartError");
  CHECK(after.exit_code() == 128);
  rt.lxd.clear_faults();
  CHECK(caught_up(rt, created.id));
  CHECK_FALSE(rt.lxd.instance(rt.container(created.id).lxd_name)->running());  // never started later
}

TEST_CASE("StopContainer: graceful for the timeout given; EXITED with lxe-init's exit code; idempotent",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  const std::string instance = rt.container(id).lxd_name;
  // lxe-init records the command's end when the stop signal ends it, before LXD stops the instance.
  rt.lxd.set_hook([&](const MemoryLxd::Call& call) {
    if (call.op == Op::StopInstance && call.target == instance) rt.write_exit(id, 143);
  });
  REQUIRE(rt.stop_container(id, 10).ok());
  CHECK_FALSE(rt.lxd.instance(instance)->running());
  const auto stops = rt.lxd.calls(Op::StopInstance);
  REQUIRE(stops.size() == 1);
  CHECK(stops[0].body["mode"] == "graceful");
  CHECK(stops[0].body["timeout"] == 10);
  const auto status = container_status(rt, id);
  CHECK(status.state() == v1::CONTAINER_EXITED);
  CHECK(status.exit_code() == 143);
  CHECK(status.finished_at() > 0);
  CHECK(rt.stop_container(id, 10).ok());
  CHECK(rt.lxd.calls(Op::StopInstance).size() == 1);
  CHECK(rt.stop_container(std::string(64, 'f')).ok());  // unknown: nothing to stop
}

TEST_CASE("StopContainer: LXD's failures become gRPC codes; once LXD answers the stop completes",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  SECTION("LXD down altogether: UNAVAILABLE") {
    rt.lxd.set_reachable(false);
    CHECK(rt.stop_container(id).error_code() == grpc::StatusCode::UNAVAILABLE);
    rt.lxd.set_reachable(true);
  }
  SECTION("LXD refuses: UNKNOWN") {
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::BadRequest, .message = "no", .times = kPersistent});
    CHECK(rt.stop_container(id).error_code() == grpc::StatusCode::UNKNOWN);
  }
  CHECK(container_status(rt, id).state() == v1::CONTAINER_RUNNING);  // LXD still runs it
  rt.lxd.clear_faults();
  CHECK(caught_up(rt, id));
  CHECK(container_status(rt, id).state() == v1::CONTAINER_EXITED);
  CHECK(rt.stop_container(id).ok());
}

bool record_gone(MemoryRuntime& rt, const std::string& id) {
  return rt.wait_until([&](const Registry::View& view) { return view.container(id) == nullptr; });
}

TEST_CASE("RemoveContainer: a running container is killed and removed; gone from the list at once, from LXD next; "
          "idempotent",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  const std::string instance = rt.container(id).lxd_name;
  REQUIRE(rt.remove_container(id).ok());
  // Answered once its processes are gone: the instance, if LXD still has it, does not run.
  if (const auto left = rt.lxd.instance(instance)) CHECK_FALSE(left->running());
  CHECK(listed_containers(rt).empty());
  grpc::Status status;
  container_status(rt, id, &status);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(rt.remove_container(id).ok());
  // The instance's delete follows off the caller's path, then the record goes.
  CHECK(record_gone(rt, id));
  CHECK_FALSE(rt.lxd.instance(instance));
}

TEST_CASE("RemoveContainer: answered before the delete, which LXD's busy moments and refusals only delay",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  const std::string instance = rt.container(id).lxd_name;
  SECTION("busy twice, then deleted") {
    rt.lxd.busy_next(Op::DeleteInstance, 2);
    CHECK(rt.remove_container(id).ok());
    CHECK(record_gone(rt, id));
    CHECK(rt.lxd.count(Op::DeleteInstance) == 3);
  }
  SECTION("refused: the record stays (hidden from CRI, its failure stored) until LXD deletes the instance") {
    rt.lxd.fail_next(Op::DeleteInstance, {.kind = ErrorKind::Server, .message = "disk on fire", .times = kPersistent});
    CHECK(rt.remove_container(id).ok());
    CHECK(rt.wait_until([&](const Registry::View& view) {
      const auto* c = view.container(id);
      return c && c->last_error.find("disk on fire") != std::string::npos;
    }));
    REQUIRE(rt.registry.container(id));
    CHECK(lxe::store::removed_for_cri(*rt.registry.container(id)));
    CHECK(rt.lxd.instance(instance));
    CHECK(listed_containers(rt).empty());
    grpc::Status status;
    container_status(rt, id, &status);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(rt.remove_container(id).ok());
    // Once LXD answers, the reconciler's own retry finishes the removal.
    rt.lxd.clear_faults();
  }
  CHECK(record_gone(rt, id));
  CHECK_FALSE(rt.lxd.instance(instance));
}

TEST_CASE("CreateContainer: a name and attempt removed a moment ago is taken again once LXD has deleted the old "
          "instance, or ALREADY_EXISTS when that does not come in time",
          "[cri][container]") {
  MemoryRuntime::Options options;
  options.max_wait = std::chrono::seconds(2);
  MemoryRuntime rt(options);
  const auto [pod, id] = rt.running_pod();
  // The old instance's delete is refused, so its record (and the name) stays.
  rt.lxd.fail_next(Op::DeleteInstance, {.kind = ErrorKind::Server, .message = "disk on fire", .times = kPersistent});
  REQUIRE(rt.remove_container(id).ok());
  SECTION("the delete never comes: ALREADY_EXISTS naming the removed container, nothing stored") {
    const auto again = rt.create_container(pod);
    CHECK(again.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK_THAT(again.status.error_message(), Catch::Contains("was removed") && Catch::Contains(id) &&
                                                 Catch::Contains("retry when it is gone"));
    CHECK(rt.registry.containers().size() == 1);  // the removed one only
    rt.lxd.clear_faults();
  }
  SECTION("the delete comes while the call waits: created") {
    std::thread clear([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      rt.lxd.clear_faults();
    });
    const auto again = rt.create_container(pod);
    clear.join();
    INFO(again.status.error_message());
    REQUIRE(again.status.ok());
    CHECK(again.id != id);
    CHECK_FALSE(rt.registry.container(id));
    const auto listed = listed_containers(rt);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].first == again.id);
  }
  CHECK(record_gone(rt, id));
}

TEST_CASE("UpdateContainerResources: applied live, the container keeps running; LXD's failures become codes",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  const std::string instance = rt.container(id).lxd_name;
  const int64_t pid = rt.lxd.get_instance_state(instance).pid;
  REQUIRE(update_memory(rt, id, 256 << 20).ok());
  CHECK(rt.lxd.instance(instance)->config.at("limits.memory") == std::to_string(256 << 20));
  CHECK(rt.lxd.get_instance_state(instance).pid == pid);
  CHECK(container_status(rt, id).resources().linux().memory_limit_in_bytes() == 256 << 20);

  rt.lxd.fail_next(Op::PatchInstance, {.kind = ErrorKind::BadRequest, .message = "Invalid value", .times = kPersistent});
  CHECK(update_memory(rt, id, 512 << 20).error_code() == grpc::StatusCode::UNKNOWN);
  // The new limit stays wanted: applied once LXD answers.
  rt.lxd.clear_faults();
  CHECK(caught_up(rt, id));
  CHECK(rt.lxd.instance(instance)->config.at("limits.memory") == std::to_string(512 << 20));
}

TEST_CASE("ContainerStatus: a command that ends shows as EXITED with its exit code", "[cri][container]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  rt.write_exit(id, 0);
  rt.lxd.stop_outside(rt.container(id).lxd_name);  // LXD's event reaches the reconciler
  CHECK(rt.wait_until([&](const Registry::View& view) {
    return view.container(id)->observed_state == lxe::store::ContainerObserved::Exited;
  }));
  const auto status = container_status(rt, id);
  CHECK(status.state() == v1::CONTAINER_EXITED);
  CHECK(status.exit_code() == 0);
  CHECK(status.reason() == "Completed");
  CHECK(listed_containers(rt) == std::vector<std::pair<std::string, v1::ContainerState>>{{id, v1::CONTAINER_EXITED}});
}

// Fixed by the failure kinds stored next to last_error (was a known bug: the facade looked for
// an "LXD unavailable: " prefix at the start of last_error only, and answered UNKNOWN).
TEST_CASE("Container RPCs: one LXD call unanswered while the health check answers is UNAVAILABLE",
          "[cri][container]") {
  MemoryRuntime rt;
  const auto pod = rt.run_pod();
  REQUIRE(pod.status.ok());
  SECTION("CreateContainer") {
    rt.lxd.fail_next(Op::CreateInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.create_container(pod.id).status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("StartContainer") {
    const auto created = rt.create_container(pod.id);
    REQUIRE(created.status.ok());
    rt.lxd.fail_next(Op::StartInstance, {.kind = ErrorKind::Timeout, .times = kPersistent});
    CHECK(rt.start_container(created.id).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("StopContainer") {
    const auto [p, id] = rt.running_pod("other");
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.stop_container(id).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("RemoveContainer") {
    const auto [p, id] = rt.running_pod("other");
    rt.lxd.fail_next(Op::StopInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(rt.remove_container(id).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("UpdateContainerResources") {
    const auto [p, id] = rt.running_pod("other");
    rt.lxd.fail_next(Op::PatchInstance, {.kind = ErrorKind::Transport, .times = kPersistent});
    CHECK(update_memory(rt, id, 512 << 20).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_CASE("Attach: refused before a URL for what lxe-init cannot attach", "[cri][container][attach]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  CHECK(attach(rt, "no-such-container").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(attach(rt, id, true, true, true).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // Running, but its lxe-init has no socket (from an lxe before attach).
  const auto old = attach(rt, id);
  CHECK(old.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(old.error_message(), Catch::Contains("without attach support; restart it"));
  // With the socket, the URL is asked of the streaming server (none runs here).
  const auto listener = listen_as_init(rt.files.attach_socket(id));
  CHECK(attach(rt, id).error_code() == grpc::StatusCode::UNAVAILABLE);

  // The image's own init (no command) has no lxe-init to attach to.
  const auto image_init = rt.create_container(pod, "system", {});
  REQUIRE(image_init.status.ok());
  REQUIRE(rt.start_container(image_init.id).ok());
  const auto refused = attach(rt, image_init.id, false, false);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("image's own init"));
  // Not running.
  REQUIRE(rt.stop_container(id).ok());
  CHECK(attach(rt, id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}
