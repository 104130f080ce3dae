#include "store/registry.h"

#include <algorithm>

#include "common/time.h"

namespace lxe::store {

Registry::Registry(Store& store) : store_(store) {
  for (auto& s : store_.list_sandboxes()) {
    index(s);
    sandboxes_.emplace(s.id, std::move(s));
  }
  for (auto& c : store_.list_containers()) {
    index(c);
    containers_.emplace(c.id, std::move(c));
  }
}

void Registry::index(const SandboxRecord& s) { by_lxd_name_[s.lxd_name] = {ObjectKind::Sandbox, s.id}; }
void Registry::index(const ContainerRecord& c) {
  by_lxd_name_[c.lxd_name] = {ObjectKind::Container, c.id};
  containers_by_sandbox_[c.sandbox_id].insert(c.id);
}
void Registry::unindex(const SandboxRecord& s) {
  if (auto it = by_lxd_name_.find(s.lxd_name); it != by_lxd_name_.end() && it->second.id == s.id)
    by_lxd_name_.erase(it);
}
void Registry::unindex(const ContainerRecord& c) {
  if (auto it = by_lxd_name_.find(c.lxd_name); it != by_lxd_name_.end() && it->second.id == c.id)
    by_lxd_name_.erase(it);
  if (auto it = containers_by_sandbox_.find(c.sandbox_id); it != containers_by_sandbox_.end()) {
    it->second.erase(c.id);
    if (it->second.empty()) containers_by_sandbox_.erase(it);
  }
}

namespace {

template <typename Record>
std::vector<std::string> keys_with_prefix(const std::map<std::string, Record>& map, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back(it->first);
  return out;  // an exact match sorts before every longer key with it as prefix: it comes first
}

}  // namespace

std::vector<std::string> Registry::ids_with_prefix(ObjectKind kind, const std::string& prefix) const {
  std::shared_lock lock(mutex_);
  return kind == ObjectKind::Sandbox ? keys_with_prefix(sandboxes_, prefix) : keys_with_prefix(containers_, prefix);
}

std::optional<Registry::Named> Registry::by_lxd_name(const std::string& lxd_name) const {
  std::shared_lock lock(mutex_);
  // A pod's profile and holder instance share the sandbox's name; a container's name is its own.
  const auto it = by_lxd_name_.find(lxd_name);
  if (it == by_lxd_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<SandboxRecord> Registry::sandbox(const std::string& id) const {
  std::shared_lock lock(mutex_);
  if (const auto* s = View(*this).sandbox(id)) return *s;
  return std::nullopt;
}

std::vector<SandboxRecord> Registry::sandboxes() const {
  std::shared_lock lock(mutex_);
  std::vector<SandboxRecord> out;
  out.reserve(sandboxes_.size());
  for (const auto& [id, s] : sandboxes_) out.push_back(s);
  return out;
}

std::optional<ContainerRecord> Registry::container(const std::string& id) const {
  std::shared_lock lock(mutex_);
  if (const auto* c = View(*this).container(id)) return *c;
  return std::nullopt;
}

std::vector<ContainerRecord> Registry::containers() const {
  std::shared_lock lock(mutex_);
  std::vector<ContainerRecord> out;
  out.reserve(containers_.size());
  for (const auto& [id, c] : containers_) out.push_back(c);
  return out;
}

void Registry::for_each_sandbox(const std::function<void(const SandboxRecord&)>& fn) const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, s] : sandboxes_) fn(s);
}

void Registry::for_each_container(const std::function<void(const ContainerRecord&)>& fn) const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, c] : containers_) fn(c);
}

std::vector<ContainerRecord> Registry::containers_of(const std::string& sandbox_id) const {
  std::shared_lock lock(mutex_);
  std::vector<ContainerRecord> out;
  for (const auto* c : View(*this).containers_of(sandbox_id)) out.push_back(*c);
  return out;
}

const SandboxRecord* Registry::View::sandbox(const std::string& id) const {
  const auto it = registry_.sandboxes_.find(id);
  return it == registry_.sandboxes_.end() ? nullptr : &it->second;
}

const ContainerRecord* Registry::View::container(const std::string& id) const {
  const auto it = registry_.containers_.find(id);
  return it == registry_.containers_.end() ? nullptr : &it->second;
}

std::vector<const ContainerRecord*> Registry::View::containers_of(const std::string& sandbox_id) const {
  std::vector<const ContainerRecord*> out;
  const auto ids = registry_.containers_by_sandbox_.find(sandbox_id);
  if (ids == registry_.containers_by_sandbox_.end()) return out;
  for (const auto& id : ids->second)
    if (const auto* c = container(id)) out.push_back(c);
  return out;
}

bool Registry::wait_until(const std::function<bool(const View&)>& ready,
                          std::chrono::steady_clock::time_point deadline) const {
  std::shared_lock lock(mutex_);
  const View view(*this);
  return committed_cv_.wait_until(lock, deadline, [&] { return ready(view); });
}

Registry::Change::Change(Registry& registry) : registry_(registry), lock_(registry.mutex_) {}

Registry::Change::~Change() = default;

std::optional<SandboxRecord> Registry::Change::sandbox(const std::string& id) const {
  if (const auto it = sandboxes_.find(id); it != sandboxes_.end()) return it->second;
  if (const auto* s = View(registry_).sandbox(id)) return *s;
  return std::nullopt;
}

std::optional<ContainerRecord> Registry::Change::container(const std::string& id) const {
  if (const auto it = containers_.find(id); it != containers_.end()) return it->second;
  if (const auto* c = View(registry_).container(id)) return *c;
  return std::nullopt;
}

std::vector<ContainerRecord> Registry::Change::containers_of(const std::string& sandbox_id) const {
  std::vector<ContainerRecord> out;
  for (const auto* c : View(registry_).containers_of(sandbox_id)) {
    if (containers_.count(c->id)) continue;  // staged version below wins
    out.push_back(*c);
  }
  for (const auto& [id, staged] : containers_)
    if (staged && staged->sandbox_id == sandbox_id) out.push_back(*staged);
  return out;
}

void Registry::Change::put(SandboxRecord record) {
  record.updated_at = now_ns();
  const std::string id = record.id;
  sandboxes_[id] = std::move(record);
}

void Registry::Change::put(ContainerRecord record) {
  record.updated_at = now_ns();
  const std::string id = record.id;
  containers_[id] = std::move(record);
}

void Registry::Change::erase_sandbox(const std::string& id) { sandboxes_[id] = std::nullopt; }

void Registry::Change::erase_container(const std::string& id) { containers_[id] = std::nullopt; }

void Registry::Change::log(ReconcileEvent event) {
  if (event.at == 0) event.at = now_ns();
  events_.push_back(std::move(event));
}

void Registry::Change::commit() {
  if (committed_) return;
  Store& store = registry_.store_;
  {
    Store::Transaction txn(store);
    // Containers are erased before their sandbox and sandboxes inserted before their containers,
    // so foreign keys hold at every statement.
    for (const auto& [id, c] : containers_)
      if (!c && registry_.containers_.count(id)) store.delete_container(id);
    for (const auto& [id, s] : sandboxes_) {
      if (!s) {
        if (registry_.sandboxes_.count(id)) store.delete_sandbox(id);
      } else if (registry_.sandboxes_.count(id)) {
        store.update_sandbox(*s);
      } else {
        store.insert_sandbox(*s);
      }
    }
    for (const auto& [id, c] : containers_) {
      if (!c) continue;
      if (registry_.containers_.count(id))
        store.update_container(*c);
      else
        store.insert_container(*c);
    }
    for (const auto& e : events_) store.append_event(e);
    txn.commit();
  }
  // Observed transitions, computed against the state before this change.
  std::vector<ContainerTransition> transitions;
  for (const auto& [id, c] : containers_) {
    const auto before = registry_.containers_.find(id);
    const auto old_state =
        before == registry_.containers_.end() ? ContainerObserved::Unknown : before->second.observed_state;
    std::optional<ContainerTransition::Kind> kind;
    // Deleted when the container is removed for CRI (records.h), not when the record goes later.
    const bool was_removed = before != registry_.containers_.end() && removed_for_cri(before->second);
    if (!c) {
      if (before != registry_.containers_.end() && !was_removed) kind = ContainerTransition::Kind::Deleted;
    } else if (removed_for_cri(*c)) {
      if (!was_removed) kind = ContainerTransition::Kind::Deleted;
    } else if (c->observed_state != old_state) {
      if (c->observed_state == ContainerObserved::Created) kind = ContainerTransition::Kind::Created;
      if (c->observed_state == ContainerObserved::Running) kind = ContainerTransition::Kind::Started;
      if (c->observed_state == ContainerObserved::Exited) kind = ContainerTransition::Kind::Stopped;
    }
    if (!kind) continue;
    const ContainerRecord& record = c ? *c : before->second;
    std::optional<SandboxRecord> sandbox;
    if (const auto staged = sandboxes_.find(record.sandbox_id); staged != sandboxes_.end())
      sandbox = staged->second;
    else if (const auto* s = View(registry_).sandbox(record.sandbox_id))
      sandbox = *s;
    transitions.push_back({*kind, record, sandbox});
  }
  for (auto& [id, s] : sandboxes_) {
    if (const auto old = registry_.sandboxes_.find(id); old != registry_.sandboxes_.end()) {
      registry_.unindex(old->second);
      if (!s) registry_.sandboxes_.erase(old);
    }
    if (s) {
      registry_.index(*s);
      registry_.sandboxes_[id] = std::move(*s);
    }
  }
  for (auto& [id, c] : containers_) {
    if (const auto old = registry_.containers_.find(id); old != registry_.containers_.end()) {
      registry_.unindex(old->second);
      if (!c) registry_.containers_.erase(old);
    }
    if (c) {
      registry_.index(*c);
      registry_.containers_[id] = std::move(*c);
    }
  }
  committed_ = true;
  lock_.unlock();
  if (!transitions.empty()) registry_.publish(std::move(transitions));
  registry_.committed_cv_.notify_all();
}

}  // namespace lxe::store

namespace lxe::store {

std::unique_ptr<Registry::Subscription> Registry::subscribe() const {
  auto subscription = std::make_unique<Subscription>(SubscriptionKey{}, *this);
  std::lock_guard lock(subscribers_mutex_);
  subscribers_.push_back(subscription.get());
  return subscription;
}

Registry::Subscription::~Subscription() {
  std::lock_guard lock(registry_.subscribers_mutex_);
  auto& subs = registry_.subscribers_;
  subs.erase(std::remove(subs.begin(), subs.end(), this), subs.end());
}

void Registry::Subscription::push(ContainerTransition transition) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) queue_.pop_front();
    queue_.push_back(std::move(transition));
  }
  ready_.notify_one();
}

std::optional<ContainerTransition> Registry::Subscription::next(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!ready_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) return std::nullopt;
  ContainerTransition t = std::move(queue_.front());
  queue_.pop_front();
  return t;
}

void Registry::publish(std::vector<ContainerTransition> transitions) const {
  std::lock_guard lock(subscribers_mutex_);
  for (auto* subscriber : subscribers_)
    for (const auto& t : transitions) subscriber->push(t);
}

}  // namespace lxe::store
