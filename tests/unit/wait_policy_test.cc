// The one wait policy of every mutating CRI call (RuntimeService::record/wait/status_of): a
// failure recorded on what the call waits for ends the wait with the status its *kind* maps to;
// LXD being busy for a moment (FailureKind::Busy) does not end it, the reconciler retries while
// the caller waits on. The reconciler is not running here: the test plays its part by writing
// records, which is what the reconciler's executor does.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "support/in_process_runtime.h"

namespace v1 = runtime::v1;
using lxe::store::ContainerState;
using lxe::store::FailureKind;
using lxe::test::FakeLxd;
using lxe::test::InProcessRuntime;
using namespace std::chrono_literals;

namespace {

// LXD answers the health check: a failure's status comes from its kind, not from LXD being down.
void lxd_answers(InProcessRuntime& rt) {
  rt.lxd.on("GET", "/1.0", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, nlohmann::json{{"api_version", "1.0"}, {"environment", nlohmann::json::object()}});
  });
}

grpc::Status stop(InProcessRuntime& rt) {
  v1::StopContainerRequest request;
  request.set_container_id(rt.container_id);
  request.set_timeout(0);
  v1::StopContainerResponse response;
  return rt.service.StopContainer(nullptr, &request, &response);
}

// What the executor writes when an action of the record's current generation fails.
void fail(InProcessRuntime& rt, FailureKind kind, const std::string& message) {
  lxe::store::Registry::Change change(rt.registry);
  auto c = change.container(rt.container_id);
  c->set_failure(kind, message);
  change.put(*c);
  change.commit();
}

// What the executor writes when the plan for the current generation is done.
void reconcile(InProcessRuntime& rt) {
  lxe::store::Registry::Change change(rt.registry);
  auto c = change.container(rt.container_id);
  c->observed_generation = c->generation;
  c->clear_failure();
  change.put(*c);
  change.commit();
}

// Runs StopContainer while `play` does the reconciler's part once the stop is recorded.
grpc::Status stop_while(InProcessRuntime& rt, const std::function<void()>& play) {
  auto call = std::async(std::launch::async, [&] { return stop(rt); });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (rt.registry.container(rt.container_id)->desired_state != ContainerState::Exited &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  play();
  return call.get();
}

}  // namespace

TEST_CASE("wait policy: a failure ends the wait with the status of its kind", "[wait]") {
  const struct {
    FailureKind kind;
    grpc::StatusCode code;
  } cases[] = {
      {FailureKind::Refused, grpc::StatusCode::UNKNOWN},
      {FailureKind::Unavailable, grpc::StatusCode::UNAVAILABLE},
      {FailureKind::Host, grpc::StatusCode::INTERNAL},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("kind " << lxe::store::to_string(c.kind)) {
      InProcessRuntime rt;
      lxd_answers(rt);
      const auto status = stop_while(rt, [&] { fail(rt, c.kind, "stop-instance: the test's failure"); });
      CHECK(status.error_code() == c.code);
      CHECK_THAT(status.error_message(),
                 Catch::StartsWith("StopContainer: ") && Catch::Contains("the test's failure"));
      // The record keeps what the executor wrote: the failure and the stop still wanted.
      const auto now = *rt.registry.container(rt.container_id);
      CHECK(now.last_error_kind == c.kind);
      CHECK(now.desired_state == ContainerState::Exited);
    }
  }
}

TEST_CASE("wait policy: LXD busy for a moment does not end the wait; the retry's success does", "[wait]") {
  InProcessRuntime rt;
  lxd_answers(rt);
  const auto status = stop_while(rt, [&] {
    fail(rt, FailureKind::Busy, "stop-instance: Instance is busy running a \"start\" operation");
    std::this_thread::sleep_for(300ms);
    reconcile(rt);
  });
  CHECK(status.ok());
}

TEST_CASE("wait policy: LXD busy until the deadline is DEADLINE_EXCEEDED naming why", "[wait]") {
  InProcessRuntime rt;
  lxd_answers(rt);
  const auto status =
      stop_while(rt, [&] { fail(rt, FailureKind::Busy, "stop-instance: Instance is busy running a \"start\" operation"); });
  CHECK(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK_THAT(status.error_message(), Catch::Contains("did not stop it in time") &&
                                         Catch::Contains("LXD was busy") && Catch::Contains("busy running"));
}

TEST_CASE("wait policy: whatever the kind, LXD found down by the health check is UNAVAILABLE", "[wait]") {
  InProcessRuntime rt;  // no answer for GET /1.0: the health check fails
  const auto status = stop_while(rt, [&] { fail(rt, FailureKind::Refused, "stop-instance: refused"); });
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(status.error_message(), Catch::Contains("LXD is unavailable") && Catch::Contains("refused"));
}

TEST_CASE("wait policy: a retried StopContainer joins the stop in progress and gets its failure", "[wait]") {
  InProcessRuntime rt;
  lxd_answers(rt);
  {  // The first StopContainer recorded the stop; the reconciler has not carried it out.
    lxe::store::Registry::Change change(rt.registry);
    auto c = change.container(rt.container_id);
    c->desired_state = ContainerState::Exited;
    c->new_generation();
    change.put(*c);
    change.commit();
  }
  const int64_t generation = rt.registry.container(rt.container_id)->generation;
  auto call = std::async(std::launch::async, [&] { return stop(rt); });
  std::this_thread::sleep_for(200ms);
  fail(rt, FailureKind::Refused, "stop-instance: refused by the test");
  const auto status = call.get();
  CHECK(status.error_code() == grpc::StatusCode::UNKNOWN);
  CHECK(rt.registry.container(rt.container_id)->generation == generation);  // joined, not recorded again
}
