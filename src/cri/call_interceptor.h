// A server interceptor on every CRI call: logs each call (method, status, duration) at debug level,
// tells an observer of it (lxe's /metrics), and gives the bare UNIMPLEMENTED answer of an RPC lxe
// does not implement yet a message that names the RPC.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <functional>
#include <string_view>

namespace lxe::cri {

// Told of every call as it ends: gRPC's full method name, the status code and how long it took.
// Runs on gRPC's thread: quick, and never throws.
using CallObserver = std::function<void(std::string_view method, int code, std::chrono::duration<double> took)>;

class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallInterceptorFactory(CallObserver observer = {}) : observer_(std::move(observer)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  CallObserver observer_;
};

}  // namespace lxe::cri
