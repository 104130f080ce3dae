#include "images/puller.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/time.h"
#include "lxd/error.h"
#include "model/image_config.h"

namespace lxe::images {

namespace fs = std::filesystem;

namespace {

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (::getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size()))
    throw std::runtime_error("getrandom failed");
  std::string out;
  char buf[3];
  for (unsigned char c : raw) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

// The work folder of one pull, removed however the pull ends.
class WorkFolder {
 public:
  explicit WorkFolder(const fs::path& root) : path_(root / ("pull-" + random_hex(8))) {
    fs::create_directories(path_);
  }
  ~WorkFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) spdlog::warn("could not remove the pull folder {}: {}", path_.string(), ec.message());
  }
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool lxd_has(const lxd::Api& lxd, const std::string& fingerprint) {
  try {
    lxd.get_image(fingerprint);
    return true;
  } catch (const lxd::Error& e) {
    if (e.kind() == lxd::ErrorKind::NotFound) return false;
    throw;
  }
}

}  // namespace

Puller::Puller(ImageCatalog& catalog, const lxd::Api& lxd, PullOptions options)
    : catalog_(catalog), lxd_(lxd), options_(std::move(options)) {}

void Puller::remove_leftovers() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.work_root, ec)) {
    if (entry.path().filename().string().rfind("pull-", 0) != 0) continue;
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

std::optional<LxdImageRef> Puller::lxd_reference(const std::string& reference) const {
  return parse_lxd_image_ref(reference, options_.lxd_remotes);
}

PullResult Puller::pull(const std::string& reference, const RegistryAuth& auth, std::optional<Deadline> deadline) {
  const Deadline limit = std::chrono::steady_clock::now() + options_.default_timeout;
  const Deadline until = deadline ? std::min(*deadline, limit) : limit;
  const auto lxd_ref = lxd_reference(reference);
  std::optional<model::ImageRef> oci_ref;
  if (!lxd_ref) {
    auto parsed = model::parse_image_ref(reference);
    if (const auto* why = std::get_if<std::string>(&parsed))
      return PullError{PullError::Kind::InvalidReference, "'" + reference + "' is not an image reference: " + *why +
                                                              " (nor an LXD reference '<remote>:<alias>' of a "
                                                              "remote lxe knows)"};
    oci_ref = std::get<model::ImageRef>(std::move(parsed));
  }

  // One fetch per reference and credentials: a pull with other credentials may succeed where
  // this one fails.
  const std::string key =
      (lxd_ref ? "lxd:" + reference : oci_ref->to_string()) +
      (auth.empty() || lxd_ref ? "" : "\n" + sha256_digest(authfile_json(auth, oci_ref->domain)));
  std::shared_future<PullResult> joined;
  std::promise<PullResult> mine;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = in_flight_.find(key); it != in_flight_.end()) {
      joined = it->second;
    } else {
      in_flight_.emplace(key, mine.get_future().share());
    }
  }
  if (joined.valid()) {
    spdlog::debug("pull of {} joins one already running", reference);
    if (joined.wait_until(until) != std::future_status::ready)
      return PullError{PullError::Kind::DeadlineExceeded,
                       "the pull of " + reference + " (started by another caller) did not finish in time"};
    return joined.get();
  }

  PullResult result = PullError{PullError::Kind::Failed, "pull did not run"};
  try {
    result = lxd_ref ? pull_lxd(*lxd_ref, reference, until) : pull_now(*oci_ref, auth, until);
  } catch (const std::exception& e) {
    result = PullError{PullError::Kind::Failed, "pulling " + reference + " failed: " + e.what()};
  }
  mine.set_value(result);
  std::lock_guard lock(mutex_);
  in_flight_.erase(key);
  return result;
}

PullResult Puller::pull_now(const model::ImageRef& ref, const RegistryAuth& auth, Deadline deadline) {
  const auto started = std::chrono::steady_clock::now();
  auto digest = resolve_manifest_digest(ref, auth, options_.tools, deadline);
  if (auto* error = std::get_if<PullError>(&digest)) return *error;
  const std::string repo_digest = ref.repository() + "@" + std::get<std::string>(digest);
  const std::string tag = ref.tag.empty() ? "" : ref.repository() + ":" + ref.tag;

  // Pulled before (the registry still serves the same manifest): only the names change.
  for (const auto& found : catalog_.list()) {
    if (!found.pulled) continue;
    const auto& digests = found.record.repo_digests;
    if (std::find(digests.begin(), digests.end(), repo_digest) != digests.end())
      return catalog_.record_pull(found.record, tag, repo_digest);
  }

  model::ImageRef pinned = ref;
  pinned.tag.clear();
  pinned.digest = std::get<std::string>(digest);
  const WorkFolder work(options_.work_root);
  auto fetched = fetch_oci_image(pinned, auth, options_.tools, work.path(), deadline);
  if (auto* error = std::get_if<PullError>(&fetched)) return *error;
  auto result = import_and_record(ref, std::get<FetchedImage>(fetched), tag, repo_digest);
  if (const auto* record = std::get_if<store::ImageRecord>(&result))
    spdlog::info("pulled {} as image {} (LXD image {}) in {:.1f} s", ref.to_string(), record->id,
                 record->lxd_fingerprint.substr(0, 12),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

PullResult Puller::pull_lxd(const LxdImageRef& ref, const std::string& reference, Deadline deadline) {
  const auto started = std::chrono::steady_clock::now();
  lxd::RemoteImageSource source{ref.remote.addr, ref.remote.protocol, ref.image, "", ref.remote.certificate};
  // An image that was in LXD before this pull and is not lxe's stays the operator's: it is found,
  // never recorded (so never deleted).
  std::set<std::string> before;
  for (const auto& image : lxd_.list_images()) before.insert(image.fingerprint);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  std::string fingerprint;
  try {
    fingerprint = lxd_.pull_remote_image(source, std::max(left, std::chrono::milliseconds(1)));
  } catch (const lxd::Error& e) {
    const std::string said = e.what();
    PullError::Kind kind = PullError::Kind::Failed;
    if (e.kind() == lxd::ErrorKind::Timeout) kind = PullError::Kind::DeadlineExceeded;
    else if (e.kind() == lxd::ErrorKind::Transport) kind = PullError::Kind::Unavailable;
    else if (said.find("couldn't be found") != std::string::npos) kind = PullError::Kind::NotFound;
    else kind = classify_skopeo_failure(said);  // the same Go network phrases
    return PullError{kind, "LXD did not download " + reference + " from " + ref.remote.addr + ": " + said};
  }
  const std::string id = "sha256:" + fingerprint;
  if (before.count(fingerprint) && !catalog_.pulled(id)) {
    bool ours = false;
    for (const auto& r : catalog_.list())
      ours |= r.pulled && r.record.lxd_fingerprint == fingerprint;
    if (!ours) {
      store::ImageRecord operators;
      operators.id = id;
      operators.lxd_fingerprint = fingerprint;
      operators.source = "local";
      return operators;  // the operator's image, already there
    }
  }
  if (const auto existing = catalog_.pulled(id)) return catalog_.record_pull(*existing, reference, "");
  auto properties = options_.extra_properties;
  for (const auto& [k, v] : catalog_.import_properties(id)) properties[k] = v;
  properties["lxe.pulled-from"] = reference;
  const lxd::Image image = lxd_.get_image(fingerprint);
  try {
    lxd_.tag_image(fingerprint, catalog_.alias_for(id), properties);
    store::ImageRecord record;
    record.id = id;
    record.lxd_fingerprint = fingerprint;
    record.source = "lxd";
    record.size = image.size;
    record.defaults = "{}";
    record.pulled_at = now_ns();
    auto stored = catalog_.record_pull(record, reference, "");
    spdlog::info("pulled {} as LXD image {} in {:.1f} s", reference, fingerprint.substr(0, 12),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return stored;
  } catch (const std::exception& e) {
    try {
      lxd_.delete_image(fingerprint);
    } catch (const std::exception& cleanup) {
      spdlog::warn("could not delete LXD image {} after a failed pull: {}", fingerprint, cleanup.what());
    }
    return PullError{PullError::Kind::Failed, "recording " + reference + " failed: " + e.what()};
  }
}

PullResult Puller::import_and_record(const model::ImageRef& ref, const FetchedImage& fetched, const std::string& tag,
                                     const std::string& repo_digest) {
  const std::string id = fetched.layout.config_digest;
  // The same image under another name (another tag, another repository): one LXD image.
  if (const auto existing = catalog_.pulled(id); existing && lxd_has(lxd_, existing->lxd_fingerprint))
    return catalog_.record_pull(*existing, tag, repo_digest);

  const std::string alias = catalog_.alias_for(id);
  std::string fingerprint;
  bool imported_now = false;
  try {
    // An LXD image of this ID without a record (lxe crashed after importing it): the same
    // content, adopted rather than imported twice; but only this store's.
    const lxd::Image existing = lxd_.get_image(lxd_.get_image_alias(alias).target);
    const auto store = existing.properties.find(ImageCatalog::kStoreProperty);
    const auto ours = catalog_.import_properties(id).at(ImageCatalog::kStoreProperty);
    if (store == existing.properties.end() || store->second != ours)
      return PullError{PullError::Kind::Failed,
                       "LXD's image alias " + alias + " belongs to another lxe (" +
                           (store == existing.properties.end() ? std::string("no store named") : store->second) +
                           "); give each lxe on this LXD its own --lxd-name-prefix"};
    fingerprint = existing.fingerprint;
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) throw;
  }
  if (fingerprint.empty()) {
    auto properties = options_.extra_properties;
    for (const auto& [k, v] : catalog_.import_properties(id)) properties[k] = v;
    properties["lxe.pulled-from"] = ref.to_string();
    try {
      fingerprint = lxd_.import_image_file(fetched.tarball.string(), alias, properties);
      imported_now = true;
    } catch (const lxd::Error& e) {
      return PullError{e.kind() == lxd::ErrorKind::Transport || e.kind() == lxd::ErrorKind::Timeout
                           ? PullError::Kind::Unavailable
                           : PullError::Kind::Failed,
                       "LXD did not import " + ref.to_string() + ": " + e.what()};
    }
  }
  store::ImageRecord record;
  record.id = id;
  record.lxd_fingerprint = fingerprint;
  record.source = "oci";
  record.size = fetched.layout.size;
  record.defaults = model::to_json(fetched.defaults).dump();
  record.pulled_at = now_ns();
  try {
    return catalog_.record_pull(record, tag, repo_digest);
  } catch (const std::exception& e) {
    // Not recorded: not kept either, so that nothing half-imported stays behind.
    if (imported_now) {
      try {
        lxd_.delete_image(fingerprint);
      } catch (const std::exception& cleanup) {
        spdlog::warn("could not delete LXD image {} after a failed pull: {}", fingerprint, cleanup.what());
      }
    }
    return PullError{PullError::Kind::Failed, "recording image " + id + " failed: " + e.what()};
  }
}

}  // namespace lxe::images
