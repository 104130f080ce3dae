// The store: lxe's SQLite database, the source of truth for CRI identity and desired state.
//
// One Store is one connection. Its methods are safe to call from several threads (they serialise
// on the connection). A Transaction groups several calls into one atomic write; calls made on the
// same thread while it is open join it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/records.h"

namespace SQLite {
class Database;
class Transaction;
}  // namespace SQLite

namespace lxe::store {

class Store {
 public:
  enum class Mode {
    ReadWrite,  // lxe: creates the file and its directory if missing, migrates
    ReadOnly,   // lxe-ctl: never writes, never migrates; refuses a database not at this version
  };

  // Opens (and for ReadWrite creates and migrates) the database at `path`. Throws StoreError:
  // Open when it cannot be opened, NewerSchema when a newer lxe wrote it (it is then untouched).
  Store(const std::string& path, Mode mode);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  int schema_version();

  class Transaction {
   public:
    explicit Transaction(Store& store);
    ~Transaction();  // rolls back unless committed
    void commit();

   private:
    std::unique_lock<std::recursive_mutex> lock_;
    std::unique_ptr<SQLite::Transaction> txn_;
  };

  // Pod sandboxes.
  void insert_sandbox(const SandboxRecord& record);  // AlreadyExists on a taken ID or identity
  void update_sandbox(const SandboxRecord& record);  // NotFound when the ID is unknown
  void delete_sandbox(const std::string& id);        // NotFound; refuses while containers remain
  std::optional<SandboxRecord> find_sandbox(const std::string& id);
  std::vector<SandboxRecord> list_sandboxes();

  // Containers.
  void insert_container(const ContainerRecord& record);
  void update_container(const ContainerRecord& record);
  void delete_container(const std::string& id);
  std::optional<ContainerRecord> find_container(const std::string& id);
  std::vector<ContainerRecord> list_containers();
  std::vector<ContainerRecord> list_containers_of(const std::string& sandbox_id);

  // Images lxe pulled. put_image inserts or replaces the row of record.id.
  void put_image(const ImageRecord& record);
  void delete_image(const std::string& id);  // no error when it is not there
  std::vector<ImageRecord> list_images();

  // The reconcile event log. Returns the new event's seq.
  int64_t append_event(const ReconcileEvent& event);
  std::vector<ReconcileEvent> list_events(const EventQuery& query);

 private:
  std::string path_;
  std::recursive_mutex mutex_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace lxe::store
