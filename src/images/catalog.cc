#include "images/catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lxd/error.h"
#include "model/image_ref.h"
#include "store/store.h"

namespace lxe::images {

namespace {

bool hex(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

void erase_value(std::vector<std::string>& list, const std::string& value) {
  list.erase(std::remove(list.begin(), list.end(), value), list.end());
}

bool lxd_says_absent(const lxd::Error& e) {
  return e.kind() == lxd::ErrorKind::NotFound || e.kind() == lxd::ErrorKind::BadRequest;
}

// The names an operator's LXD alias may have been made with for `ref`, the reference as given
// first: its normalised and familiar forms, with and without a digest, and a ":latest" tag also
// left out ("busybox", "busybox:latest", "docker.io/library/busybox:latest"; a tag-less
// "gcr.io/x/y" may be aliased "gcr.io/x/y:latest").
std::vector<std::string> candidate_aliases(const std::string& ref) {
  std::vector<std::string> names = {ref};
  const auto add = [&names](const std::string& name) {
    if (!contains(names, name)) names.push_back(name);
  };
  const auto parsed = model::parse_image_ref(ref);
  const auto* normalised = std::get_if<model::ImageRef>(&parsed);
  if (!normalised) return names;  // not an OCI reference: an alias or fingerprint as given
  model::ImageRef by_name = *normalised;
  by_name.digest.clear();
  if (by_name.tag.empty()) by_name.tag = "latest";
  for (const auto& form : {*normalised, by_name}) {
    add(form.to_string());
    add(form.familiar());
    if (form.tag == "latest" && form.digest.empty()) {
      model::ImageRef untagged = form;
      untagged.tag.clear();
      add(untagged.to_string());
      add(untagged.familiar());
    }
  }
  return names;
}

std::optional<lxd::Image> find_lxd_image(const lxd::Api& lxd, const std::string& ref) {
  for (const auto& alias : candidate_aliases(ref)) {
    try {
      return lxd.get_image(lxd.get_image_alias(alias).target);
    } catch (const lxd::Error& e) {
      if (!lxd_says_absent(e)) throw;
    }
  }
  const std::string fingerprint = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (hex(fingerprint)) {
    try {
      return lxd.get_image(fingerprint);
    } catch (const lxd::Error& e) {
      if (!lxd_says_absent(e)) throw;
    }
  }
  return std::nullopt;
}

}  // namespace

store::ImageRecord record_of_lxd_image(const lxd::Image& image) {
  store::ImageRecord r;
  r.id = "sha256:" + image.fingerprint;
  r.lxd_fingerprint = image.fingerprint;
  r.source = "local";
  for (const auto& alias : image.aliases) {
    const auto colon = alias.name.rfind(':');
    const bool tagged = colon != std::string::npos && alias.name.find('/', colon) == std::string::npos;
    r.repo_tags.push_back(tagged ? alias.name : alias.name + ":latest");
  }
  r.size = image.size;
  r.defaults = "";
  return r;
}

ImageCatalog::ImageCatalog(store::Store& store, const lxd::Api& lxd, std::string alias_prefix)
    : store_(store), lxd_(lxd), alias_prefix_(std::move(alias_prefix)), records_(store.list_images()) {}

std::optional<store::ImageRecord> ImageCatalog::match_locked(const std::string& ref) const {
  // An image ID, whole or a unique prefix.
  const std::string bare = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (hex(bare) && bare.size() >= 12) {
    const store::ImageRecord* match = nullptr;
    for (const auto& r : records_) {
      if (r.id.compare(7, bare.size(), bare) != 0) continue;
      if (match) return std::nullopt;  // ambiguous: not an ID of ours
      match = &r;
    }
    if (match) return *match;
  }
  // A name as it was pulled: LXD references ("images:alpine/3.19") are kept as given.
  for (const auto& r : records_)
    if (contains(r.repo_tags, ref)) return r;
  const auto parsed = model::parse_image_ref(ref);
  const auto* normalised = std::get_if<model::ImageRef>(&parsed);
  if (!normalised) return std::nullopt;
  for (const auto& r : records_) {
    if (!normalised->digest.empty()) {
      if (contains(r.repo_digests, normalised->repository() + "@" + normalised->digest)) return r;
    } else if (contains(r.repo_tags, normalised->to_string())) {
      return r;
    }
  }
  return std::nullopt;
}

void ImageCatalog::drop_locked(const std::string& id) const {
  store_.delete_image(id);
  records_.erase(std::remove_if(records_.begin(), records_.end(), [&](const auto& r) { return r.id == id; }),
                 records_.end());
}

std::optional<FoundImage> ImageCatalog::find(const std::string& ref) const {
  if (ref.empty()) return std::nullopt;
  std::unique_lock lock(mutex_);
  if (auto record = match_locked(ref)) {
    try {
      lxd_.get_image(record->lxd_fingerprint);
      return FoundImage{*record, true};
    } catch (const lxd::Error& e) {
      if (!lxd_says_absent(e)) throw;
      spdlog::warn("image {} ({}) is gone from LXD (image {} deleted outside lxe); forgetting it", record->id, ref,
                   record->lxd_fingerprint);
      drop_locked(record->id);
      return std::nullopt;
    }
  }
  lock.unlock();
  const auto image = find_lxd_image(lxd_, ref);
  if (!image) return std::nullopt;
  lock.lock();
  for (const auto& r : records_)
    if (r.lxd_fingerprint == image->fingerprint) return FoundImage{r, true};
  return FoundImage{record_of_lxd_image(*image), false};
}

std::vector<FoundImage> ImageCatalog::list() const {
  const auto lxd_images = lxd_.list_images();
  std::lock_guard lock(mutex_);
  std::vector<FoundImage> out;
  for (const auto& r : records_) {
    const bool present = std::any_of(lxd_images.begin(), lxd_images.end(),
                                     [&](const lxd::Image& i) { return i.fingerprint == r.lxd_fingerprint; });
    if (present) out.push_back({r, true});
  }
  for (const auto& image : lxd_images) {
    if (!image.type.empty() && image.type != "container") continue;
    const bool pulled = std::any_of(records_.begin(), records_.end(),
                                    [&](const auto& r) { return r.lxd_fingerprint == image.fingerprint; });
    if (!pulled) out.push_back({record_of_lxd_image(image), false});
  }
  return out;
}

std::optional<store::ImageRecord> ImageCatalog::pulled(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : records_)
    if (r.id == id) return r;
  return std::nullopt;
}

store::ImageRecord ImageCatalog::record_pull(const store::ImageRecord& image, const std::string& tag,
                                             const std::string& digest) {
  std::lock_guard lock(mutex_);
  std::vector<store::ImageRecord> changed;
  store::ImageRecord result = image;
  for (const auto& r : records_) {
    if (r.id == image.id) {
      // Pulled before: keep its LXD image and what it had; the new pull adds names.
      result = r;
      continue;
    }
    if (!tag.empty() && contains(r.repo_tags, tag)) {
      store::ImageRecord moved = r;  // the tag now names the new image
      erase_value(moved.repo_tags, tag);
      changed.push_back(std::move(moved));
    }
  }
  if (!tag.empty() && !contains(result.repo_tags, tag)) result.repo_tags.push_back(tag);
  if (!digest.empty() && !contains(result.repo_digests, digest)) result.repo_digests.push_back(digest);
  changed.push_back(result);
  {
    store::Store::Transaction txn(store_);
    for (const auto& r : changed) store_.put_image(r);
    txn.commit();
  }
  for (const auto& c : changed) {
    const auto it = std::find_if(records_.begin(), records_.end(), [&](const auto& r) { return r.id == c.id; });
    if (it == records_.end()) records_.push_back(c);
    else *it = c;
  }
  return result;
}

void ImageCatalog::delete_locked(const store::ImageRecord& image) {
  try {
    lxd_.delete_image(image.lxd_fingerprint);
  } catch (const lxd::Error& e) {
    if (!lxd_says_absent(e)) throw;
  }
  drop_locked(image.id);
}

std::variant<Removal, RemoveRefused> ImageCatalog::remove(const std::string& ref,
                                                          const std::function<bool(const std::string&)>& in_use) {
  std::unique_lock lock(mutex_);
  const auto record = match_locked(ref);
  if (!record) {
    lock.unlock();
    const auto image = find_lxd_image(lxd_, ref);
    if (!image) return Removal::Absent;
    lock.lock();
    for (const auto& r : records_) {
      if (r.lxd_fingerprint != image->fingerprint) continue;
      const std::string id = r.id;  // our image, found by its LXD alias or fingerprint
      lock.unlock();
      return remove(id, in_use);
    }
    return RemoveRefused{false, "image '" + ref + "' is LXD image " + image->fingerprint.substr(0, 12) +
                                    ", which lxe did not pull; lxe deletes only images it pulled (delete it with "
                                    "`lxc image delete " + image->fingerprint.substr(0, 12) + "`)"};
  }
  // A tag reference of an image with other tags only untags it.
  const std::string bare = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  const bool by_id = hex(bare) && bare.size() >= 12 && record->id.compare(7, bare.size(), bare) == 0;
  const auto parsed = model::parse_image_ref(ref);
  const auto* named = std::get_if<model::ImageRef>(&parsed);
  std::string tag;
  if (!by_id && contains(record->repo_tags, ref)) tag = ref;
  else if (!by_id && named && named->digest.empty() && contains(record->repo_tags, named->to_string()))
    tag = named->to_string();
  if (!tag.empty() && record->repo_tags.size() > 1) {
    store::ImageRecord untagged = *record;
    erase_value(untagged.repo_tags, tag);
    store_.put_image(untagged);
    for (auto& r : records_)
      if (r.id == untagged.id) r = untagged;
    return Removal::Untagged;
  }
  if (in_use(record->lxd_fingerprint))
    return RemoveRefused{true, "image " + record->id + (ref == record->id ? "" : " (" + ref + ")") +
                                   " is used by a container; remove its containers first"};
  delete_locked(*record);
  return Removal::Deleted;
}

std::map<std::string, std::string> ImageCatalog::import_properties(const std::string& image_id) const {
  return {{kImageIdProperty, image_id}, {kStoreProperty, store_.path()}};
}

int ImageCatalog::sweep_orphans() {
  int swept = 0;
  try {
    const auto images = lxd_.list_images();
    std::lock_guard lock(mutex_);
    for (const auto& image : images) {
      const auto id = image.properties.find(kImageIdProperty);
      if (id == image.properties.end()) continue;
      const auto store = image.properties.find(kStoreProperty);
      const bool ours = store != image.properties.end() && store->second == store_.path() &&
                        std::any_of(image.aliases.begin(), image.aliases.end(),
                                    [&](const auto& a) { return a.name == alias_for(id->second); });
      const bool recorded = std::any_of(records_.begin(), records_.end(),
                                        [&](const auto& r) { return r.lxd_fingerprint == image.fingerprint; });
      if (!ours || recorded) continue;
      try {
        lxd_.delete_image(image.fingerprint);
        ++swept;
        spdlog::info("deleted LXD image {} ({}): lxe imported it but has no record of it", image.fingerprint,
                     id->second);
      } catch (const lxd::Error& e) {
        spdlog::warn("could not delete orphaned LXD image {}: {}", image.fingerprint, e.what());
      }
    }
  } catch (const lxd::Error& e) {
    spdlog::warn("could not look for orphaned images: {}", e.what());
  }
  return swept;
}

}  // namespace lxe::images
