// lxe's own metrics, in Prometheus' text format on /metrics (--metrics-port): CRI calls, the
// reconciler's actions, LXD requests and the event stream as counters and latency histograms, and
// the objects lxe keeps and its loop's state as gauges read when scraped.
//
// The layers below know nothing of Prometheus: the LXD client and the reconciler tell an observer
// interface of theirs (lxd/request_observer.h, reconcile/observer.h), which LxeMetrics implements;
// the CRI interceptor calls on_cri_call through a callback the daemon wires.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lxd/request_observer.h"
#include "reconcile/observer.h"

namespace prometheus {
class Registry;
class Collectable;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace lxe::metrics {

// What the gauges show, read at each scrape (so nothing has to keep them current).
struct StateSnapshot {
  std::map<std::string, size_t> sandboxes_by_state;   // "ready", "notready", ...
  std::map<std::string, size_t> containers_by_state;  // "created", "running", "exited", ...
  size_t queued = 0;
  size_t processing = 0;
  size_t failing = 0;
  bool adopted = false;
  double adoption_seconds = 0;  // how long adoption took, once adopted
  bool reconciler_ready = false;
};

class LxeMetrics final : public lxd::RequestObserver, public reconcile::ReconcileObserver {
 public:
  // `snapshot` is called at each scrape, on the scraping thread.
  explicit LxeMetrics(std::function<StateSnapshot()> snapshot);
  ~LxeMetrics() override;
  LxeMetrics(const LxeMetrics&) = delete;
  LxeMetrics& operator=(const LxeMetrics&) = delete;

  // `method` is gRPC's full name ("/runtime.v1.RuntimeService/Version"); `code` gRPC's numeric
  // status code.
  void on_cri_call(std::string_view method, int code, std::chrono::duration<double> took);
  void on_lxd_request(std::string_view method, std::string_view endpoint, int http_status,
                      std::chrono::duration<double> took) override;
  void on_action(std::string_view kind, bool ok, std::chrono::duration<double> took) override;
  // LXD's event stream connected (true) or dropped; every connection after the first counts as a
  // reconnect.
  void on_event_stream_connection(bool connected);

  // Everything, in Prometheus' text exposition format (what /metrics serves).
  std::string text() const;
  // What an exposer registers: the counters and histograms, and the scrape-time gauges.
  std::shared_ptr<prometheus::Collectable> counters() const;
  std::shared_ptr<prometheus::Collectable> gauges() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::shared_ptr<prometheus::Collectable> gauges_;
};

// The short name of a gRPC status code ("OK", "NOT_FOUND", ...), as gRPC's own metrics label it.
std::string_view grpc_code_name(int code);
// "/runtime.v1.RuntimeService/ListContainers" -> "ListContainers".
std::string_view rpc_name(std::string_view full_method);

}  // namespace lxe::metrics
