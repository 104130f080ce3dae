// The reconciler's handlers of LXD's event stream run on the stream's own thread: they must never
// wait on LXD, or events pile up unread (the holder list of a reconnect takes LXD ~16 s for 100
// holders). They only queue work; the LXD reads happen on the workers and the resync thread.
#include <catch2/catch.hpp>

#include <thread>

#include "support/in_process_runtime.h"

using lxe::test::InProcessRuntime;

TEST_CASE("reconciler events: a holder's start event reads nothing from LXD on the event thread", "[reconciler]") {
  InProcessRuntime rt;
  {  // A holder whose PID lxe knows: a start event means its PID must be compared.
    lxe::store::Registry::Change change(rt.registry);
    auto s = *change.sandbox(rt.sandbox_id);
    s.infra_pid = 4242;
    change.put(s);
    change.commit();
  }
  const auto sandbox = *rt.registry.sandbox(rt.sandbox_id);
  const auto container = *rt.registry.container(rt.container_id);
  const auto before = rt.lxd.requests().size();

  rt.reconciler.on_lxd_event({"instance-started", "/1.0/instances/" + sandbox.lxd_name, sandbox.lxd_name, ""});
  rt.reconciler.on_lxd_event({"instance-restarted", "/1.0/instances/" + sandbox.lxd_name, sandbox.lxd_name, ""});
  rt.reconciler.on_lxd_event({"instance-stopped", "/1.0/instances/" + container.lxd_name, container.lxd_name, ""});
  rt.reconciler.on_lxd_event({"profile-updated", "/1.0/profiles/" + sandbox.lxd_name, sandbox.lxd_name, ""});
  rt.reconciler.on_lxd_event({"instance-started", "/1.0/instances/someone-elses", "someone-elses", ""});
  rt.reconciler.on_lxd_events_connection(false);
  rt.reconciler.on_lxd_events_connection(true);

  CHECK(rt.lxd.requests().size() == before);
}

TEST_CASE("reconciler health: queue depth, adoption, and a queue that does not move is stuck", "[reconciler]") {
  InProcessRuntime rt;
  lxe::reconcile::ReconcilerOptions options;
  options.stuck_after = std::chrono::milliseconds(1);
  lxe::reconcile::Reconciler reconciler(rt.registry, rt.client, rt.files, rt.volumes, options);  // never started

  auto h = reconciler.health();
  CHECK_FALSE(h.adopting);
  CHECK_FALSE(h.adopted);
  CHECK(h.queued == 0);
  CHECK_FALSE(h.stuck);
  CHECK(lxe::reconcile::readiness_of(h).ready);

  // Nothing takes what is queued (no workers): once it has waited past stuck_after, it is stuck.
  reconciler.enqueue_container(rt.container_id);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  h = reconciler.health();
  CHECK(h.queued == 1);
  CHECK(h.stuck);
  CHECK(lxe::reconcile::readiness_of(h).reason == "ReconcileQueueStuck");

  // Adoption queues every stored object and then counts as done.
  reconciler.adopt();
  h = reconciler.health();
  CHECK(h.adopted);
  CHECK_FALSE(h.adopting);
  CHECK(h.queued == 2);  // the pod and its container
  CHECK(h.adoption_took.count() >= 0);
  CHECK(reconciler.run_queued() >= 2);
  h = reconciler.health();
  CHECK(h.processing == 0);
  CHECK_FALSE(h.stuck);
}
