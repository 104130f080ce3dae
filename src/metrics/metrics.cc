#include "metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <mutex>
#include <vector>

#include "common/version.h"

namespace lxe::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Histogram;

// From half a millisecond (a CRI call served from memory) to two minutes (an LXD operation that
// waits for a stop): latencies here span five orders of magnitude.
const Histogram::BucketBoundaries& latency_buckets() {
  static const Histogram::BucketBoundaries buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,    1,     2.5,    5,     10,   30,    60,   120};
  return buckets;
}

// The series of one family by label values, looked up without building a label map each time
// (Family::Add allocates a new metric before it finds an existing one).
template <typename T, size_t N>
class Series {
 public:
  Series(Family<T>& family, std::array<std::string, N> keys) : family_(family), keys_(std::move(keys)) {}

  template <typename... Args>
  T& get(const std::array<std::string, N>& values, Args&&... args) {
    std::lock_guard lock(mutex_);
    if (const auto it = by_values_.find(values); it != by_values_.end()) return *it->second;
    prometheus::Labels labels;
    for (size_t i = 0; i < N; ++i) labels[keys_[i]] = values[i];
    T& made = family_.Add(labels, std::forward<Args>(args)...);
    by_values_.emplace(values, &made);
    return made;
  }

 private:
  Family<T>& family_;
  const std::array<std::string, N> keys_;
  std::mutex mutex_;
  std::map<std::array<std::string, N>, T*> by_values_;  // owned by family_
};

prometheus::ClientMetric gauge_value(double value, std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

// The gauges, computed from a snapshot at each scrape.
class StateGauges final : public prometheus::Collectable {
 public:
  explicit StateGauges(std::function<StateSnapshot()> snapshot) : snapshot_(std::move(snapshot)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const StateSnapshot s = snapshot_ ? snapshot_() : StateSnapshot{};
    std::vector<prometheus::MetricFamily> out;
    auto by_state = [&](const char* name, const char* help, const std::map<std::string, size_t>& counts) {
      auto f = gauge_family(name, help);
      for (const auto& [state, n] : counts) f.metric.push_back(gauge_value(static_cast<double>(n), {{"state", state}}));
      out.push_back(std::move(f));
    };
    by_state("lxe_sandboxes", "Pod sandboxes in lxe's store, by observed state.", s.sandboxes_by_state);
    by_state("lxe_containers", "Containers in lxe's store, by observed state.", s.containers_by_state);
    auto single = [&](const char* name, const char* help, double value) {
      auto f = gauge_family(name, help);
      f.metric.push_back(gauge_value(value));
      out.push_back(std::move(f));
    };
    single("lxe_reconcile_queue_depth", "Objects queued for the reconciler, ready or waiting out a retry backoff.",
           static_cast<double>(s.queued));
    single("lxe_reconcile_processing", "Objects a reconcile worker is processing now.",
           static_cast<double>(s.processing));
    single("lxe_reconcile_failing_objects", "Objects whose last reconcile attempt failed (retried with backoff).",
           static_cast<double>(s.failing));
    single("lxe_reconciler_ready", "1 when the reconciler has adopted what runs and its queue moves (the "
                                   "ReconcilerReady condition of CRI Status).",
           s.reconciler_ready ? 1 : 0);
    single("lxe_adopted", "1 once adoption after lxe's start has finished.", s.adopted ? 1 : 0);
    single("lxe_adoption_duration_seconds", "How long adoption after lxe's start took (0 until it finished).",
           s.adoption_seconds);
    return out;
  }

 private:
  std::function<StateSnapshot()> snapshot_;
};

}  // namespace

struct LxeMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : cri_calls(prometheus::BuildCounter()
                      .Name("lxe_cri_requests_total")
                      .Help("CRI calls served, by RPC and gRPC status code.")
                      .Register(r),
                  {"method", "code"}),
        cri_latency(prometheus::BuildHistogram()
                        .Name("lxe_cri_request_duration_seconds")
                        .Help("How long CRI calls took to serve, by RPC.")
                        .Register(r),
                    {"method"}),
        actions(prometheus::BuildCounter()
                    .Name("lxe_reconcile_actions_total")
                    .Help("Actions the reconciler carried out, by kind and result (ok or error).")
                    .Register(r),
                {"action", "result"}),
        action_latency(prometheus::BuildHistogram()
                           .Name("lxe_reconcile_action_duration_seconds")
                           .Help("How long the reconciler's actions took, by kind.")
                           .Register(r),
                       {"action"}),
        lxd_requests(prometheus::BuildCounter()
                         .Name("lxe_lxd_requests_total")
                         .Help("Requests to LXD's REST API, by method, endpoint and HTTP status (none: no "
                               "answer came).")
                         .Register(r),
                     {"method", "endpoint", "code"}),
        lxd_latency(prometheus::BuildHistogram()
                        .Name("lxe_lxd_request_duration_seconds")
                        .Help("How long requests to LXD took, by method and endpoint.")
                        .Register(r),
                    {"method", "endpoint"}),
        event_reconnects(prometheus::BuildCounter()
                             .Name("lxe_lxd_event_stream_reconnects_total")
                             .Help("Times LXD's event stream connected again after the first connection.")
                             .Register(r)
                             .Add({})),
        event_connected(prometheus::BuildGauge()
                            .Name("lxe_lxd_event_stream_connected")
                            .Help("1 while LXD's event stream is connected.")
                            .Register(r)
                            .Add({})) {
    prometheus::BuildGauge()
        .Name("lxe_build_info")
        .Help("Always 1; the version of lxe as a label.")
        .Register(r)
        .Add({{"version", kVersion}})
        .Set(1);
  }

  Series<Counter, 2> cri_calls;
  Series<Histogram, 1> cri_latency;
  Series<Counter, 2> actions;
  Series<Histogram, 1> action_latency;
  Series<Counter, 3> lxd_requests;
  Series<Histogram, 2> lxd_latency;
  Counter& event_reconnects;
  prometheus::Gauge& event_connected;
  std::mutex connections_mutex;
  int connections = 0;
};

LxeMetrics::LxeMetrics(std::function<StateSnapshot()> snapshot)
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)),
      gauges_(std::make_shared<StateGauges>(std::move(snapshot))) {}

LxeMetrics::~LxeMetrics() = default;

void LxeMetrics::on_cri_call(std::string_view method, int code, std::chrono::duration<double> took) {
  const std::string rpc(rpc_name(method));
  families_->cri_calls.get({rpc, std::string(grpc_code_name(code))}).Increment();
  families_->cri_latency.get({rpc}, latency_buckets()).Observe(took.count());
}

void LxeMetrics::on_lxd_request(std::string_view method, std::string_view endpoint, int http_status,
                                std::chrono::duration<double> took) {
  const std::string m(method), e(endpoint);
  families_->lxd_requests.get({m, e, http_status > 0 ? std::to_string(http_status) : "none"}).Increment();
  families_->lxd_latency.get({m, e}, latency_buckets()).Observe(took.count());
}

void LxeMetrics::on_action(std::string_view kind, bool ok, std::chrono::duration<double> took) {
  const std::string k(kind);
  families_->actions.get({k, ok ? "ok" : "error"}).Increment();
  families_->action_latency.get({k}, latency_buckets()).Observe(took.count());
}

void LxeMetrics::on_event_stream_connection(bool connected) {
  families_->event_connected.Set(connected ? 1 : 0);
  if (!connected) return;
  std::lock_guard lock(families_->connections_mutex);
  if (++families_->connections > 1) families_->event_reconnects.Increment();
}

std::string LxeMetrics::text() const {
  auto families = registry_->Collect();
  for (auto& f : gauges_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

std::shared_ptr<prometheus::Collectable> LxeMetrics::counters() const { return registry_; }
std::shared_ptr<prometheus::Collectable> LxeMetrics::gauges() const { return gauges_; }

std::string_view grpc_code_name(int code) {
  static constexpr std::array<std::string_view, 17> kNames{
      "OK",        "CANCELLED",         "UNKNOWN",      "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(kNames.size())) return "UNKNOWN";
  return kNames[static_cast<size_t>(code)];
}

std::string_view rpc_name(std::string_view full_method) {
  const auto slash = full_method.rfind('/');
  return slash == std::string_view::npos ? full_method : full_method.substr(slash + 1);
}

}  // namespace lxe::metrics
