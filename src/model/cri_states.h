// What a stored record means in CRI terms: the state kubelet sees for a pod sandbox or container,
// and the image ID of an LXD image. Shared by the CRI facade, lxe-ctl and lxe-bench, so that every
// one of them shows exactly what kubelet sees (no copy of the mapping anywhere else).
#pragma once

#include <string>

#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::model {

// READY only when the pod is desired ready and was last seen ready.
runtime::v1::PodSandboxState sandbox_state(const store::SandboxRecord& s);

// The observed state when lxe has seen the container; before that (or when it cannot tell),
// what the record's timestamps and desired state imply.
runtime::v1::ContainerState container_state(const store::ContainerRecord& c);

// "sha256:<fingerprint>", as ImageService reports an LXD image's ID; "" for none.
std::string image_id(const std::string& fingerprint);
// The CRI image ID of a container's image: the pulled image's ID, else "sha256:" + the LXD fingerprint.
std::string image_id_of(const store::ContainerRecord& c);

}  // namespace lxe::model
