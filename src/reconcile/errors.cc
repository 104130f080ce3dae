#include "reconcile/errors.h"

#include "lxd/error.h"

namespace lxe::reconcile {

Failure failure_of(const std::exception& e) {
  if (const auto* lxd_error = dynamic_cast<const lxd::Error*>(&e)) {
    if (lxd_error->unavailable()) return {store::FailureKind::Unavailable, e.what()};
    if (lxd_error->transient()) return {store::FailureKind::Busy, e.what()};
    return {store::FailureKind::Refused, e.what()};
  }
  // Everything else the reconciler runs is lxe's own work on the host: spec and state files,
  // mounts, reading lxe's stored configs.
  return {store::FailureKind::Host, e.what()};
}

}  // namespace lxe::reconcile
