// Looking images up in the local LXD: CRI image references name a local alias or fingerprint.
#pragma once

#include <optional>
#include <string>

#include "lxd/api.h"

namespace lxe::cri {

// Finds `ref` among LXD's images: as an alias; as kubelet normalises names
// ("docker.io/library/busybox:latest" → "busybox"); or as a fingerprint (prefix). Throws
// lxd::Error only when LXD cannot be asked.
std::optional<lxd::Image> find_local_image(const lxd::Api& lxd, const std::string& ref);

}  // namespace lxe::cri
