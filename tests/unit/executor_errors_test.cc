// The executor records an action's failure as the record's last_error only for the generation
// that planned it: when the desired state moves on while the action runs (a StopContainer while a
// start is under way), the failure goes to the event log and the new generation is planned at once;
// a caller waiting for the new generation must not get the old plan's error. The desired state
// changes in the middle of an LXD call: a fake LXD that changes it before it answers.
#include <catch2/catch.hpp>

#include "reconcile/executor.h"
#include "support/in_process_runtime.h"

using lxe::reconcile::Action;
using lxe::reconcile::ActionKind;
using lxe::reconcile::Executor;
using lxe::reconcile::Outcome;
using lxe::test::FakeLxd;
using lxe::test::InProcessRuntime;

namespace {

const std::string kStatePath = std::string("/1.0/instances/") + InProcessRuntime::kContainerInstance + "/state";

std::vector<lxe::store::ReconcileEvent> errors_of(InProcessRuntime& rt) {
  lxe::store::EventQuery query;
  query.object_id = rt.container_id;
  std::vector<lxe::store::ReconcileEvent> out;
  for (auto& e : rt.store.list_events(query))
    if (e.outcome == lxe::store::EventOutcome::Error) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE("executor: a failure of a plan whose generation has moved on is not the record's last_error",
          "[executor]") {
  InProcessRuntime rt;
  Executor executor(rt.registry, rt.client, rt.files, rt.volumes, {});
  const auto planned = *rt.registry.container(rt.container_id);
  const auto sandbox = *rt.registry.sandbox(rt.sandbox_id);
  REQUIRE(planned.generation == 1);

  // LXD refuses the start; before it answers, a StopContainer records generation 2.
  rt.lxd.on("PUT", kStatePath, [&](const auto&, auto& res) {
    lxe::store::Registry::Change change(rt.registry);
    auto c = change.container(rt.container_id);
    c->desired_state = lxe::store::ContainerState::Exited;
    c->generation += 1;
    c->last_error.clear();
    change.put(*c);
    change.commit();
    FakeLxd::reply_error(res, 500, "start refused by the test");
  });

  const Outcome outcome = executor.run(planned, sandbox, {Action{ActionKind::StartInstance, "test"}});
  CHECK(outcome == Outcome::Replan);
  const auto now = *rt.registry.container(rt.container_id);
  CHECK(now.generation == 2);
  CHECK(now.last_error.empty());
  // The failure is not lost: it is in the event log, under the generation that produced it.
  const auto errors = errors_of(rt);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].generation == 1);
  CHECK_THAT(errors[0].detail, Catch::Contains("start refused by the test"));
}

TEST_CASE("executor: a failure of the current generation is the record's last_error", "[executor]") {
  InProcessRuntime rt;
  Executor executor(rt.registry, rt.client, rt.files, rt.volumes, {});
  const auto planned = *rt.registry.container(rt.container_id);
  const auto sandbox = *rt.registry.sandbox(rt.sandbox_id);
  rt.lxd.on("PUT", kStatePath,
            [](const auto&, auto& res) { FakeLxd::reply_error(res, 500, "start refused by the test"); });

  CHECK(executor.run(planned, sandbox, {Action{ActionKind::StartInstance, "test"}}) == Outcome::Failed);
  const auto now = *rt.registry.container(rt.container_id);
  CHECK(now.generation == 1);
  CHECK_THAT(now.last_error, Catch::Contains("start-instance") && Catch::Contains("start refused by the test"));
  CHECK(errors_of(rt).size() == 1);
}

// The failure's kind comes from the LXD client's typed error, never from its message: the facade
// chooses a status code by it and waiting callers decide by it whether to wait on.
TEST_CASE("executor: a failure is recorded with its kind", "[executor]") {
  InProcessRuntime rt;
  Executor executor(rt.registry, rt.client, rt.files, rt.volumes, {});
  const auto planned = *rt.registry.container(rt.container_id);
  const auto sandbox = *rt.registry.sandbox(rt.sandbox_id);
  auto kind_after = [&](const std::function<void(httplib::Response&)>& answer) {
    rt.lxd.on("PUT", kStatePath, [&](const auto&, auto& res) { answer(res); });
    CHECK(executor.run(planned, sandbox, {Action{ActionKind::StartInstance, "test"}}) == Outcome::Failed);
    return rt.registry.container(rt.container_id)->last_error_kind;
  };
  using lxe::store::FailureKind;
  SECTION("LXD refuses") {
    CHECK(kind_after([](auto& res) { FakeLxd::reply_error(res, 500, "no"); }) == FailureKind::Refused);
  }
  SECTION("LXD is busy with another operation on the instance") {
    CHECK(kind_after([](auto& res) {
            FakeLxd::reply_error(res, 400, "Instance is busy running a \"stop\" operation");
          }) == FailureKind::Busy);
  }
  SECTION("LXD does not answer in time") {
    CHECK(kind_after([&](auto&) { rt.lxd.sleep_for(std::chrono::seconds(5)); }) == FailureKind::Unavailable);
  }
  SECTION("a later success of the same generation clears the failure and its kind") {
    REQUIRE(kind_after([](auto& res) { FakeLxd::reply_error(res, 500, "no"); }) == FailureKind::Refused);
    CHECK(executor.run(planned, sandbox, {Action{ActionKind::MarkReconciled, "test"}}) == Outcome::Done);
    const auto now = *rt.registry.container(rt.container_id);
    CHECK(now.last_error.empty());
    CHECK(now.last_error_kind == FailureKind::None);
  }
}
