// The store's records held in memory, in front of SQLite.
//
// Reads (every List* and *Status RPC, the reconciler's bookkeeping) come from memory and never
// touch SQLite or LXD. Writes go through a Change: it stages records against the current state,
// and commit() writes them to SQLite in one transaction first and only then to memory, so memory
// never shows what the database does not hold. Every commit wakes the threads waiting in
// wait_until(), which is how synchronous CRI calls learn that the reconciler got somewhere.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/store.h"

namespace lxe::store {

// A container's observed lifecycle moving on, as CRI's GetContainerEvents reports it.
struct ContainerTransition {
  enum class Kind { Created, Started, Stopped, Deleted };
  Kind kind;
  ContainerRecord container;  // as it is after the change (before, for Deleted)
  std::optional<SandboxRecord> sandbox;
};

class Registry {
  // Only the Registry can make a Subscription (passkey: its constructor needs this private type).
  struct SubscriptionKey {
    explicit SubscriptionKey() = default;
  };

 public:
  // A queue of container transitions for one reader (a GetContainerEvents stream). Only
  // transitions committed while it exists are queued; a reader too slow to keep up loses the
  // oldest beyond `kMaxQueued` (kubelet relists anyway).
  class Subscription {
   public:
    static constexpr size_t kMaxQueued = 10000;
    Subscription(SubscriptionKey, const Registry& registry) : registry_(registry) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    // The next transition, or nullopt when none came before `deadline`.
    std::optional<ContainerTransition> next(std::chrono::steady_clock::time_point deadline);

   private:
    friend class Registry;
    void push(ContainerTransition transition);
    const Registry& registry_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<ContainerTransition> queue_;
  };
  std::unique_ptr<Subscription> subscribe() const;

  // Loads every record from `store`.
  explicit Registry(Store& store);

  std::optional<SandboxRecord> sandbox(const std::string& id) const;
  std::vector<SandboxRecord> sandboxes() const;
  std::optional<ContainerRecord> container(const std::string& id) const;
  std::vector<ContainerRecord> containers() const;
  std::vector<ContainerRecord> containers_of(const std::string& sandbox_id) const;
  // IDs (of kind `kind`) that start with `prefix`, in order; an exact match among them comes
  // first. Looks at the matching range of the ID-ordered map only: no record is copied.
  std::vector<std::string> ids_with_prefix(ObjectKind kind, const std::string& prefix) const;
  // The record whose LXD object is `lxd_name` (a pod's profile and holder share its name), found
  // by index: LXD events name objects, and come in bursts.
  struct Named {
    ObjectKind kind;
    std::string id;
  };
  std::optional<Named> by_lxd_name(const std::string& lxd_name) const;
  // Calls `fn` with every record, in ID order, under the read lock and without copying them (the
  // List RPCs: copying 1000 container records cost more than building the answer). `fn` must not
  // call back into the registry.
  void for_each_sandbox(const std::function<void(const SandboxRecord&)>& fn) const;
  void for_each_container(const std::function<void(const ContainerRecord&)>& fn) const;

  // Staged writes, applied all together or not at all. Holds the registry's write lock for its
  // lifetime, so what it reads cannot change under it: check-then-write is atomic.
  class Change {
   public:
    explicit Change(Registry& registry);
    ~Change();  // discards what was not committed
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;

    // The current record, including what this change staged.
    std::optional<SandboxRecord> sandbox(const std::string& id) const;
    std::optional<ContainerRecord> container(const std::string& id) const;
    std::vector<ContainerRecord> containers_of(const std::string& sandbox_id) const;
    const std::map<std::string, SandboxRecord>& all_sandboxes() const { return registry_.sandboxes_; }
    const std::map<std::string, ContainerRecord>& all_containers() const { return registry_.containers_; }

    void put(SandboxRecord record);    // insert or update; sets updated_at
    void put(ContainerRecord record);
    void erase_sandbox(const std::string& id);
    void erase_container(const std::string& id);
    void log(ReconcileEvent event);    // appended to the reconcile event log with the change
    // Whether nothing has been staged (put, erased or logged) yet.
    bool empty() const { return sandboxes_.empty() && containers_.empty() && events_.empty(); }

    // Writes everything to SQLite in one transaction, then to memory, then wakes waiters.
    // Throws StoreError; memory is unchanged when it does.
    void commit();

   private:
    Registry& registry_;
    std::unique_lock<std::shared_mutex> lock_;
    std::map<std::string, std::optional<SandboxRecord>> sandboxes_;      // nullopt: erase
    std::map<std::string, std::optional<ContainerRecord>> containers_;
    std::vector<ReconcileEvent> events_;
    bool committed_ = false;
  };

  // Read access to the records while a lock is held (by wait_until): no copies, no locking.
  class View {
   public:
    const SandboxRecord* sandbox(const std::string& id) const;
    const ContainerRecord* container(const std::string& id) const;
    std::vector<const ContainerRecord*> containers_of(const std::string& sandbox_id) const;

   private:
    friend class Registry;
    explicit View(const Registry& registry) : registry_(registry) {}
    const Registry& registry_;
  };

  // Blocks until `ready(view)` (evaluated under the read lock, now and after every commit) is
  // true, or until `deadline`. Returns whether it became true.
  bool wait_until(const std::function<bool(const View&)>& ready,
                  std::chrono::steady_clock::time_point deadline) const;

  // The reconcile event log, for readers (lxe-ctl, tests).
  std::vector<ReconcileEvent> events(const EventQuery& query) const { return store_.list_events(query); }

 private:
  void publish(std::vector<ContainerTransition> transitions) const;
  // Keeps the indexes below in step with the maps (under the write lock).
  void index(const SandboxRecord& s);
  void index(const ContainerRecord& c);
  void unindex(const SandboxRecord& s);
  void unindex(const ContainerRecord& c);

  Store& store_;
  mutable std::mutex subscribers_mutex_;
  mutable std::vector<Subscription*> subscribers_;
  mutable std::shared_mutex mutex_;
  mutable std::condition_variable_any committed_cv_;
  std::map<std::string, SandboxRecord> sandboxes_;
  std::map<std::string, ContainerRecord> containers_;
  // Indexes: LXD name -> record, sandbox ID -> its containers' IDs.
  std::map<std::string, Named> by_lxd_name_;
  std::map<std::string, std::set<std::string>> containers_by_sandbox_;
};

}  // namespace lxe::store
