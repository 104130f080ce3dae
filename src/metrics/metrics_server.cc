#include "metrics/metrics_server.h"

#include <prometheus/exposer.h>

#include <stdexcept>

#include "metrics/metrics.h"

namespace lxe::metrics {

MetricsServer::MetricsServer(const LxeMetrics& metrics, const std::string& address, uint16_t port) {
  // civetweb's notation: an IPv6 address goes in brackets.
  const std::string host = address.find(':') != std::string::npos && address.front() != '[' ? "[" + address + "]" : address;
  const std::string listen = host + ":" + std::to_string(port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics on " + listen + ": " + e.what());
  }
  exposer_->RegisterCollectable(metrics.counters());
  exposer_->RegisterCollectable(metrics.gauges());
  const auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : static_cast<uint16_t>(ports.front());
}

MetricsServer::~MetricsServer() = default;

}  // namespace lxe::metrics
