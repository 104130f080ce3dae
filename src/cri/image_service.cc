#include "cri/image_service.h"

#include <filesystem>

#include "common/time.h"
#include "cri/errors.h"
#include "cri/images.h"
#include "cri/translate.h"
#include "lxd/client.h"

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

// The filesystem that holds LXD's images.
::grpc::Status ImageService::ImageFsInfo(::grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                         v1::ImageFsInfoResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    const fs::path images_dir = fs::path(ctx_.lxd.options().socket_path).parent_path() / "images";
    uint64_t bytes = 0, inodes = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(images_dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      ++inodes;
      if (it->is_regular_file(ec)) bytes += it->file_size(ec);
    }
    auto* usage = response->add_image_filesystems();
    usage->set_timestamp(now_ns());
    usage->mutable_fs_id()->set_mountpoint(images_dir.string());
    usage->mutable_used_bytes()->set_value(bytes);
    usage->mutable_inodes_used()->set_value(inodes);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
