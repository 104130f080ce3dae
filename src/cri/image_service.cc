#include "cri/image_service.h"

#include <filesystem>

#include "common/filesystems.h"
#include "common/time.h"
#include "cri/errors.h"
#include "cri/images.h"
#include "cri/translate.h"
#include "lxd/api.h"

namespace lxe::cri {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

v1::Image to_cri_image(const lxd::Image& image) {
  v1::Image out;
  out.set_id(image_id(image.fingerprint));
  // Aliases are reported as repo tags; one without a tag gets ":latest", as image references
  // without a tag mean (crictl cannot show a tag-less repo tag).
  for (const auto& alias : image.aliases) {
    const auto colon = alias.name.rfind(':');
    const bool tagged = colon != std::string::npos && alias.name.find('/', colon) == std::string::npos;
    out.add_repo_tags(tagged ? alias.name : alias.name + ":latest");
  }
  out.set_size(static_cast<uint64_t>(image.size));
  return out;
}

}  // namespace

::grpc::Status ImageService::ListImages(::grpc::ServerContext*, const v1::ListImagesRequest* request,
                                        v1::ListImagesResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (request->has_filter() && request->filter().has_image() && !request->filter().image().image().empty()) {
      if (const auto image = find_local_image(ctx_.lxd, request->filter().image().image()))
        *response->add_images() = to_cri_image(*image);
      return ::grpc::Status::OK;
    }
    for (const auto& image : ctx_.lxd.list_images())
      if (image.type.empty() || image.type == "container") *response->add_images() = to_cri_image(image);
    return ::grpc::Status::OK;
  });
}

// An image that is not there is not an error for ImageStatus: the response is empty (CRI).
::grpc::Status ImageService::ImageStatus(::grpc::ServerContext*, const v1::ImageStatusRequest* request,
                                         v1::ImageStatusResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("ImageStatus: image is empty");
    if (const auto image = find_local_image(ctx_.lxd, request->image().image()))
      *response->mutable_image() = to_cri_image(*image);
    return ::grpc::Status::OK;
  });
}

::grpc::Status ImageService::PullImage(::grpc::ServerContext*, const v1::PullImageRequest* request,
                                       v1::PullImageResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("PullImage: image is empty");
    const auto image = find_local_image(ctx_.lxd, request->image().image());
    if (!image)
      return not_found("PullImage: image '" + request->image().image() +
                       "' is not in LXD, and lxe pulls from no registry; import it with `lxc image import ... "
                       "--alias NAME`");
    response->set_image_ref("sha256:" + image->fingerprint);
    return ::grpc::Status::OK;
  });
}

// lxe never deletes images it did not import: the operator's images stay. Removing an image that
// is not there succeeds (CRI's idempotence).
::grpc::Status ImageService::RemoveImage(::grpc::ServerContext*, const v1::RemoveImageRequest* request,
                                         v1::RemoveImageResponse*) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("RemoveImage: image is empty");
    const auto image = find_local_image(ctx_.lxd, request->image().image());
    if (!image) return ::grpc::Status::OK;
    return failed_precondition("RemoveImage: image '" + request->image().image() +
                               "' was imported into LXD by someone else, and lxe does not delete what it did not "
                               "create; remove it with `lxc image delete " +
                               image->fingerprint.substr(0, 12) + "`");
  });
}

// The filesystem that holds LXD's images: kubelet's image garbage collection and eviction take its
// capacity and free space from the mount point named here (cadvisor looks it up), and its use by
// images from `used_bytes`. LXD keeps each image as files in <LXD dir>/images and, on storage
// drivers that can clone, as a volume in <pool>/images; volumes on another filesystem than the
// image files are not counted here. Containers' writable layers are not images: not counted.
::grpc::Status ImageService::ImageFsInfo(::grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                         v1::ImageFsInfoResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    const fs::path lxd_dir = fs::path(ctx_.lxd.socket_path()).parent_path();
    const fs::path images_dir = lxd_dir / "images";
    // Before LXD's first image its image folder may not exist yet: the mount that will hold it.
    std::error_code ec;
    const std::string mount_point = mount_point_of((fs::exists(images_dir, ec) ? images_dir : lxd_dir).string());
    if (mount_point.empty())
      return failed_precondition("ImageFsInfo: LXD's folder " + lxd_dir.string() +
                                 " is not on this host; lxe reports image filesystems only for a local LXD");
    DiskUsage usage = disk_usage(images_dir.string());
    for (const auto& pool : fs::directory_iterator(lxd_dir / "storage-pools", ec)) {
      const fs::path pool_images = pool.path() / "images";
      if (mount_point_of(pool_images.string()) != mount_point) continue;
      const DiskUsage volumes = disk_usage(pool_images.string());
      usage.bytes += volumes.bytes;
      usage.inodes += volumes.inodes;
    }
    auto* filesystem = response->add_image_filesystems();
    filesystem->set_timestamp(now_ns());
    filesystem->mutable_fs_id()->set_mountpoint(mount_point);
    filesystem->mutable_used_bytes()->set_value(usage.bytes);
    filesystem->mutable_inodes_used()->set_value(usage.inodes);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
