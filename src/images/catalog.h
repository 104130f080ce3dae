// The images kubelet can name: those lxe pulled (the store's image records, kept in memory) and
// the images an operator put into LXD (found by alias or fingerprint, never deleted by lxe).
//
// The catalog owns the records: every change goes to SQLite first, then to memory, under one
// mutex, so tags move between images atomically (a tag names one image at a time).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lxd/api.h"
#include "store/records.h"

namespace lxe::store {
class Store;
}

namespace lxe::images {

// An image a reference names.
struct FoundImage {
  store::ImageRecord record;  // for an operator's LXD image: made up from LXD (source "local")
  bool pulled = false;        // lxe pulled it (a record in the store): RemoveImage may delete it
};

// What RemoveImage did.
enum class Removal {
  Absent,    // nothing by that name: fine (RemoveImage is idempotent)
  Untagged,  // the tag is gone; the image keeps its other tags
  Deleted,   // the image is gone from LXD and the store
};
struct RemoveRefused {
  bool in_use = false;  // a container uses it (else: an operator's LXD image, which lxe never deletes)
  std::string message;
};

class ImageCatalog {
 public:
  // `alias_prefix` begins the LXD alias of every image lxe pulls ("<prefix>/<image ID>"); the
  // sweep of orphans looks only at those. Loads the records; throws StoreError.
  ImageCatalog(store::Store& store, const lxd::Api& lxd, std::string alias_prefix);

  // The LXD alias of a pulled image.
  std::string alias_for(const std::string& image_id) const { return alias_prefix_ + "/" + image_id; }

  // Finds `ref`: a pulled image by ID (full, "sha256:" optional, or a unique prefix of 12 or more
  // hex digits), by a tag or digest reference in any spelling kubelet uses ("busybox",
  // "docker.io/library/busybox:latest", "name@sha256:..."); else an LXD image by alias or
  // fingerprint. A record whose LXD image is gone (deleted behind lxe's back) is dropped, so
  // that kubelet pulls again. Throws lxd::Error when LXD cannot be asked.
  std::optional<FoundImage> find(const std::string& ref) const;

  // Every image: pulled ones whose LXD image exists, then LXD's other container images.
  std::vector<FoundImage> list() const;

  // A pulled image by its exact ID, from memory (no LXD call).
  std::optional<store::ImageRecord> pulled(const std::string& id) const;

  // Records a finished pull: `image` (new, or an ID already recorded) gets `tag` and `digest`
  // ("" for none); other images lose that tag. Returns the record as stored.
  store::ImageRecord record_pull(const store::ImageRecord& image, const std::string& tag, const std::string& digest);

  // RemoveImage: a tag reference untags (the image goes with its last tag); an ID or digest
  // reference deletes the image with all its tags. `in_use(fingerprint)` says whether a container
  // uses an LXD image; a used image is never deleted.
  std::variant<Removal, RemoveRefused> remove(const std::string& ref,
                                              const std::function<bool(const std::string&)>& in_use);

  // The properties an image lxe imports carries: its CRI image ID, and which store it belongs to
  // (several lxe may share one LXD; each sweeps only its own).
  std::map<std::string, std::string> import_properties(const std::string& image_id) const;

  // Deletes LXD images this store's lxe imported (by alias and properties) that have no record:
  // a crash between an import and its record. Returns how many; failures are logged, not thrown.
  int sweep_orphans();

  static constexpr const char* kImageIdProperty = "lxe.image-id";
  static constexpr const char* kStoreProperty = "lxe.store";

 private:
  std::optional<store::ImageRecord> match_locked(const std::string& ref) const;
  void drop_locked(const std::string& id) const;
  void delete_locked(const store::ImageRecord& image);

  store::Store& store_;
  const lxd::Api& lxd_;
  const std::string alias_prefix_;
  mutable std::mutex mutex_;
  mutable std::vector<store::ImageRecord> records_;
};

// An LXD image as CRI shows it: ID "sha256:<fingerprint>", aliases as repo tags (":latest" added
// to one without a tag).
store::ImageRecord record_of_lxd_image(const lxd::Image& image);

}  // namespace lxe::images
