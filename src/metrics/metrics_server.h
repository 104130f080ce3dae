// Serves LxeMetrics on http://<address>:<port>/metrics (prometheus-cpp's exposer, one small HTTP
// server with its own threads). Runs from construction to destruction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}

namespace lxe::metrics {

class LxeMetrics;

class MetricsServer {
 public:
  // Throws std::runtime_error naming the address when it cannot listen there. Port 0 picks a free
  // port (tests); port() tells which.
  MetricsServer(const LxeMetrics& metrics, const std::string& address, uint16_t port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
};

}  // namespace lxe::metrics
