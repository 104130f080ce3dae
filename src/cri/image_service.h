// CRI ImageService over the images the local LXD already has.
#pragma once

#include "cri/runtime_context.h"
#include "runtime/v1/api.grpc.pb.h"

namespace lxe::cri {

class ImageService final : public runtime::v1::ImageService::Service {
 public:
  explicit ImageService(RuntimeContext context) : ctx_(context) {}

 private:
  [[maybe_unused]] RuntimeContext ctx_;
};

}  // namespace lxe::cri
