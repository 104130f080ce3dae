// lxe's own /metrics: the LXD endpoint labels stay bounded, the counters move with what the layers
// report, the gauges show the snapshot of the scrape, and the reconciler's readiness verdict.
#include <catch2/catch.hpp>

#include <string>

#include "lxd/request_observer.h"
#include "metrics/metrics.h"
#include "reconcile/reconciler.h"

using lxe::lxd::endpoint_of;
using lxe::metrics::LxeMetrics;
using lxe::metrics::StateSnapshot;
using namespace std::chrono_literals;

TEST_CASE("metrics: LXD endpoints lose their object names and queries", "[metrics]") {
  CHECK(endpoint_of("/1.0") == "/1.0");
  CHECK(endpoint_of("/") == "/");
  CHECK(endpoint_of("/1.0/instances") == "/1.0/instances");
  CHECK(endpoint_of("/1.0/instances?recursion=1&filter=config.user.x%20eq%20true") == "/1.0/instances");
  CHECK(endpoint_of("/1.0/instances/lxe-0a1b2c/state") == "/1.0/instances/{name}/state");
  CHECK(endpoint_of("/1.0/instances/lxe-0a1b2c/exec") == "/1.0/instances/{name}/exec");
  CHECK(endpoint_of("/1.0/instances/c1/logs/exec_123.stdout") == "/1.0/instances/{name}/logs/{name}");
  CHECK(endpoint_of("/1.0/instances/c1/files?path=/etc/hosts") == "/1.0/instances/{name}/files");
  CHECK(endpoint_of("/1.0/operations/0b6f-11ee/wait?timeout=5") == "/1.0/operations/{id}/wait");
  CHECK(endpoint_of("/1.0/profiles/lxe-pod") == "/1.0/profiles/{name}");
  CHECK(endpoint_of("/1.0/images/aliases") == "/1.0/images/aliases");
  CHECK(endpoint_of("/1.0/images/aliases/lxe%2Fsha256:ab") == "/1.0/images/aliases/{name}");
  CHECK(endpoint_of("/1.0/images/3f2a9c") == "/1.0/images/{name}");
  CHECK(endpoint_of("/1.0/networks/lxebr0") == "/1.0/networks/{name}");
  CHECK(endpoint_of("/1.0/storage-pools/default/volumes/custom/v1") ==
        "/1.0/storage-pools/{name}/volumes/custom/{name}");
  CHECK(endpoint_of("/1.0/events") == "/1.0/events");
}

TEST_CASE("metrics: gRPC codes and RPC names as labels", "[metrics]") {
  CHECK(lxe::metrics::grpc_code_name(0) == "OK");
  CHECK(lxe::metrics::grpc_code_name(5) == "NOT_FOUND");
  CHECK(lxe::metrics::grpc_code_name(9) == "FAILED_PRECONDITION");
  CHECK(lxe::metrics::grpc_code_name(16) == "UNAUTHENTICATED");
  CHECK(lxe::metrics::grpc_code_name(99) == "UNKNOWN");
  CHECK(lxe::metrics::grpc_code_name(-1) == "UNKNOWN");
  CHECK(lxe::metrics::rpc_name("/runtime.v1.RuntimeService/ListContainers") == "ListContainers");
  CHECK(lxe::metrics::rpc_name("Version") == "Version");
}

TEST_CASE("metrics: counters and histograms move with each call, action and request", "[metrics]") {
  LxeMetrics metrics([] { return StateSnapshot{}; });
  const std::string before = metrics.text();
  CHECK_THAT(before, !Catch::Contains("lxe_cri_requests_total{"));

  metrics.on_cri_call("/runtime.v1.RuntimeService/Version", 0, 100us);
  metrics.on_cri_call("/runtime.v1.RuntimeService/Version", 0, 200us);
  metrics.on_cri_call("/runtime.v1.RuntimeService/ContainerStatus", 5, 50us);
  metrics.on_lxd_request("GET", "/1.0/instances/{name}", 200, 3ms);
  metrics.on_lxd_request("PUT", "/1.0/instances/{name}/state", 0, 30s);
  metrics.on_action("StartInstance", true, 280ms);
  metrics.on_action("StartInstance", false, 2s);

  const std::string text = metrics.text();
  CHECK_THAT(text, Catch::Contains("lxe_cri_requests_total{code=\"OK\",method=\"Version\"} 2"));
  CHECK_THAT(text, Catch::Contains("lxe_cri_requests_total{code=\"NOT_FOUND\",method=\"ContainerStatus\"} 1"));
  CHECK_THAT(text, Catch::Contains("lxe_cri_request_duration_seconds_count{method=\"Version\"} 2"));
  CHECK_THAT(text, Catch::Contains("lxe_cri_request_duration_seconds_bucket{method=\"Version\",le=\"0.0005\"} 2"));
  CHECK_THAT(text, Catch::Contains(
                       "lxe_lxd_requests_total{code=\"200\",endpoint=\"/1.0/instances/{name}\",method=\"GET\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "lxe_lxd_requests_total{code=\"none\",endpoint=\"/1.0/instances/{name}/state\",method=\"PUT\"} 1"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_actions_total{action=\"StartInstance\",result=\"ok\"} 1"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_actions_total{action=\"StartInstance\",result=\"error\"} 1"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_action_duration_seconds_count{action=\"StartInstance\"} 2"));
  CHECK_THAT(text, Catch::Contains("# TYPE lxe_cri_request_duration_seconds histogram"));
}

TEST_CASE("metrics: only connections after the first count as event stream reconnects", "[metrics]") {
  LxeMetrics metrics([] { return StateSnapshot{}; });
  metrics.on_event_stream_connection(true);
  CHECK_THAT(metrics.text(), Catch::Contains("lxe_lxd_event_stream_reconnects_total 0"));
  CHECK_THAT(metrics.text(), Catch::Contains("lxe_lxd_event_stream_connected 1"));
  metrics.on_event_stream_connection(false);
  CHECK_THAT(metrics.text(), Catch::Contains("lxe_lxd_event_stream_connected 0"));
  metrics.on_event_stream_connection(true);
  metrics.on_event_stream_connection(false);
  metrics.on_event_stream_connection(true);
  CHECK_THAT(metrics.text(), Catch::Contains("lxe_lxd_event_stream_reconnects_total 2"));
}

TEST_CASE("metrics: the gauges show the snapshot taken at each scrape", "[metrics]") {
  int scrapes = 0;
  LxeMetrics metrics([&scrapes] {
    ++scrapes;
    StateSnapshot s;
    s.sandboxes_by_state = {{"ready", 3}, {"notready", 1}};
    s.containers_by_state = {{"running", static_cast<size_t>(4 + scrapes)}};
    s.queued = 7;
    s.processing = 2;
    s.failing = 1;
    s.adopted = true;
    s.adoption_seconds = 1.5;
    s.reconciler_ready = true;
    return s;
  });
  const std::string text = metrics.text();
  CHECK(scrapes == 1);
  CHECK_THAT(text, Catch::Contains("lxe_sandboxes{state=\"ready\"} 3"));
  CHECK_THAT(text, Catch::Contains("lxe_sandboxes{state=\"notready\"} 1"));
  CHECK_THAT(text, Catch::Contains("lxe_containers{state=\"running\"} 5"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_queue_depth 7"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_processing 2"));
  CHECK_THAT(text, Catch::Contains("lxe_reconcile_failing_objects 1"));
  CHECK_THAT(text, Catch::Contains("lxe_adopted 1"));
  CHECK_THAT(text, Catch::Contains("lxe_adoption_duration_seconds 1.5"));
  CHECK_THAT(text, Catch::Contains("lxe_reconciler_ready 1"));
  CHECK_THAT(metrics.text(), Catch::Contains("lxe_containers{state=\"running\"} 6"));
}

TEST_CASE("reconciler readiness: adoption, a stuck queue, and ready", "[metrics][reconciler]") {
  lxe::reconcile::ReconcilerHealth h;
  h.adopted = true;
  CHECK(lxe::reconcile::readiness_of(h).ready);
  CHECK(lxe::reconcile::readiness_of(h).reason.empty());

  lxe::reconcile::ReconcilerHealth adopting;
  adopting.adopting = true;
  adopting.queued = 12;
  const auto a = lxe::reconcile::readiness_of(adopting);
  CHECK_FALSE(a.ready);
  CHECK(a.reason == "AdoptionInProgress");
  CHECK_THAT(a.message, Catch::Contains("12 object(s) queued"));

  lxe::reconcile::ReconcilerHealth stuck = h;
  stuck.stuck = true;
  stuck.processing = 4;
  stuck.queued = 9;
  stuck.oldest_ready_wait = 75s;
  const auto s = lxe::reconcile::readiness_of(stuck);
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "ReconcileQueueStuck");
  CHECK_THAT(s.message, Catch::Contains("waited 75 s") && Catch::Contains("4 busy worker(s)"));
}
