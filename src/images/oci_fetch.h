// Fetching an OCI image from a registry with Debian's skopeo (to an OCI layout) and umoci (its
// rootfs, owners kept), and packing it as an LXD unified image. The steps run as separate
// programs, niced, with the caller's deadline; everything lands in one work folder the caller
// owns and removes.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "images/pull_error.h"
#include "model/image_config.h"
#include "model/image_ref.h"

namespace lxe::images {

using Deadline = std::chrono::steady_clock::time_point;

// The programs and settings of a pull.
struct FetchTools {
  std::string skopeo = "skopeo";
  std::string umoci = "umoci";
  std::string tar = "tar";
  // registries.conf for skopeo ("" = the system's /etc/containers/registries.conf and .d).
  std::string registries_conf;
  // The helpers' niceness: a pull of a big image must not slow CRI calls on a small machine.
  int niceness = 10;
};

// CRI's AuthConfig for the pull.
struct RegistryAuth {
  std::string username;
  std::string password;
  std::string auth;  // base64 of "username:password"
  std::string server_address;
  std::string identity_token;
  std::string registry_token;
  bool empty() const {
    return username.empty() && password.empty() && auth.empty() && identity_token.empty() && registry_token.empty();
  }
};

// The containers-auth.json text holding `auth` for `registry` (and for server_address when it
// names another host); lxe hands it to skopeo in memory, never on disk.
std::string authfile_json(const RegistryAuth& auth, const std::string& registry);

// What an OCI layout holds for one image, read from its index.json, manifest and config blob.
struct LayoutImage {
  std::string manifest_digest;  // of the manifest in the layout (skopeo may have converted it)
  std::string config_digest;    // "sha256:<hex>": the image's ID
  int64_t size = 0;             // config and layers, as the manifest gives their sizes
  nlohmann::json config;        // the config blob
};
// Reads the layout at `dir` (the image tagged `tag`). Throws std::runtime_error when it is not
// a readable OCI layout with that tag.
LayoutImage read_oci_layout(const std::filesystem::path& dir, const std::string& tag);

// LXD's architecture name for an OCI one ("amd64" → "x86_64"); "" when lxe knows no mapping.
std::string lxd_architecture(const std::string& oci_architecture);

// The metadata.yaml of the unified image.
std::string metadata_yaml(const std::string& architecture, int64_t created_unix, const std::string& description);

// The sha256 digest ("sha256:<hex>") of `bytes`.
std::string sha256_digest(const std::string& bytes);

// Asks the registry which manifest `ref` names now: the digest of its manifest (or index, for a
// multi-platform image) as the registry serves it: kubelet's repo digest.
std::variant<std::string, PullError> resolve_manifest_digest(const model::ImageRef& ref, const RegistryAuth& auth,
                                                             const FetchTools& tools, Deadline deadline);

struct FetchedImage {
  LayoutImage layout;
  model::ImageDefaults defaults;
  std::string architecture;       // LXD's
  std::filesystem::path tarball;  // the unified image, in the work folder
};

// Copies `pinned` (a reference with a digest) into `work`, unpacks its rootfs there and packs the
// unified image tarball. `work` must exist and be empty.
std::variant<FetchedImage, PullError> fetch_oci_image(const model::ImageRef& pinned, const RegistryAuth& auth,
                                                      const FetchTools& tools, const std::filesystem::path& work,
                                                      Deadline deadline);

}  // namespace lxe::images
