// Turning what went wrong below the facade into gRPC statuses a person can act on.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

namespace lxe::store {
class StoreError;
}
namespace lxe::lxd {
class Error;
}

namespace lxe::cri {

grpc::Status invalid(const std::string& message);
grpc::Status not_found(const std::string& message);
grpc::Status failed_precondition(const std::string& message);

grpc::Status status_from(const store::StoreError& e);
grpc::Status status_from(const lxd::Error& e);
// A reconcile failure recorded in a record's last_error.
grpc::Status status_from_reconcile_error(const std::string& what, const std::string& last_error);

// Runs `fn` (returning grpc::Status) and maps the exceptions of the layers below to statuses, so
// that no handler lets an exception reach gRPC.
template <typename Fn>
grpc::Status guarded(Fn&& fn);

}  // namespace lxe::cri

#include "cri/errors_inl.h"
