// Who hears of every action the reconciler carries out: lxe's /metrics counts them by kind and
// result. An interface here, so that the reconciler knows nothing of Prometheus.
#pragma once

#include <chrono>
#include <string_view>

namespace lxe::reconcile {

class ReconcileObserver {
 public:
  virtual ~ReconcileObserver() = default;
  // One action of a plan ended. `kind` is to_string(ActionKind) ("CreateInstance", ...). Called
  // on a worker thread: it must be quick and must not throw.
  virtual void on_action(std::string_view kind, bool ok, std::chrono::duration<double> took) = 0;
};

}  // namespace lxe::reconcile
