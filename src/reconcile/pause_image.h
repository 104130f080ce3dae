// The image of the pods' namespace holders ("pause" containers). It needs no programs of its own:
// its PID 1 is lxe-init (`pause` mode), bind-mounted from the host like in every container. So the
// image is a few empty directories, made here as an LXD unified tarball (metadata.yaml + rootfs/),
// and no operator has to provide one.
#pragma once

#include <string>

namespace lxe::reconcile {

// An uncompressed ustar archive, ready for POST /1.0/images.
std::string make_pause_image_tarball();

}  // namespace lxe::reconcile
