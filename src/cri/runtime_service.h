// CRI RuntimeService. RPCs not overridden here fall through to the generated base class, which
// answers UNIMPLEMENTED; CallInterceptor gives that answer a message naming the RPC.
#pragma once

#include "cri/runtime_context.h"
#include "runtime/v1/api.grpc.pb.h"

namespace lxe::cri {

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  explicit RuntimeService(RuntimeContext context) : ctx_(context) {}

  // version.cc
  ::grpc::Status Version(::grpc::ServerContext* context, const runtime::v1::VersionRequest* request,
                         runtime::v1::VersionResponse* response) override;
  // status.cc
  ::grpc::Status Status(::grpc::ServerContext* context, const runtime::v1::StatusRequest* request,
                        runtime::v1::StatusResponse* response) override;

 private:
  RuntimeContext ctx_;
};

}  // namespace lxe::cri
