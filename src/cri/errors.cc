#include "cri/errors.h"

#include "reconcile/errors.h"

namespace lxe::cri {

grpc::Status invalid(const std::string& message) { return {grpc::StatusCode::INVALID_ARGUMENT, message}; }
grpc::Status not_found(const std::string& message) { return {grpc::StatusCode::NOT_FOUND, message}; }
grpc::Status failed_precondition(const std::string& message) {
  return {grpc::StatusCode::FAILED_PRECONDITION, message};
}

grpc::Status status_from(const store::StoreError& e) {
  using Kind = store::StoreError::Kind;
  switch (e.kind()) {
    case Kind::NotFound: return {grpc::StatusCode::NOT_FOUND, e.what()};
    case Kind::AlreadyExists: return {grpc::StatusCode::ALREADY_EXISTS, e.what()};
    case Kind::Busy: return {grpc::StatusCode::UNAVAILABLE, e.what()};
    default: return {grpc::StatusCode::INTERNAL, std::string("lxe store: ") + e.what()};
  }
}

grpc::Status status_from(const lxd::Error& e) {
  using Kind = lxd::ErrorKind;
  switch (e.kind()) {
    case Kind::Transport:
    case Kind::Timeout: return {grpc::StatusCode::UNAVAILABLE, std::string("LXD unavailable: ") + e.what()};
    case Kind::Busy: return {grpc::StatusCode::UNAVAILABLE, std::string("LXD is busy: ") + e.what()};
    case Kind::NotFound: return {grpc::StatusCode::NOT_FOUND, std::string("LXD: ") + e.what()};
    case Kind::Conflict: return {grpc::StatusCode::ALREADY_EXISTS, std::string("LXD: ") + e.what()};
    case Kind::BadRequest: return {grpc::StatusCode::INVALID_ARGUMENT, std::string("LXD: ") + e.what()};
    case Kind::Forbidden: return {grpc::StatusCode::PERMISSION_DENIED, std::string("LXD: ") + e.what()};
    case Kind::PreconditionFailed: return {grpc::StatusCode::ABORTED, std::string("LXD: ") + e.what()};
    default: return {grpc::StatusCode::UNKNOWN, std::string("LXD: ") + e.what()};
  }
}

grpc::Status status_from(const std::string& call, const reconcile::Failure& failure) {
  switch (failure.kind) {
    case store::FailureKind::Unavailable:
      return {grpc::StatusCode::UNAVAILABLE, call + ": LXD is unavailable: " + failure.message};
    case store::FailureKind::Busy:
      return {grpc::StatusCode::UNAVAILABLE, call + ": LXD is busy with another operation: " + failure.message};
    case store::FailureKind::Host: return {grpc::StatusCode::INTERNAL, call + ": " + failure.message};
    case store::FailureKind::Refused:
    case store::FailureKind::None: break;
  }
  return {grpc::StatusCode::UNKNOWN, call + ": " + failure.message};
}

}  // namespace lxe::cri
