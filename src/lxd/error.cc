#include "lxd/error.h"

#include <utility>

namespace lxe::lxd {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Transport: return "transport";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::BadRequest: return "bad request";
    case ErrorKind::Forbidden: return "forbidden";
    case ErrorKind::NotFound: return "not found";
    case ErrorKind::Conflict: return "conflict";
    case ErrorKind::PreconditionFailed: return "precondition failed";
    case ErrorKind::Server: return "server error";
    case ErrorKind::OperationFailed: return "operation failed";
    case ErrorKind::Busy: return "busy";
    case ErrorKind::Protocol: return "protocol";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message, int http_status)
    : std::runtime_error(std::move(message)), kind_(kind), http_status_(http_status) {}

ErrorKind kind_for_http_status(int http_status) {
  switch (http_status) {
    case 400: return ErrorKind::BadRequest;
    case 401:  // LXD answers 403 for untrusted clients; 401 is mapped the same way if it comes
    case 403: return ErrorKind::Forbidden;
    case 404: return ErrorKind::NotFound;
    case 409: return ErrorKind::Conflict;
    case 412: return ErrorKind::PreconditionFailed;
    default: return ErrorKind::Server;
  }
}

}  // namespace lxe::lxd
