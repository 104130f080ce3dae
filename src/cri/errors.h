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
namespace lxe::reconcile {
struct Failure;
}

namespace lxe::cri {

grpc::Status invalid(const std::string& message);
grpc::Status not_found(const std::string& message);
grpc::Status failed_precondition(const std::string& message);

grpc::Status status_from(const store::StoreError& e);
grpc::Status status_from(const lxd::Error& e);
// A reconcile failure recorded on a record, by its kind: LXD not answering or staying busy is
// UNAVAILABLE (kubelet retries), LXD refusing is UNKNOWN with LXD's words, a failure of lxe's own
// work on the host is INTERNAL.
grpc::Status status_from(const std::string& call, const reconcile::Failure& failure);

// Runs `fn` (returning grpc::Status) and maps the exceptions of the layers below to statuses, so
// that no handler lets an exception reach gRPC.
template <typename Fn>
grpc::Status guarded(Fn&& fn);

}  // namespace lxe::cri

#include "cri/errors_inl.h"
