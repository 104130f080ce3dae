#include "cri/call_interceptor.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

namespace lxe::cri {
namespace {

using grpc::experimental::InterceptionHookPoints;

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(grpc::experimental::ServerRpcInfo* info, const CallObserver& observer)
      : method_(info->method()), observer_(observer), started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && status.error_message().empty()) {
        status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                              "lxe does not implement " + method_ + " yet");
        methods->ModifySendStatus(status);
      }
      const auto took = std::chrono::steady_clock::now() - started_;
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
      if (observer_) observer_(method_, static_cast<int>(status.error_code()), took);
      if (status.ok())
        spdlog::debug("{} OK in {} us", method_, micros);
      else
        spdlog::debug("{} {} in {} us: {}", method_, static_cast<int>(status.error_code()), micros,
                      status.error_message());
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  const CallObserver& observer_;  // the factory's, which outlives every call
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

grpc::experimental::Interceptor* CallInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // gRPC's interface takes ownership of a raw pointer and deletes it when the call ends.
  return std::make_unique<CallInterceptor>(info, observer_).release();
}

}  // namespace lxe::cri
