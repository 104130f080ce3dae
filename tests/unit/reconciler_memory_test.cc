// The reconciler's handling of what happens in LXD behind lxe's back, against the in-memory LXD and
// driven on the test's thread (no workers, no timers): LXD's lifecycle events as the event stream
// delivers them, events about objects that are not lxe's, the event stream dropping and
// reconnecting, the periodic resync, observation failures and their retry, and adoption.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "model/naming.h"
#include "reconcile/plan.h"
#include "support/memory_fixture.h"

using lxe::lxd::ErrorKind;
using lxe::lxd::LifecycleEvent;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::test::MemoryLxd;
using Op = MemoryLxd::Op;
using namespace std::chrono_literals;

namespace {

lxe::reconcile::ReconcilerOptions options(std::chrono::milliseconds backoff) {
  lxe::reconcile::ReconcilerOptions o;
  o.initial_backoff = backoff;
  return o;
}

struct Bed : lxe::test::MemoryFixture {
  explicit Bed(std::chrono::milliseconds backoff = 250ms) : reconciler(registry, lxd, files, volumes, options(backoff)) {
    // LXD's events wait until the test delivers them, as the event stream would, or drops them,
    // as when it is down.
    lxd.on_event([this](const LifecycleEvent& e) {
      std::lock_guard lock(mutex);
      sent.push_back(e);
    });
  }

  size_t deliver() {
    std::vector<LifecycleEvent> events;
    {
      std::lock_guard lock(mutex);
      events.swap(sent);
    }
    for (const auto& e : events) reconciler.on_lxd_event(e);
    return events.size();
  }
  void drop_events() {
    std::lock_guard lock(mutex);
    sent.clear();
  }
  // Processes the queue, and the events lxe's own changes make, until both are quiet.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      const size_t processed = reconciler.run_queued();
      if (deliver() == 0 && processed == 0) return;
    }
    FAIL("the reconciler did not settle");
  }

  // A pod whose container runs, both reconciled through the queue.
  std::pair<SandboxRecord, ContainerRecord> running_pod(const std::string& name = "web") {
    const auto s = add_sandbox(name);
    auto c = add_container(s);
    c.desired_state = ContainerState::Running;
    put(c);
    reconciler.enqueue_sandbox(s.id);
    settle();
    REQUIRE(sandbox(s.id).observed_state == SandboxObserved::Ready);
    REQUIRE(container(c.id).observed_state == ContainerObserved::Running);
    REQUIRE(lxd.instance(c.lxd_name)->running());
    return {sandbox(s.id), container(c.id)};
  }

  std::mutex mutex;
  std::vector<LifecycleEvent> sent;
  lxe::reconcile::Reconciler reconciler;  // never started: the test drives it
};

LifecycleEvent event(const std::string& action, const std::string& collection, const std::string& name) {
  return {action, "/1.0/" + collection + "/" + name, name, "2026-01-01T00:00:00Z"};
}

}  // namespace

TEST_CASE("reconciler: queued objects reach their desired state in LXD", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  CHECK(bed.sandbox(s.id).infra_pid == bed.lxd.get_instance_state(s.lxd_name).pid);
  CHECK(bed.container(c.id).observed_generation == c.generation);
  CHECK(bed.reconciler.queued() == 0);
}

TEST_CASE("reconciler: an instance stopped outside lxe: its event queues the container, whose exit is recorded",
          "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.write_exit(c.id, 0);  // the command ended; lxe-init wrote its exit, then LXD stopped the instance
  bed.lxd.stop_outside(c.lxd_name);
  CHECK(bed.reconciler.queued() == 0);
  CHECK(bed.deliver() == 1);
  CHECK(bed.reconciler.queued() == 1);
  bed.settle();
  const auto now = bed.container(c.id);
  CHECK(now.observed_state == ContainerObserved::Exited);
  CHECK(now.exit_code == 0);
  CHECK(now.reason == "Completed");
  // The pod is untouched.
  CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::Ready);
}

TEST_CASE("reconciler: an instance deleted outside lxe: the container exits with the reason", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.lxd.delete_outside(c.lxd_name);
  bed.settle();
  const auto now = bed.container(c.id);
  CHECK(now.observed_state == ContainerObserved::Exited);
  CHECK(now.exit_code == 137);
  CHECK(now.message == lxe::reconcile::kDeletedOutside);
  CHECK_FALSE(bed.lxd.instance(c.lxd_name));  // not recreated: CRI containers run once
}

TEST_CASE("reconciler: the pod's holder stopped or restarted outside lxe: the pod is NotReady", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  SECTION("stopped") {
    bed.lxd.stop_outside(s.lxd_name);
    bed.settle();
    CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::NotReady);
    CHECK_FALSE(bed.lxd.instance(s.lxd_name)->running());  // not started again: new namespaces
  }
  SECTION("restarted (lxc restart): only its PID tells") {
    bed.lxd.start_outside(s.lxd_name);
    bed.settle();
    CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::NotReady);
    CHECK(bed.lxd.count(Op::GetInstanceState, s.lxd_name) >= 1);
    bool told = false;
    for (const auto& e : bed.events_of(s.id))
      told |= e.action == "record-notready" && e.detail.find("restarted outside lxe") != std::string::npos;
    CHECK(told);
  }
}

TEST_CASE("reconciler: a pod profile or a container edited outside lxe: its event brings lxe's devices back",
          "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.lxd.edit_profile(s.lxd_name, [](lxe::lxd::Profile& p) { p.devices.erase("lxe-resolv"); });
  bed.lxd.edit_instance(c.lxd_name, [](lxe::lxd::Instance& i) { i.devices.erase("lxe-state"); });
  bed.settle();
  CHECK(bed.lxd.profile(s.lxd_name)->devices.count("lxe-resolv") == 1);
  CHECK(bed.lxd.instance(c.lxd_name)->devices.count("lxe-state") == 1);
  CHECK(bed.lxd.instance(c.lxd_name)->running());
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Running);
}

TEST_CASE("reconciler: events about objects that are not lxe's queue nothing and ask LXD nothing", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.lxd.clear_calls();
  bed.reconciler.on_lxd_event(event("instance-started", "instances", "someone-elses"));
  bed.reconciler.on_lxd_event(event("instance-deleted", "instances", "someone-elses"));
  bed.reconciler.on_lxd_event(event("profile-updated", "profiles", "default"));
  bed.reconciler.on_lxd_event(event("image-created", "images", "0123456789ab"));
  bed.reconciler.on_lxd_event({"operation-created", "/1.0/operations/1", "1", ""});
  // A container's name used as a profile's: profiles are pods' only.
  bed.reconciler.on_lxd_event(event("profile-updated", "profiles", c.lxd_name));
  CHECK(bed.reconciler.queued() == 0);
  CHECK(bed.reconciler.run_queued() == 0);
  CHECK(bed.lxd.calls().empty());
}

TEST_CASE("reconciler: events for lxe's objects queue each object once", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  for (int i = 0; i < 3; ++i) bed.reconciler.on_lxd_event(event("instance-updated", "instances", c.lxd_name));
  bed.reconciler.on_lxd_event(event("profile-updated", "profiles", s.lxd_name));
  bed.reconciler.on_lxd_event(event("instance-updated", "instances", s.lxd_name));
  CHECK(bed.reconciler.queued() == 2);
  bed.lxd.clear_calls();
  bed.settle();
  // Nothing drifted: looking was all.
  for (const auto& call : bed.lxd.calls())
    CHECK((call.op == Op::GetInstance || call.op == Op::GetProfile));
}

TEST_CASE("reconciler: events missed while the stream was down are found when it reconnects", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.reconciler.adopt();  // as start() does: after it, a reconnect resyncs
  bed.settle();
  bed.reconciler.on_lxd_events_connection(false);
  bed.write_exit(c.id, 2);
  bed.lxd.stop_outside(c.lxd_name);
  bed.lxd.start_outside(s.lxd_name);  // the holder restarted too
  bed.drop_events();                  // the stream was down: nobody heard
  CHECK(bed.reconciler.queued() == 0);
  bed.lxd.clear_calls();

  bed.reconciler.on_lxd_events_connection(true);
  // The event thread asks LXD nothing: the resync thread catches up.
  CHECK(bed.lxd.count(Op::ListInstances) == 0);
  CHECK(bed.reconciler.catch_up());
  CHECK_FALSE(bed.reconciler.catch_up());  // once per reconnect
  // One list for the resync, one with state for the holders' PIDs.
  CHECK(bed.lxd.count(Op::ListInstances) == 2);
  CHECK(bed.reconciler.queued() == 2);
  bed.settle();
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Exited);
  CHECK(bed.container(c.id).exit_code == 2);
  CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::NotReady);
}

TEST_CASE("reconciler: before adoption, a connecting stream does not resync (adoption looks at everything)",
          "[reconciler]") {
  Bed bed;
  bed.add_sandbox();
  bed.reconciler.on_lxd_events_connection(true);
  CHECK_FALSE(bed.reconciler.catch_up());
  CHECK(bed.lxd.calls().empty());
  CHECK(bed.reconciler.queued() == 0);
}

TEST_CASE("reconciler: the resync finds limits edited behind lxe's back and puts them back", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  auto record = bed.container(c.id);
  record.resources_json = R"({"memory_limit_in_bytes": "268435456"})";
  record.generation += 1;
  bed.put(record);
  bed.reconciler.enqueue_container(c.id);
  bed.settle();
  REQUIRE(bed.lxd.instance(c.lxd_name)->config.at("limits.memory") == "268435456");
  bed.lxd.edit_instance(c.lxd_name, [](lxe::lxd::Instance& i) { i.config["limits.memory"] = "1GiB"; });
  bed.drop_events();
  bed.reconciler.resync();
  CHECK(bed.reconciler.queued() == 1);
  bed.settle();
  CHECK(bed.lxd.instance(c.lxd_name)->config.at("limits.memory") == "268435456");
}

TEST_CASE("reconciler: a resync while LXD is unreachable queues nothing and records nothing", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  bed.lxd.set_reachable(false);
  bed.reconciler.resync();
  bed.reconciler.check_holder_pids();
  CHECK(bed.reconciler.queued() == 0);
  CHECK(bed.container(c.id).last_error.empty());
  CHECK(bed.sandbox(s.id).last_error.empty());
  bed.lxd.set_reachable(true);
  bed.lxd.stop_outside(c.lxd_name);
  bed.drop_events();
  bed.reconciler.resync();
  CHECK(bed.reconciler.queued() == 1);
}

TEST_CASE("reconciler: an object LXD cannot be asked about keeps the error and is retried after a backoff",
          "[reconciler]") {
  SECTION("the retry waits out the backoff") {
    Bed bed(60s);
    const auto s = bed.add_sandbox();
    bed.lxd.fail_next(Op::GetProfile, {.kind = ErrorKind::Transport});
    bed.reconciler.enqueue_sandbox(s.id);
    CHECK(bed.reconciler.run_queued() == 1);
    CHECK_THAT(bed.sandbox(s.id).last_error, Catch::StartsWith("observe: ") && Catch::Contains("Connection refused"));
    CHECK(bed.sandbox(s.id).last_error_kind == lxe::store::FailureKind::Unavailable);
    CHECK(bed.sandbox(s.id).observed_generation == 0);
    CHECK(bed.reconciler.queued() == 1);      // delayed
    CHECK(bed.reconciler.run_queued() == 0);  // not yet
  }
  SECTION("once LXD answers, the retry succeeds and clears the error") {
    Bed bed(0ms);
    const auto s = bed.add_sandbox();
    bed.lxd.fail_next(Op::GetProfile, {.kind = ErrorKind::Transport});
    bed.reconciler.enqueue_sandbox(s.id);
    bed.settle();
    CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::Ready);
    CHECK(bed.sandbox(s.id).last_error.empty());
  }
  SECTION("a failed action, retried until LXD stops being busy") {
    Bed bed(0ms);
    const auto s = bed.add_sandbox();
    bed.lxd.busy_next(Op::StartInstance, 3);
    bed.reconciler.enqueue_sandbox(s.id);
    bed.settle();
    CHECK(bed.lxd.count(Op::StartInstance) == 4);
    CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::Ready);
    CHECK(bed.sandbox(s.id).last_error.empty());
  }
}

TEST_CASE("reconciler: adoption after a restart looks at everything with two list calls", "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  // A new lxe over the same store and LXD.
  lxe::reconcile::Reconciler restarted(bed.registry, bed.lxd, bed.files, bed.volumes, {});
  bed.lxd.clear_calls();
  restarted.adopt();
  CHECK(restarted.queued() == 2);
  CHECK(restarted.run_queued() == 2);
  CHECK(bed.lxd.count(Op::ListInstances) == 2);  // the prime, and the holders' PIDs
  CHECK(bed.lxd.count(Op::ListProfiles) == 1);
  CHECK(bed.lxd.count(Op::GetInstance) == 0);
  CHECK(bed.lxd.count(Op::GetProfile) == 0);
  // Nothing to change: the running container and its pod are left alone.
  CHECK(bed.lxd.count(Op::StartInstance) == 0);
  CHECK(bed.lxd.count(Op::StopInstance) == 0);
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Running);
}

TEST_CASE("reconciler: an LXD event after adoption's lists makes the next look at that object a GET",
          "[reconciler]") {
  Bed bed;
  const auto [s, c] = bed.running_pod();
  lxe::reconcile::Reconciler restarted(bed.registry, bed.lxd, bed.files, bed.volumes, {});
  restarted.adopt();  // the lists show the container running
  bed.drop_events();
  bed.lxd.stop_outside(c.lxd_name);  // and then someone stops it
  std::vector<LifecycleEvent> events;
  {
    std::lock_guard lock(bed.mutex);
    events.swap(bed.sent);
  }
  REQUIRE_FALSE(events.empty());
  for (const auto& e : events) restarted.on_lxd_event(e);
  bed.lxd.clear_calls();
  restarted.run_queued();
  // The pod's look still comes from the lists; the container's, which changed, from LXD.
  CHECK(bed.lxd.count(Op::GetProfile, s.lxd_name) == 0);
  CHECK(bed.lxd.count(Op::GetInstance, c.lxd_name) >= 1);
  CHECK(bed.container(c.id).observed_state == ContainerObserved::Exited);
}

// Adoption's lists are used for each object's next observation. A CRI call served while adoption
// lists (kubelet retries at once after lxe restarts) changes objects the lists may show half-way:
// here the pod's holder listed stopped while lxe started it. Its entry must not be used, or the
// holder is taken for stopped "outside lxe" and the pod marked NOT READY.
TEST_CASE("reconciler: adoption's list taken while lxe starts a pod's holder does not make the pod NotReady",
          "[reconciler]") {
  Bed bed;
  const auto s = bed.add_sandbox();
  bool adopted = false;
  bed.lxd.set_hook([&](const MemoryLxd::Call& call) {
    // Adoption lists LXD just before lxe starts the holder it has created.
    if (call.op == Op::StartInstance && call.target == s.lxd_name && !adopted) {
      adopted = true;
      bed.reconciler.adopt();
    }
  });
  bed.reconciler.enqueue_sandbox(s.id);
  bed.settle();
  REQUIRE(adopted);
  CHECK(bed.lxd.instance(s.lxd_name)->running());
  CHECK(bed.sandbox(s.id).observed_state == SandboxObserved::Ready);
}
