// The reconciler's handlers of LXD's event stream run on the stream's own thread: they must never
// wait on LXD, or events pile up unread (the holder list of a reconnect takes LXD ~16 s for 100
// holders). They only queue work; the LXD reads happen on the workers and the resync thread.
#include <catch2/catch.hpp>

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
