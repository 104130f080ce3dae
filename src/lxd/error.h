// Errors raised by the LXD client. This is the one exception type of the LXD layer: every failure
// of a call to LXD, from a missing socket to an operation that ended in failure, is an lxd::Error.
#pragma once

#include <stdexcept>
#include <string>

namespace lxe::lxd {

enum class ErrorKind {
  Transport,           // the socket is missing, refused the connection, or broke mid-request
  Timeout,             // no answer within the request timeout, or an operation did not end in time
  BadRequest,          // LXD answered 400
  Forbidden,           // 403
  NotFound,            // 404
  Conflict,            // 409 (e.g. the name is taken)
  PreconditionFailed,  // 412: the ETag given with If-Match no longer matches
  Server,              // 5xx or any other error status
  OperationFailed,     // an async operation finished with status Failure/Cancelled
  Busy,                // LXD refused for a moment: another operation holds the object's lock
  Protocol,            // the answer was not the JSON LXD documents
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, int http_status = 0);

  ErrorKind kind() const { return kind_; }
  // The HTTP status LXD answered with (0 when no answer came).
  int http_status() const { return http_status_; }
  // True for failures that say LXD itself is unreachable or too slow, as opposed to LXD refusing
  // the request: callers map these to UNAVAILABLE and retry later.
  bool unavailable() const { return kind_ == ErrorKind::Transport || kind_ == ErrorKind::Timeout; }
  // True when the same request may well succeed in a moment without anything else changing.
  bool transient() const { return kind_ == ErrorKind::Busy; }

 private:
  ErrorKind kind_;
  int http_status_;
};

// Maps an HTTP status from LXD to the error kind it means.
ErrorKind kind_for_http_status(int http_status);

}  // namespace lxe::lxd
