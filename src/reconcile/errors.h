// How a reconcile failure is recorded: a record's last_error holds the message, last_error_kind
// what kind of failure it is, as the layer that failed classified it (the LXD client's typed
// error, or a failure on the host). The CRI facade maps kinds to status codes (cri/errors.h);
// nobody reads a kind back out of a message.
#pragma once

#include <exception>
#include <string>

#include "store/records.h"

namespace lxe::reconcile {

struct Failure {
  store::FailureKind kind = store::FailureKind::None;
  std::string message;
};

// What an exception thrown while observing LXD or carrying out an action stands for.
Failure failure_of(const std::exception& e);

}  // namespace lxe::reconcile
