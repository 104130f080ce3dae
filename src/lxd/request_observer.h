// Who hears of every request the LXD client sends: lxe's /metrics counts them by endpoint and
// status. An interface here, so that the client knows nothing of Prometheus.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace lxe::lxd {

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // One request has ended: `endpoint` is endpoint_of(path); `http_status` is LXD's HTTP status,
  // or 0 when no answer came (timeout, connection refused). Called on the requesting thread: it
  // must be quick and must not throw.
  virtual void on_lxd_request(std::string_view method, std::string_view endpoint, int http_status,
                              std::chrono::duration<double> took) = 0;
};

// A request path with its names and query taken out, for labels of bounded cardinality:
// "/1.0/instances/lxe-0a1b/state?recursion=1" -> "/1.0/instances/{name}/state",
// "/1.0/operations/<uuid>/wait?timeout=5" -> "/1.0/operations/{id}/wait".
std::string endpoint_of(std::string_view path);

}  // namespace lxe::lxd
