// A server interceptor on every CRI call: logs each call (method, status, duration) at debug level,
// and gives the bare UNIMPLEMENTED answer of an RPC lxe does not implement yet a message that
// names the RPC.
#pragma once

#include <grpcpp/support/server_interceptor.h>

namespace lxe::cri {

class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace lxe::cri
