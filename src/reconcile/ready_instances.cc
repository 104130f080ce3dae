#include "reconcile/ready_instances.h"

#include <spdlog/spdlog.h>

#include "model/naming.h"

namespace lxe::reconcile {

ReadyInstanceFacts ready_instance_facts(const lxd::Instance& instance) {
  ReadyInstanceFacts facts;
  facts.name = instance.name;
  if (const auto it = instance.config.find("volatile.base_image"); it != instance.config.end())
    facts.fingerprint = it->second;
  if (const auto root = instance.devices.find(kRootDevice); root != instance.devices.end()) {
    if (const auto pool = root->second.find("pool"); pool != root->second.end()) facts.pool = pool->second;
  }
  const auto kind = instance.config.find(model::kKindKey);
  facts.ready = kind != instance.config.end() && kind->second == "ready" && !instance.config.count(model::kIdKey);
  facts.running = instance.running();
  const auto shifted = instance.config.find("volatile.last_state.idmap");
  facts.shifted = shifted != instance.config.end() && !shifted->second.empty() && shifted->second != "[]";
  return facts;
}

ReadyPlan plan_ready_instances(const std::map<std::string, int>& wanted, const std::vector<ReadyInstanceFacts>& observed,
                               const std::string& pool) {
  ReadyPlan plan;
  std::map<std::string, int> kept;
  for (const auto& facts : observed) {
    const auto it = wanted.find(facts.fingerprint);
    const bool usable = facts.ready && facts.shifted && !facts.running && facts.pool == pool && it != wanted.end();
    if (usable && kept[facts.fingerprint] < it->second) {
      ++kept[facts.fingerprint];
    } else {
      plan.remove.push_back(facts.name);
    }
  }
  for (const auto& [fingerprint, count] : wanted)
    for (int i = kept[fingerprint]; i < count; ++i) plan.create.push_back(fingerprint);
  return plan;
}

ReadyInstances::ReadyInstances(const lxd::Api& lxd, ReadyInstancesOptions options, ImagesInUse images_in_use)
    : lxd_(lxd), options_(std::move(options)), images_in_use_(std::move(images_in_use)) {}

ReadyInstances::~ReadyInstances() { stop(false); }

void ReadyInstances::start() {
  if (!enabled() || thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { keeper(); });
}

void ReadyInstances::stop(bool delete_ready) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!delete_ready) return;
  std::vector<std::string> names;
  {
    std::unique_lock lock(mutex_);
    // A claim under way finishes first: its instance is then the container's, or deleted below.
    claims_done_.wait_for(lock, std::chrono::seconds(30), [this] { return claiming_.empty(); });
    for (auto& [fingerprint, list] : ready_)
      for (const auto& ready : list) names.push_back(ready.name);
    names.insert(names.end(), to_remove_.begin(), to_remove_.end());
    ready_.clear();
    to_remove_.clear();
  }
  for (const auto& name : names)
    if (!remove(name)) break;
}

std::optional<ReadyInstance> ReadyInstances::take(const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  last_claim_ = std::chrono::steady_clock::now();
  if (stopping_) return std::nullopt;
  const auto it = ready_.find(fingerprint);
  if (it == ready_.end() || it->second.empty()) return std::nullopt;
  ReadyInstance ready = std::move(it->second.back());
  it->second.pop_back();
  claiming_.insert(ready.name);
  return ready;
}

void ReadyInstances::claimed(const std::string& name, bool ok) {
  {
    std::lock_guard lock(mutex_);
    claiming_.erase(name);
    if (!ok) to_remove_.push_back(name);
    wake_requested_ = true;
  }
  claims_done_.notify_all();
  wake_.notify_all();
}

void ReadyInstances::used(const std::string& fingerprint) {
  if (!enabled() || fingerprint.empty()) return;
  {
    std::lock_guard lock(mutex_);
    used_.insert(fingerprint);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

size_t ReadyInstances::ready(const std::string& fingerprint) const {
  std::lock_guard lock(mutex_);
  const auto it = ready_.find(fingerprint);
  return it == ready_.end() ? 0 : it->second.size();
}

bool ReadyInstances::remove(const std::string& name) const {
  try {
    lxd_.stop_instance(name, lxd::StopMode::Force);  // never started by lxe; someone may have
    lxd_.delete_instance(name);
  } catch (const lxd::Error& e) {
    if (e.kind() == lxd::ErrorKind::NotFound) return true;
    spdlog::warn("ready instances: cannot delete {}: {}", name, e.what());
    return false;
  }
  return true;
}

// The first look: what an earlier lxe left (kept when usable), and half-claimed instances of a
// crash between a claim's PATCH and its rename (deleted).
void ReadyInstances::adopt_listed() {
  std::vector<lxd::Instance> listed;
  for (auto& instance : lxd_.list_instances("config." + std::string(model::kManagedKey) + " eq true"))
    if (model::is_ready_instance_name(options_.name_prefix, instance.name)) listed.push_back(std::move(instance));
  std::lock_guard lock(mutex_);
  for (auto& instance : listed) {
    const auto facts = ready_instance_facts(instance);
    if (facts.ready && facts.shifted && !facts.running && facts.pool == options_.mapping.storage_pool &&
        !facts.fingerprint.empty())
      ready_[facts.fingerprint].push_back({facts.name, std::move(instance.config)});
    else
      to_remove_.push_back(facts.name);
  }
  adopted_ = true;
}

void ReadyInstances::keep() {
  if (!enabled()) return;
  bool adopted;
  {
    std::lock_guard lock(mutex_);
    adopted = adopted_;
  }
  if (!adopted) adopt_listed();  // throws lxd::Error: the keeper tries again later

  // Wanted: images containers were made of, as long as LXD has them (listed again each interval:
  // a claim's wake does not need the list, which is a slow call on LXD's side).
  const auto now = std::chrono::steady_clock::now();
  bool list_images;
  {
    std::lock_guard lock(mutex_);
    list_images = images_listed_ == std::chrono::steady_clock::time_point{} || now - images_listed_ >= options_.interval;
  }
  if (list_images) {
    std::set<std::string> images;
    for (const auto& image : lxd_.list_images()) images.insert(image.fingerprint);
    std::lock_guard lock(mutex_);
    images_ = std::move(images);
    images_listed_ = now;
    std::erase_if(used_, [&](const std::string& fingerprint) { return !images_.count(fingerprint); });
  }
  std::set<std::string> in_use = images_in_use_ ? images_in_use_() : std::set<std::string>{};
  std::map<std::string, int> wanted;
  std::vector<ReadyInstanceFacts> held;
  std::vector<std::string> failed_claims;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(failed_until_, [&](const auto& entry) { return entry.second <= now; });
    in_use.insert(used_.begin(), used_.end());
    for (const auto& fingerprint : in_use)
      // An image made since the last list is taken as there: a make of it that fails says otherwise.
      if (images_.count(fingerprint) || used_.count(fingerprint)) wanted[fingerprint] = options_.per_image;
    for (const auto& [fingerprint, list] : ready_)
      for (const auto& ready : list)
        held.push_back({ready.name, fingerprint, options_.mapping.storage_pool, true, true, false});
    failed_claims.swap(to_remove_);
  }
  const ReadyPlan plan = plan_ready_instances(wanted, held, options_.mapping.storage_pool);
  {
    std::lock_guard lock(mutex_);
    for (const auto& name : plan.remove)
      for (auto& [fingerprint, list] : ready_)
        std::erase_if(list, [&](const ReadyInstance& ready) { return ready.name == name; });
  }
  for (const auto& name : failed_claims) remove(name);
  for (const auto& name : plan.remove) remove(name);
  for (const auto& fingerprint : plan.create) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (failed_until_.count(fingerprint)) continue;
    }
    const std::string name = model::ready_instance_name(options_.name_prefix);
    lxd::Config config;
    try {
      lxd_.create_instance(ready_instance(name, fingerprint, options_.init_binary, options_.mapping));
      // One start (lxe-init pause) and a stop: LXD shifts the rootfs to the ID map at an
      // instance's first start, a chown of every file (~1.1 s for 15,000 of them here), which the
      // container's own first start is then spared.
      lxd_.start_instance(name);
      lxd_.stop_instance(name, lxd::StopMode::Force);
      config = lxd_.get_instance(name).config;  // the ID map LXD chose, for the claim
    } catch (const lxd::Error& e) {
      // Made or not, it is not known to be ready: deleted if it is there.
      spdlog::warn("ready instances: cannot make one of image {}: {}", fingerprint.substr(0, 12), e.what());
      remove(name);
      std::lock_guard lock(mutex_);
      failed_until_[fingerprint] = std::chrono::steady_clock::now() + options_.interval;
      continue;
    }
    std::lock_guard lock(mutex_);
    ready_[fingerprint].push_back({name, std::move(config)});
  }
}

void ReadyInstances::keeper() {
  for (;;) {
    try {
      keep();
    } catch (const std::exception& e) {
      spdlog::warn("ready instances: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || wake_requested_; });
    if (stopping_) return;
    wake_requested_ = false;
    // Claims come in bursts, each followed by a start: made once they settle.
    while (!stopping_ && std::chrono::steady_clock::now() - last_claim_ < options_.settle)
      wake_.wait_until(lock, last_claim_ + options_.settle);
    if (stopping_) return;
  }
}

}  // namespace lxe::reconcile
