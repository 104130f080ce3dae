#include "model/cri_states.h"

namespace lxe::model {

using store::ContainerObserved;

runtime::v1::PodSandboxState sandbox_state(const store::SandboxRecord& s) {
  const bool ready = s.desired_state == store::SandboxState::Ready && s.observed_state == store::SandboxObserved::Ready;
  return ready ? runtime::v1::SANDBOX_READY : runtime::v1::SANDBOX_NOTREADY;
}

runtime::v1::ContainerState container_state(const store::ContainerRecord& c) {
  switch (c.observed_state) {
    case ContainerObserved::Created: return runtime::v1::CONTAINER_CREATED;
    case ContainerObserved::Running: return runtime::v1::CONTAINER_RUNNING;
    case ContainerObserved::Exited: return runtime::v1::CONTAINER_EXITED;
    case ContainerObserved::Unknown:
    case ContainerObserved::Absent: break;
  }
  if (c.started_at != 0) return c.finished_at != 0 ? runtime::v1::CONTAINER_EXITED : runtime::v1::CONTAINER_UNKNOWN;
  return c.desired_state == store::ContainerState::Created ? runtime::v1::CONTAINER_CREATED
                                                           : runtime::v1::CONTAINER_UNKNOWN;
}

std::string image_id(const std::string& fingerprint) { return fingerprint.empty() ? "" : "sha256:" + fingerprint; }

std::string image_id_of(const store::ContainerRecord& c) { return c.image_id.empty() ? image_id(c.image_ref) : c.image_id; }

}  // namespace lxe::model
