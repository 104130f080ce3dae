// PullImage's work: resolve the reference at its registry, fetch and unpack the image, import it
// into LXD as a unified image aliased by its image ID, and record it in the catalog. Concurrent
// pulls of one reference (with the same credentials) share one fetch.
#pragma once

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "images/catalog.h"
#include "images/lxd_remote.h"
#include "images/oci_fetch.h"
#include "images/pull_error.h"
#include "lxd/api.h"
#include "store/records.h"

namespace lxe::images {

struct PullOptions {
  FetchTools tools;
  // Each pull works in a folder of its own under this one, removed when it ends.
  std::filesystem::path work_root = "/var/lib/lxe/pulls";
  // The longest a pull may take when the caller set no deadline.
  std::chrono::seconds default_timeout{600};
  // Properties added to every image lxe imports (tests mark theirs).
  std::map<std::string, std::string> extra_properties;
  // The image servers of lxc's client configuration (--lxd-remote-config), for LXD references.
  LxdRemotes lxd_remotes;
};

using PullResult = std::variant<store::ImageRecord, PullError>;

class Puller {
 public:
  Puller(ImageCatalog& catalog, const lxd::Api& lxd, PullOptions options);
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  // Whether `reference` names an LXD image on an image server (parse_lxd_image_ref with the
  // configured remotes).
  std::optional<LxdImageRef> lxd_reference(const std::string& reference) const;

  // Pulls `reference`, an LXD reference or an OCI one (any spelling parse_image_ref takes), and
  // returns its record.
  // `deadline`: the caller's, if any; a pull never runs longer than default_timeout. A caller that
  // joins a running pull of the same reference waits for it, up to its own deadline.
  PullResult pull(const std::string& reference, const RegistryAuth& auth, std::optional<Deadline> deadline);

  // Leftover work folders of pulls cut short by a crash; removed at startup.
  void remove_leftovers() const;

 private:
  PullResult pull_now(const model::ImageRef& ref, const RegistryAuth& auth, Deadline deadline);
  // LXD downloads the image itself (POST /1.0/images from the remote).
  PullResult pull_lxd(const LxdImageRef& ref, const std::string& reference, Deadline deadline);
  PullResult import_and_record(const model::ImageRef& ref, const FetchedImage& fetched, const std::string& tag,
                               const std::string& repo_digest);

  ImageCatalog& catalog_;
  const lxd::Api& lxd_;
  const PullOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_future<PullResult>> in_flight_;
};

}  // namespace lxe::images
