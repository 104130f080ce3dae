// What the RuntimeService's RPC groups share: lookups and waiting on the reconciler.
#include "cri/runtime_service.h"

#include <algorithm>

#include "cri/errors.h"
#include "cri/translate.h"
#include "lxd/health.h"

namespace lxe::cri {

namespace {

template <typename Record>
std::vector<std::string> ids_of(const std::vector<Record>& records) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const auto& r : records) ids.push_back(r.id);
  return ids;
}

}  // namespace

::grpc::Status RuntimeService::find_sandbox(const std::string& id, std::optional<store::SandboxRecord>& out) const {
  if (id.empty()) return invalid("pod_sandbox_id is empty");
  if ((out = ctx_.registry.sandbox(id))) return ::grpc::Status::OK;
  const auto resolved = resolve_id(id, ids_of(ctx_.registry.sandboxes()), "pod sandbox");
  if (const auto* a = std::get_if<Ambiguous>(&resolved)) return invalid(a->message);
  if (const auto* full = std::get_if<std::string>(&resolved)) out = ctx_.registry.sandbox(*full);
  if (!out) return not_found("pod sandbox " + id + " not found");
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::find_container(const std::string& id,
                                              std::optional<store::ContainerRecord>& out) const {
  if (id.empty()) return invalid("container_id is empty");
  if ((out = ctx_.registry.container(id))) return ::grpc::Status::OK;
  const auto resolved = resolve_id(id, ids_of(ctx_.registry.containers()), "container");
  if (const auto* a = std::get_if<Ambiguous>(&resolved)) return invalid(a->message);
  if (const auto* full = std::get_if<std::string>(&resolved)) out = ctx_.registry.container(*full);
  if (!out) return not_found("container " + id + " not found");
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::reconcile_failure(const std::string& what, const std::string& last_error) const {
  if (!ctx_.lxd_health.check_now().reachable)
    return {::grpc::StatusCode::UNAVAILABLE, what + ": LXD is unavailable: " + last_error};
  return status_from_reconcile_error(what, last_error);
}

bool RuntimeService::wait_for(::grpc::ServerContext* context,
                              const std::function<bool(const store::Registry::View&)>& done) const {
  // The caller's deadline when it set one (kubelet always does; a long StopContainer grace period
  // comes with a long deadline), else ctx_.max_wait. gRPC's deadline is on the system clock; the
  // registry waits on the steady one.
  auto deadline = std::chrono::steady_clock::now() + ctx_.max_wait;
  if (context && context->deadline() != std::chrono::system_clock::time_point::max()) {
    const auto remaining = context->deadline() - std::chrono::system_clock::now();
    deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining);
  }
  return ctx_.registry.wait_until(done, deadline);
}

bool RuntimeService::wait_for_container(::grpc::ServerContext* context, const std::string& id, int64_t generation,
                                        std::string& error) const {
  return wait_for(context, [&](const store::Registry::View& view) {
    const auto* c = view.container(id);
    if (!c || c->observed_generation >= generation) return true;
    error = c->last_error;
    return !error.empty();
  });
}

}  // namespace lxe::cri
