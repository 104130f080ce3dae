// The crash-point matrix (docs/recovery.md): every lifecycle RPC, with lxe killed (SIGKILL) at each
// named point inside it, then restarted; the call is repeated or continued as kubelet would. After
// recovery: the final state is the desired one, LXD has exactly the objects it should (nothing
// orphaned, nothing twice), no store record is lost, and a container that was already running
// elsewhere on the node was never restarted (same init PID).
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <set>
#include <thread>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

namespace v1 = ::runtime::v1;
using lxe::test::context_with_deadline;
using lxe::test::DaemonProcess;
using lxe::test::TempDir;

namespace {

// One lxe on a store of its own, restartable, plus an LXD client to check what LXD has.
class Node {
 public:
  explicit Node(std::string tag) : tag_(std::move(tag)), lxd_(lxe::test::make_test_lxd_client()) {
    static const int swept = lxe::test::sweep_stale_test_objects(lxd_);
    (void)swept;
    start("");
  }
  ~Node() {
    // Best effort: whatever a failed test left in LXD under this node's names goes.
    try {
      if (!lxe_) start("");
      for (const auto& pod : list_pods()) remove_pod(pod.id());
    } catch (...) {
    }
    lxe_.reset();
    lxe::test::LxdCleanup cleanup(lxd_);
    for (const auto& [name, running] : instances()) cleanup.instance(name);
    for (const auto& name : profiles()) cleanup.profile(name);
  }

  void start(const std::string& crash_point) {
    lxe_.reset();
    std::vector<std::string> env;
    if (!crash_point.empty()) env.push_back("LXE_CRASH_AT=" + crash_point);
    lxe_ = std::make_unique<DaemonProcess>(dir_, std::vector<std::string>{"--lxd-socket", lxe::test::lxd_socket_path()},
                                           std::chrono::seconds(20), env);
  }
  // After a call that may have hit the crash point: waits for lxe to die (if it was going to),
  // then starts a clean one on the same store.
  bool recover() {
    const int signal = lxe_->wait_for_death(std::chrono::seconds(3));
    const bool crashed = signal == SIGKILL;
    if (signal == -1) lxe_->stop(SIGTERM);
    start("");
    return crashed;
  }

  v1::RuntimeService::Stub& rt() { return lxe_->runtime(); }
  std::string prefix() const { return lxe::test::run_prefix() + tag_ + "-"; }

  v1::PodSandboxConfig pod(const std::string& suffix, uint32_t attempt = 0) const {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(tag_ + "-" + suffix);
    c.mutable_metadata()->set_namespace_("crash");
    c.mutable_metadata()->set_uid("uid-" + tag_ + "-" + suffix);
    c.mutable_metadata()->set_attempt(attempt);
    (*c.mutable_labels())["pod"] = suffix;
    c.set_log_directory(dir_.file("logs-" + suffix));
    return c;
  }
  static v1::ContainerConfig container(const std::string& name) {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image("busybox");
    c.add_command("sleep");
    c.add_command("3600");
    return c;
  }

  grpc::Status run_pod(const v1::PodSandboxConfig& config, std::string* id = nullptr) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    v1::RunPodSandboxResponse resp;
    const auto status = rt().RunPodSandbox(context_with_deadline().get(), req, &resp);
    if (id) *id = resp.pod_sandbox_id();
    return status;
  }
  grpc::Status create(const std::string& pod_id, const v1::PodSandboxConfig& pod_config,
                      const v1::ContainerConfig& config, std::string* id = nullptr) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = pod_config;
    v1::CreateContainerResponse resp;
    const auto status = rt().CreateContainer(context_with_deadline().get(), req, &resp);
    if (id) *id = resp.container_id();
    return status;
  }
  grpc::Status start_container(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    return rt().StartContainer(context_with_deadline().get(), req, &resp);
  }
  grpc::Status stop_container(const std::string& id) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    v1::StopContainerResponse resp;
    return rt().StopContainer(context_with_deadline().get(), req, &resp);
  }
  grpc::Status remove_container(const std::string& id) {
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    return rt().RemoveContainer(context_with_deadline().get(), req, &resp);
  }
  grpc::Status stop_pod(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    return rt().StopPodSandbox(context_with_deadline().get(), req, &resp);
  }
  grpc::Status remove_pod(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    return rt().RemovePodSandbox(context_with_deadline().get(), req, &resp);
  }
  v1::ContainerStatus container_status(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    REQUIRE(rt().ContainerStatus(context_with_deadline().get(), req, &resp).ok());
    return resp.status();
  }
  std::vector<v1::PodSandbox> list_pods(const std::string& label = "") {
    v1::ListPodSandboxRequest req;
    if (!label.empty()) (*req.mutable_filter()->mutable_label_selector())["pod"] = label;
    v1::ListPodSandboxResponse resp;
    REQUIRE(rt().ListPodSandbox(context_with_deadline().get(), req, &resp).ok());
    return {resp.items().begin(), resp.items().end()};
  }
  std::vector<v1::Container> list_containers(const std::string& pod_id) {
    v1::ListContainersRequest req;
    req.mutable_filter()->set_pod_sandbox_id(pod_id);
    v1::ListContainersResponse resp;
    REQUIRE(rt().ListContainers(context_with_deadline().get(), req, &resp).ok());
    return {resp.containers().begin(), resp.containers().end()};
  }
  // Polls until `done` or 20 s.
  bool eventually(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  // LXD instances (name → running) and profiles under this node's names, for one pod suffix.
  std::map<std::string, bool> instances(const std::string& suffix = "") const {
    std::map<std::string, bool> out;
    for (const auto& i : lxd_.list_instances())
      if (i.name.rfind(prefix() + suffix, 0) == 0) out[i.name] = i.running();
    return out;
  }
  std::set<std::string> profiles(const std::string& suffix = "") const {
    std::set<std::string> out;
    for (const auto& p : lxd_.list_profiles())
      if (p.name.rfind(prefix() + suffix, 0) == 0) out.insert(p.name);
    return out;
  }
  int64_t init_pid(const std::string& instance) const { return lxd_.get_instance_state(instance).pid; }
  // The instances lxe keeps ready (reconcile/ready_instances.h): the run's prefix, "-ready-".
  std::set<std::string> ready_instances() const {
    std::set<std::string> out;
    for (const auto& i : lxd_.list_instances())
      if (i.name.rfind(lxe::test::run_prefix() + "-ready-", 0) == 0) out.insert(i.name);
    return out;
  }
  bool has_instance(const std::string& name) const {
    for (const auto& i : lxd_.list_instances())
      if (i.name == name) return true;
    return false;
  }

 private:
  std::string tag_;
  TempDir dir_;
  lxe::lxd::Client lxd_;
  std::unique_ptr<DaemonProcess> lxe_;
};

// Keeps a bystander pod with a running container for the whole matrix; checks it never restarts.
struct Witness {
  Node& node;
  std::string instance;
  int64_t pid = 0;
  explicit Witness(Node& n) : node(n) {
    const auto pod = node.pod("w");
    std::string pod_id, id;
    REQUIRE(node.run_pod(pod, &pod_id).ok());
    REQUIRE(node.create(pod_id, pod, Node::container("w"), &id).ok());
    REQUIRE(node.start_container(id).ok());
    for (const auto& [name, running] : node.instances("w-w-"))
      if (running) instance = name;
    REQUIRE_FALSE(instance.empty());
    pid = node.init_pid(instance);
    REQUIRE(pid > 0);
  }
  void check() const {
    INFO("witness " << instance);
    CHECK(node.instances("w-w-").at(instance));
    CHECK(node.init_pid(instance) == pid);
  }
};

struct Case {
  std::string point;
  std::string suffix;
};

std::vector<Case> cases(const std::vector<std::string>& points) {
  std::vector<Case> out;
  for (size_t i = 0; i < points.size(); ++i) out.push_back({points[i], "k" + std::to_string(i)});
  return out;
}

// Pod with a created (or also started) container, made by a clean lxe.
struct Setup {
  std::string pod_id, container_id;
  v1::PodSandboxConfig pod;
};
Setup setup(Node& node, const std::string& suffix, bool with_container, bool started) {
  Setup s;
  s.pod = node.pod(suffix);
  REQUIRE(node.run_pod(s.pod, &s.pod_id).ok());
  if (with_container) {
    REQUIRE(node.create(s.pod_id, s.pod, Node::container("c"), &s.container_id).ok());
    if (started) REQUIRE(node.start_container(s.container_id).ok());
  }
  return s;
}

v1::ContainerState state_of(Node& node, const std::string& pod_id, const std::string& id) {
  for (const auto& c : node.list_containers(pod_id))
    if (c.id() == id) return c.state();
  return v1::CONTAINER_UNKNOWN;
}

}  // namespace

TEST_CASE("crash points: RunPodSandbox", "[lxd][recovery]") {
  Node node("crp");
  Witness witness(node);
  for (const auto& [point, suffix] :
       cases({"store-written:RunPodSandbox", "before:create-profile", "after:create-profile",
              "committed:create-profile", "before:create-infra", "after:create-infra", "committed:create-infra",
              "after:start-infra", "committed:start-infra", "after:record-infra-pid", "committed:record-ready",
              "committed:mark-reconciled"})) {
    INFO("crash point " << point);
    node.start(point);
    (void)node.run_pod(node.pod(suffix));
    node.recover();
    // kubelet: a READY sandbox of this pod is used; otherwise the broken ones go and a new attempt
    // is made.
    auto pods = node.list_pods(suffix);
    bool ready = false;
    for (const auto& p : pods) ready |= p.state() == v1::SANDBOX_READY;
    if (!ready) {
      for (const auto& p : pods) CHECK(node.remove_pod(p.id()).ok());
      REQUIRE(node.run_pod(node.pod(suffix, 1)).ok());
    }
    pods = node.list_pods(suffix);
    REQUIRE(pods.size() == 1);
    CHECK(pods[0].state() == v1::SANDBOX_READY);
    // Exactly one profile and one running namespace holder for the pod: nothing orphaned or twice
    // (once LXD has deleted what the removed attempts left: that follows RemovePodSandbox's answer).
    CHECK(node.eventually([&] {
      return node.profiles(suffix + "-").size() == 1 && node.instances(suffix + "-").size() == 1;
    }));
    CHECK(node.profiles(suffix + "-").size() == 1);
    const auto instances = node.instances(suffix + "-");
    CHECK(instances.size() == 1);
    for (const auto& [name, running] : instances) CHECK(running);
    REQUIRE(node.remove_pod(pods[0].id()).ok());
    CHECK(node.eventually([&] { return node.instances(suffix + "-").empty(); }));
    CHECK(node.eventually([&] { return node.profiles(suffix + "-").empty(); }));
  }
  witness.check();
}

TEST_CASE("crash points: CreateContainer and StartContainer", "[lxd][recovery]") {
  Node node("crc");
  Witness witness(node);
  for (const auto& [point, suffix] :
       cases({"store-written:CreateContainer", "before:create-instance", "after:create-instance",
              "committed:create-instance", "committed:record-created"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, suffix, false, false);
    node.start(point);
    (void)node.create(s.pod_id, s.pod, Node::container("c"));
    node.recover();
    // kubelet: a created container of that name is used; a failed one is retried once it is gone.
    std::string id;
    REQUIRE(node.eventually([&] {
      for (const auto& c : node.list_containers(s.pod_id))
        if (c.state() == v1::CONTAINER_CREATED) id = c.id();
      if (!id.empty()) return true;
      if (!node.list_containers(s.pod_id).empty()) return false;  // a failed one is being removed
      return node.create(s.pod_id, s.pod, Node::container("c"), &id).ok();
    }));
    CHECK(node.list_containers(s.pod_id).size() == 1);
    // The record is what CRI shows; LXD catches up as the reconciler adopts it: exactly one
    // instance once it settled, never two.
    CHECK(node.eventually([&] { return node.instances(suffix + "-c-").size() == 1; }));
    CHECK(node.instances(suffix + "-c-").size() == 1);
    REQUIRE(node.remove_pod(s.pod_id).ok());
    CHECK(node.eventually([&] { return node.instances(suffix + "-").empty(); }));
  }
  for (const auto& [point, suffix] :
       cases({"store-written:StartContainer", "before:start-instance", "after:start-instance",
              "committed:start-instance", "committed:record-started"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, "s" + suffix, true, false);
    node.start(point);
    (void)node.start_container(s.container_id);
    node.recover();
    // kubelet: starts it unless it runs already. A start whose store write was lost is simply
    // repeated; one that reached LXD is adopted.
    if (state_of(node, s.pod_id, s.container_id) == v1::CONTAINER_CREATED) {
      const auto status = node.start_container(s.container_id);
      CHECK((status.ok() || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION));
    }
    CHECK(node.eventually([&] { return state_of(node, s.pod_id, s.container_id) == v1::CONTAINER_RUNNING; }));
    const auto instances = node.instances("s" + suffix + "-c-");
    REQUIRE(instances.size() == 1);
    CHECK(instances.begin()->second);
    // Running exactly once: the init PID does not change over another restart of lxe.
    const int64_t pid = node.init_pid(instances.begin()->first);
    node.start("");
    CHECK(node.eventually([&] { return state_of(node, s.pod_id, s.container_id) == v1::CONTAINER_RUNNING; }));
    CHECK(node.init_pid(instances.begin()->first) == pid);
    REQUIRE(node.remove_pod(s.pod_id).ok());
    CHECK(node.eventually([&] { return node.instances("s" + suffix + "-").empty(); }));
  }
  witness.check();
}

TEST_CASE("crash points: between a ready instance's PATCH and its rename", "[lxd][recovery][ready]") {
  Node node("crq");
  Witness witness(node);  // its image is in use: lxe keeps an instance of it ready
  const Setup s = setup(node, "k0", false, false);
  node.start("patched:claim-ready-instance");
  REQUIRE(node.eventually([&] { return !node.ready_instances().empty(); }));
  // lxe holds it as ready once it is made: created, started once and stopped (about 1.2 s, the
  // stop's teardown included).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string half = *node.ready_instances().begin();
  (void)node.create(s.pod_id, s.pod, Node::container("c"));
  CHECK(node.recover());  // it died there
  // kubelet: a created container of that name is used; a failed one is retried once it is gone.
  std::string id;
  REQUIRE(node.eventually([&] {
    for (const auto& c : node.list_containers(s.pod_id))
      if (c.state() == v1::CONTAINER_CREATED) id = c.id();
    if (!id.empty()) return true;
    if (!node.list_containers(s.pod_id).empty()) return false;
    return node.create(s.pod_id, s.pod, Node::container("c"), &id).ok();
  }));
  CHECK(node.eventually([&] { return node.instances("k0-c-").size() == 1; }));
  // The half-claimed instance carried the container's marks under a ready name: the next lxe
  // deletes it and never takes it for the container.
  CHECK(node.eventually([&] { return !node.has_instance(half); }));
  REQUIRE(node.start_container(id).ok());
  CHECK(node.eventually([&] { return state_of(node, s.pod_id, id) == v1::CONTAINER_RUNNING; }));
  CHECK(node.instances("k0-c-").size() == 1);
  REQUIRE(node.remove_pod(s.pod_id).ok());
  CHECK(node.eventually([&] { return node.instances("k0-").empty(); }));
  witness.check();
}

TEST_CASE("crash points: StopContainer and RemoveContainer", "[lxd][recovery]") {
  Node node("crs");
  Witness witness(node);
  for (const auto& [point, suffix] :
       cases({"store-written:StopContainer", "before:stop-instance", "after:stop-instance",
              "committed:stop-instance", "committed:record-exit"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, suffix, true, true);
    node.start(point);
    (void)node.stop_container(s.container_id);
    node.recover();
    CHECK(node.stop_container(s.container_id).ok());  // kubelet repeats; stopping is idempotent
    CHECK(node.eventually([&] { return state_of(node, s.pod_id, s.container_id) == v1::CONTAINER_EXITED; }));
    // The workload is dead when StopContainer returns; LXD tears the instance down by itself
    // right after (lxe-init exits), off the call's path.
    CHECK(node.eventually([&] {
      const auto instances = node.instances(suffix + "-c-");
      return instances.size() == 1 && !instances.begin()->second;
    }));
    // The exit was recorded once: another restart (and another stop) changes nothing of it.
    const auto before = node.container_status(s.container_id);
    CHECK(before.exit_code() == 137);  // a stop without grace period: SIGKILL
    node.start("");
    CHECK(node.stop_container(s.container_id).ok());
    const auto after = node.container_status(s.container_id);
    CHECK(after.finished_at() == before.finished_at());
    CHECK(after.exit_code() == before.exit_code());
    REQUIRE(node.remove_pod(s.pod_id).ok());
  }
  for (const auto& [point, suffix] :
       cases({"store-written:RemoveContainer", "before:kill-instance", "after:kill-instance",
              "committed:kill-instance", "committed:mark-reconciled", "before:delete-instance",
              "after:delete-instance", "committed:delete-instance", "after:erase-record"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, "r" + suffix, true, true);
    node.start(point);
    (void)node.remove_container(s.container_id);
    node.recover();
    CHECK(node.remove_container(s.container_id).ok());  // kubelet repeats; removing is idempotent
    CHECK(node.list_containers(s.pod_id).empty());
    CHECK(node.eventually([&] { return node.instances("r" + suffix + "-c-").empty(); }));
    // The pod itself is untouched: still ready, its holder still running.
    CHECK(node.list_pods("r" + suffix).at(0).state() == v1::SANDBOX_READY);
    REQUIRE(node.remove_pod(s.pod_id).ok());
  }
  witness.check();
}

TEST_CASE("crash points: StopPodSandbox and RemovePodSandbox", "[lxd][recovery]") {
  Node node("crq");
  Witness witness(node);
  for (const auto& [point, suffix] :
       cases({"store-written:StopPodSandbox", "before:stop-infra", "after:stop-infra", "committed:stop-infra",
              "committed:record-notready"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, suffix, true, true);
    node.start(point);
    (void)node.stop_pod(s.pod_id);
    node.recover();
    CHECK(node.stop_pod(s.pod_id).ok());
    CHECK(node.list_pods(suffix).at(0).state() == v1::SANDBOX_NOTREADY);
    CHECK(state_of(node, s.pod_id, s.container_id) == v1::CONTAINER_EXITED);
    // Processes gone when the call returns; the instances stop by themselves right after.
    CHECK(node.eventually([&] {
      for (const auto& [name, running] : node.instances(suffix + "-"))
        if (running) return false;
      return true;
    }));
    REQUIRE(node.remove_pod(s.pod_id).ok());
  }
  for (const auto& [point, suffix] :
       cases({"store-written:RemovePodSandbox", "after:kill-instance", "committed:mark-reconciled",
              "after:delete-instance", "after:stop-infra", "after:delete-infra", "after:delete-profile",
              "after:erase-record"})) {
    INFO("crash point " << point);
    const Setup s = setup(node, "r" + suffix, true, true);
    node.start(point);
    (void)node.remove_pod(s.pod_id);
    node.recover();
    CHECK(node.remove_pod(s.pod_id).ok());
    CHECK(node.list_pods("r" + suffix).empty());
    CHECK(node.eventually([&] { return node.instances("r" + suffix + "-").empty(); }));
    CHECK(node.eventually([&] { return node.profiles("r" + suffix + "-").empty(); }));
  }
  witness.check();
}
