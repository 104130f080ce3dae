// CRI ImageService: images lxe pulled from registries (images/puller.h), and the images an
// operator imported into LXD, found by alias or fingerprint (images/catalog.h).
#pragma once

#include <filesystem>

#include "cri/runtime_context.h"
#include "images/fs_usage.h"
#include "images/puller.h"
#include "lxd/api.h"
#include "runtime/v1/api.grpc.pb.h"

namespace lxe::cri {

class ImageService final : public ::runtime::v1::ImageService::Service {
 public:
  ImageService(RuntimeContext context, images::Puller& puller)
      : ctx_(context),
        puller_(puller),
        fs_meter_(std::filesystem::path(context.lxd.socket_path()).parent_path().string(), kFsUsageMaxAge) {}

  ::grpc::Status ListImages(::grpc::ServerContext*, const ::runtime::v1::ListImagesRequest*,
                            ::runtime::v1::ListImagesResponse*) override;
  ::grpc::Status ImageStatus(::grpc::ServerContext*, const ::runtime::v1::ImageStatusRequest*,
                             ::runtime::v1::ImageStatusResponse*) override;
  ::grpc::Status PullImage(::grpc::ServerContext*, const ::runtime::v1::PullImageRequest*,
                           ::runtime::v1::PullImageResponse*) override;
  ::grpc::Status RemoveImage(::grpc::ServerContext*, const ::runtime::v1::RemoveImageRequest*,
                             ::runtime::v1::RemoveImageResponse*) override;
  ::grpc::Status ImageFsInfo(::grpc::ServerContext*, const ::runtime::v1::ImageFsInfoRequest*,
                             ::runtime::v1::ImageFsInfoResponse*) override;

 private:
  // How old an ImageFsInfo measurement may be: kubelet's image GC and eviction work on minutes.
  static constexpr std::chrono::seconds kFsUsageMaxAge{10};

  RuntimeContext ctx_;
  images::Puller& puller_;
  images::ImageFsMeter fs_meter_;
};

}  // namespace lxe::cri
