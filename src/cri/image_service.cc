#include "cri/image_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "cri/errors.h"
#include "cri/validation.h"
#include "images/catalog.h"
#include "model/image_config.h"
#include "store/registry.h"
#include "cri/translate.h"
#include "lxd/api.h"

namespace lxe::cri {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

v1::Image to_cri_image(const images::FoundImage& found) {
  const auto& r = found.record;
  v1::Image out;
  out.set_id(r.id);
  for (const auto& tag : r.repo_tags) out.add_repo_tags(tag);
  for (const auto& digest : r.repo_digests) out.add_repo_digests(digest);
  out.set_size(static_cast<uint64_t>(std::max<int64_t>(r.size, 0)));
  out.mutable_spec()->set_image(r.id);
  if (found.pulled && r.source == "oci") {
    try {
      const auto defaults = model::image_defaults_from_json(nlohmann::json::parse(r.defaults));
      const auto user = model::cri_image_user(defaults.config.user);
      if (user.uid) out.mutable_uid()->set_value(*user.uid);
      out.set_username(user.username);
    } catch (const std::exception& e) {
      spdlog::warn("image {}: its stored defaults cannot be read: {}", r.id, e.what());
    }
  }
  return out;
}

::grpc::Status pull_status(const images::PullError& error) {
  using Kind = images::PullError::Kind;
  const std::string message = "PullImage: " + error.message;
  switch (error.kind) {
    case Kind::InvalidReference: return {::grpc::StatusCode::INVALID_ARGUMENT, message};
    case Kind::NotFound: return {::grpc::StatusCode::NOT_FOUND, message};
    case Kind::Unauthorized: return {::grpc::StatusCode::UNAUTHENTICATED, message};
    case Kind::Unavailable: return {::grpc::StatusCode::UNAVAILABLE, message};
    case Kind::DeadlineExceeded: return {::grpc::StatusCode::DEADLINE_EXCEEDED, message};
    case Kind::Failed: break;
  }
  return {::grpc::StatusCode::INTERNAL, message};
}

// The caller's deadline as a steady-clock time; none when the caller set none.
std::optional<images::Deadline> deadline_of(const ::grpc::ServerContext* context) {
  if (!context) return std::nullopt;
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  const auto left = deadline - std::chrono::system_clock::now();
  if (left > std::chrono::hours(24 * 365)) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

}  // namespace

::grpc::Status ImageService::ListImages(::grpc::ServerContext*, const v1::ListImagesRequest* request,
                                        v1::ListImagesResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (request->has_filter() && request->filter().has_image() && !request->filter().image().image().empty()) {
      if (const auto found = ctx_.images.find(request->filter().image().image()))
        *response->add_images() = to_cri_image(*found);
      return ::grpc::Status::OK;
    }
    for (const auto& found : ctx_.images.list()) *response->add_images() = to_cri_image(found);
    return ::grpc::Status::OK;
  });
}

// An image that is not there is not an error for ImageStatus: the response is empty (CRI).
::grpc::Status ImageService::ImageStatus(::grpc::ServerContext*, const v1::ImageStatusRequest* request,
                                         v1::ImageStatusResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("ImageStatus: image is empty");
    if (const auto found = ctx_.images.find(request->image().image())) *response->mutable_image() = to_cri_image(*found);
    return ::grpc::Status::OK;
  });
}

// An operator's LXD image named by its alias is that image: PullImage goes to no registry for
// it (docs/images.md, "Which image a name means"). Everything else that is an OCI reference is
// pulled, also when lxe pulled it before: the tag may name another image now.
::grpc::Status ImageService::PullImage(::grpc::ServerContext* context, const v1::PullImageRequest* request,
                                       v1::PullImageResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("PullImage: image is empty");
    const std::string& ref = request->image().image();
    if (auto problem = control_character_problem(ref); !problem.empty())
      return invalid("PullImage: image " + problem);
    if (const auto found = ctx_.images.find(ref); found && !found->pulled) {
      response->set_image_ref(found->record.id);
      return ::grpc::Status::OK;
    }
    images::RegistryAuth auth;
    if (request->has_auth()) {
      const auto& a = request->auth();
      auth = {a.username(), a.password(), a.auth(), a.server_address(), a.identity_token(), a.registry_token()};
    }
    auto pulled = puller_.pull(ref, auth, deadline_of(context));
    if (const auto* error = std::get_if<images::PullError>(&pulled)) return pull_status(*error);
    response->set_image_ref(std::get<store::ImageRecord>(pulled).id);
    return ::grpc::Status::OK;
  });
}

// Deletes only images lxe pulled: an operator's LXD images stay (FAILED_PRECONDITION says how to
// delete one). A tag of an image with several tags only untags it; an image a container uses is
// never deleted. Removing an image that is not there succeeds (CRI's idempotence).
::grpc::Status ImageService::RemoveImage(::grpc::ServerContext*, const v1::RemoveImageRequest* request,
                                         v1::RemoveImageResponse*) {
  return guarded([&]() -> ::grpc::Status {
    if (!request->has_image() || request->image().image().empty()) return invalid("RemoveImage: image is empty");
    const auto in_use = [&](const std::string& fingerprint) {
      // A container removed for CRI does not hold its image: LXD deletes an image whose
      // instances are still there.
      for (const auto& c : ctx_.registry.containers())
        if (c.image_ref == fingerprint && !store::removed_for_cri(c)) return true;
      return false;
    };
    const auto outcome = ctx_.images.remove(request->image().image(), in_use);
    if (const auto* refused = std::get_if<images::RemoveRefused>(&outcome))
      return failed_precondition("RemoveImage: " + refused->message);
    return ::grpc::Status::OK;
  });
}

// The filesystem that holds LXD's images: kubelet's image garbage collection and eviction take its
// capacity and free space from the mount point named here (cadvisor looks it up), and its use by
// images from `used_bytes` (images/fs_usage.h: measured on the filesystem, cached for a few seconds).
::grpc::Status ImageService::ImageFsInfo(::grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                         v1::ImageFsInfoResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    const auto usage = fs_meter_.usage();
    if (usage.mount_point.empty())
      return failed_precondition("ImageFsInfo: LXD's folder " +
                                 std::filesystem::path(ctx_.lxd.socket_path()).parent_path().string() +
                                 " is not on this host; lxe reports image filesystems only for a local LXD");
    auto* filesystem = response->add_image_filesystems();
    filesystem->set_timestamp(usage.measured_at_ns);
    filesystem->mutable_fs_id()->set_mountpoint(usage.mount_point);
    filesystem->mutable_used_bytes()->set_value(usage.bytes);
    filesystem->mutable_inodes_used()->set_value(usage.inodes);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
