#include <spdlog/spdlog.h>

#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

namespace {

v1::ContainerEventType event_type(store::ContainerTransition::Kind kind) {
  switch (kind) {
    case store::ContainerTransition::Kind::Created: return v1::CONTAINER_CREATED_EVENT;
    case store::ContainerTransition::Kind::Started: return v1::CONTAINER_STARTED_EVENT;
    case store::ContainerTransition::Kind::Stopped: return v1::CONTAINER_STOPPED_EVENT;
    case store::ContainerTransition::Kind::Deleted: return v1::CONTAINER_DELETED_EVENT;
  }
  return v1::CONTAINER_CREATED_EVENT;
}

}  // namespace

// Streams container transitions as the reconciler records them (which in turn follow LXD's
// lifecycle events): created, started, stopped, deleted. Each carries the pod's status and the
// statuses of its containers, as kubelet's evented PLEG wants. Runs until the client goes away.
::grpc::Status RuntimeService::GetContainerEvents(::grpc::ServerContext* context,
                                                  const v1::GetEventsRequest*,
                                                  ::grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
  const auto subscription = ctx_.registry.subscribe();
  while (!context->IsCancelled()) {
    // Wake up now and then to notice a cancelled stream even when nothing happens.
    const auto transition = subscription->next(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    if (!transition) continue;
    v1::ContainerEventResponse event;
    event.set_container_id(transition->container.id);
    event.set_container_event_type(event_type(transition->kind));
    event.set_created_at(transition->container.updated_at);
    if (transition->sandbox) *event.mutable_pod_sandbox_status() = to_pod_sandbox_status(*transition->sandbox);
    for (const auto& c : ctx_.registry.containers_of(transition->container.sandbox_id)) {
      if (store::removed_for_cri(c)) continue;
      // A stream cannot fail one container's status: the event goes out without the parts that
      // cannot be read, and the log says which record is bad (ContainerStatus answers DATA_LOSS).
      if (const auto parts = status_parts_.get(c); !parts->problem.empty())
        spdlog::error("container {}: {}", c.id, parts->problem);
      *event.add_containers_statuses() = to_container_status(c, &status_parts_);
    }
    if (!writer->Write(event)) break;
  }
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
