// What the RuntimeService's RPC groups share: lookups and waiting on the reconciler.
#include "cri/runtime_service.h"

#include <algorithm>

#include "cri/errors.h"
#include "cri/translate.h"
#include "lxd/health.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

::grpc::Status RuntimeService::find_sandbox(const std::string& id, std::optional<store::SandboxRecord>& out) const {
  if (id.empty()) return invalid("pod_sandbox_id is empty");
  if (!(out = ctx_.registry.sandbox(id))) {
    const auto resolved = resolve_id(id, ctx_.registry.ids_with_prefix(store::ObjectKind::Sandbox, id), "pod sandbox");
    if (const auto* a = std::get_if<Ambiguous>(&resolved)) return invalid(a->message);
    if (const auto* full = std::get_if<std::string>(&resolved)) out = ctx_.registry.sandbox(*full);
  }
  // Removed for CRI while LXD still deletes what is left (store/records.h).
  if (out && store::removed_for_cri(*out)) out.reset();
  if (!out) return not_found("pod sandbox " + id + " not found");
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::find_container(const std::string& id,
                                              std::optional<store::ContainerRecord>& out) const {
  if (id.empty()) return invalid("container_id is empty");
  if (!(out = ctx_.registry.container(id))) {
    const auto resolved = resolve_id(id, ctx_.registry.ids_with_prefix(store::ObjectKind::Container, id), "container");
    if (const auto* a = std::get_if<Ambiguous>(&resolved)) return invalid(a->message);
    if (const auto* full = std::get_if<std::string>(&resolved)) out = ctx_.registry.container(*full);
  }
  if (out && store::removed_for_cri(*out)) out.reset();
  if (!out) return not_found("container " + id + " not found");
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::reconcile_failure(const std::string& call, const reconcile::Failure& failure) const {
  if (!ctx_.lxd_health.check_now().reachable)
    return {::grpc::StatusCode::UNAVAILABLE, call + ": LXD is unavailable: " + failure.message};
  return status_from(call, failure);
}

::grpc::Status RuntimeService::record(const std::string& call, const Stage& stage, std::vector<WaitTarget>& targets) {
  bool written = false;
  {
    store::Registry::Change change(ctx_.registry);
    if (auto status = stage(change, targets); !status.ok()) return status;
    if (!change.empty()) {
      change.commit();
      written = true;
    }
  }
  if (written) ctx_.crash_points.hit("store-written:" + call);
  for (const auto& target : targets) {
    if (target.kind == store::ObjectKind::Sandbox)
      ctx_.reconciler.enqueue_sandbox(target.id);
    else
      ctx_.reconciler.enqueue_container(target.id);
  }
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::record_when_names_free(::grpc::ServerContext* context, const std::string& call,
                                                     const Stage& stage, std::vector<WaitTarget>& targets,
                                                     store::ObjectKind kind, std::string& held_by) {
  auto status = record(call, stage, targets);
  if (held_by.empty()) return status;
  const std::string removed = held_by;
  const bool gone = wait_for(context, [&](const store::Registry::View& view) {
    return kind == store::ObjectKind::Sandbox ? view.sandbox(removed) == nullptr : view.container(removed) == nullptr;
  });
  return gone ? record(call, stage, targets) : status;
}

namespace {

// Where one target stands: reached, failed (with the failure), or still on its way.
template <typename Record>
bool target_reached(const Record* r, int64_t generation) {
  return r == nullptr || (generation > 0 && r->observed_generation >= generation);
}

}  // namespace

RuntimeService::WaitResult RuntimeService::wait(::grpc::ServerContext* context,
                                                const std::vector<WaitTarget>& targets) const {
  WaitResult result;
  const bool ended = wait_for(context, [&](const store::Registry::View& view) {
    bool all_reached = true;
    for (const auto& target : targets) {
      bool reached = false;
      store::FailureKind kind = store::FailureKind::None;
      const std::string* message = nullptr;
      if (target.kind == store::ObjectKind::Sandbox) {
        const auto* s = view.sandbox(target.id);
        reached = target_reached(s, target.generation);
        if (s) kind = s->last_error_kind, message = &s->last_error;
      } else {
        const auto* c = view.container(target.id);
        reached = target_reached(c, target.generation);
        if (c) kind = c->last_error_kind, message = &c->last_error;
      }
      if (reached) continue;
      all_reached = false;
      if (kind == store::FailureKind::None) continue;
      result.failure = {kind, *message};
      if (kind != store::FailureKind::Busy) {
        result.end = WaitResult::End::Failed;
        return true;
      }
    }
    if (all_reached) result.end = WaitResult::End::Reached;
    return all_reached;
  });
  if (!ended) result.end = WaitResult::End::TimedOut;
  return result;
}

::grpc::Status RuntimeService::status_of(const std::string& call, const WaitResult& result,
                                         const std::string& timeout_text) const {
  switch (result.end) {
    case WaitResult::End::Reached: return ::grpc::Status::OK;
    case WaitResult::End::Failed: return reconcile_failure(call, result.failure);
    case WaitResult::End::TimedOut: break;
  }
  std::string message = call + ": " + timeout_text;
  if (result.failure.kind == store::FailureKind::Busy)
    message += " (LXD was busy with another operation: " + result.failure.message + ")";
  return {::grpc::StatusCode::DEADLINE_EXCEEDED, message};
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

}  // namespace lxe::cri
