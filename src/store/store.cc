#include "store/store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/migrations.h"

namespace lxe::store {
namespace {

// How long a writer waits for a lock held by another connection (lxe-ctl's reads never hold one
// in WAL mode, so this only matters for a second writer, which lxe refuses anyway).
constexpr int kBusyTimeoutMs = 5000;

[[noreturn]] void rethrow_sql(const SQLite::Exception& e, const std::string& what) {
  const int code = e.getErrorCode();
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    throw StoreError(StoreError::Kind::Busy, what + ": the store is locked by another process (" + e.what() + ")");
  if (code == SQLITE_CONSTRAINT && (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY ||
                                    e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE))
    throw StoreError(StoreError::Kind::AlreadyExists, what + ": " + e.what());
  throw StoreError(StoreError::Kind::Sql, what + ": " + e.what());
}

// Runs `fn` and turns SQLiteCpp's exceptions into the store's own.
template <typename Fn>
auto guarded(const std::string& what, Fn&& fn) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    rethrow_sql(e, what);
  }
}

void bind_sandbox(SQLite::Statement& st, const SandboxRecord& r) {
  st.bind(":id", r.id);
  st.bind(":name", r.name);
  st.bind(":namespace", r.namespace_);
  st.bind(":uid", r.uid);
  st.bind(":attempt", static_cast<int64_t>(r.attempt));
  st.bind(":lxd_name", r.lxd_name);
  st.bind(":runtime_handler", r.runtime_handler);
  st.bind(":labels_json", to_json(r.labels));
  st.bind(":annotations_json", to_json(r.annotations));
  st.bind(":config_json", r.config_json);
  st.bind(":infra_pid", r.infra_pid);
  st.bind(":created_at", r.created_at);
  st.bind(":desired_state", std::string(to_string(r.desired_state)));
  st.bind(":observed_state", std::string(to_string(r.observed_state)));
  st.bind(":generation", r.generation);
  st.bind(":observed_generation", r.observed_generation);
  st.bind(":last_error", r.last_error);
  st.bind(":last_error_kind", std::string(to_string(r.last_error_kind)));
  st.bind(":updated_at", r.updated_at);
  st.bind(":pod_network", r.pod_network);
  st.bind(":pod_ip", r.pod_ip);
  st.bind(":cni_network", r.cni_network);
  st.bind(":cni_state", r.cni_state);
  st.bind(":cni_result", r.cni_result);
  st.bind(":resources_json", r.resources_json);
  st.bind(":pod_namespaces", std::string(to_string(r.pod_namespaces)));
  st.bind(":pinned_netns", r.pinned_netns);
}

SandboxRecord sandbox_fields(SQLite::Statement& st) {
  SandboxRecord r;
  r.id = st.getColumn("id").getString();
  r.name = st.getColumn("name").getString();
  r.namespace_ = st.getColumn("namespace").getString();
  r.uid = st.getColumn("uid").getString();
  r.attempt = static_cast<uint32_t>(st.getColumn("attempt").getInt64());
  r.lxd_name = st.getColumn("lxd_name").getString();
  r.runtime_handler = st.getColumn("runtime_handler").getString();
  r.labels = string_map_from_json(st.getColumn("labels_json").getString());
  r.annotations = string_map_from_json(st.getColumn("annotations_json").getString());
  r.config_json = st.getColumn("config_json").getString();
  r.infra_pid = st.getColumn("infra_pid").getInt64();
  r.created_at = st.getColumn("created_at").getInt64();
  r.desired_state = parse_sandbox_state(st.getColumn("desired_state").getString());
  r.observed_state = parse_sandbox_observed(st.getColumn("observed_state").getString());
  r.generation = st.getColumn("generation").getInt64();
  r.observed_generation = st.getColumn("observed_generation").getInt64();
  r.last_error = st.getColumn("last_error").getString();
  r.last_error_kind = parse_failure_kind(st.getColumn("last_error_kind").getString());
  r.updated_at = st.getColumn("updated_at").getInt64();
  r.pod_network = st.getColumn("pod_network").getString();
  r.pod_ip = st.getColumn("pod_ip").getString();
  r.cni_network = st.getColumn("cni_network").getString();
  r.cni_state = st.getColumn("cni_state").getString();
  r.cni_result = st.getColumn("cni_result").getString();
  r.resources_json = st.getColumn("resources_json").getString();
  r.pod_namespaces = parse_pod_namespaces(st.getColumn("pod_namespaces").getString());
  r.pinned_netns = st.getColumn("pinned_netns").getInt64();
  return r;
}

void bind_container(SQLite::Statement& st, const ContainerRecord& r) {
  st.bind(":id", r.id);
  st.bind(":sandbox_id", r.sandbox_id);
  st.bind(":name", r.name);
  st.bind(":attempt", static_cast<int64_t>(r.attempt));
  st.bind(":lxd_name", r.lxd_name);
  st.bind(":image", r.image);
  st.bind(":image_ref", r.image_ref);
  st.bind(":image_id", r.image_id);
  st.bind(":image_defaults", r.image_defaults);
  st.bind(":seccomp_profile", r.seccomp_profile);
  st.bind(":process_user", r.process_user);
  st.bind(":labels_json", to_json(r.labels));
  st.bind(":annotations_json", to_json(r.annotations));
  st.bind(":config_json", r.config_json);
  st.bind(":resources_json", r.resources_json);
  st.bind(":log_path", r.log_path);
  st.bind(":stop_timeout", r.stop_timeout);
  st.bind(":created_at", r.created_at);
  st.bind(":started_at", r.started_at);
  st.bind(":finished_at", r.finished_at);
  st.bind(":exit_code", r.exit_code);
  st.bind(":reason", r.reason);
  st.bind(":message", r.message);
  st.bind(":desired_state", std::string(to_string(r.desired_state)));
  st.bind(":observed_state", std::string(to_string(r.observed_state)));
  st.bind(":generation", r.generation);
  st.bind(":observed_generation", r.observed_generation);
  st.bind(":last_error", r.last_error);
  st.bind(":last_error_kind", std::string(to_string(r.last_error_kind)));
  st.bind(":updated_at", r.updated_at);
}

ContainerRecord container_fields(SQLite::Statement& st) {
  ContainerRecord r;
  r.id = st.getColumn("id").getString();
  r.sandbox_id = st.getColumn("sandbox_id").getString();
  r.name = st.getColumn("name").getString();
  r.attempt = static_cast<uint32_t>(st.getColumn("attempt").getInt64());
  r.lxd_name = st.getColumn("lxd_name").getString();
  r.image = st.getColumn("image").getString();
  r.image_ref = st.getColumn("image_ref").getString();
  r.image_id = st.getColumn("image_id").getString();
  r.image_defaults = st.getColumn("image_defaults").getString();
  r.seccomp_profile = st.getColumn("seccomp_profile").getString();
  r.process_user = st.getColumn("process_user").getString();
  r.labels = string_map_from_json(st.getColumn("labels_json").getString());
  r.annotations = string_map_from_json(st.getColumn("annotations_json").getString());
  r.config_json = st.getColumn("config_json").getString();
  r.resources_json = st.getColumn("resources_json").getString();
  r.log_path = st.getColumn("log_path").getString();
  r.stop_timeout = st.getColumn("stop_timeout").getInt64();
  r.created_at = st.getColumn("created_at").getInt64();
  r.started_at = st.getColumn("started_at").getInt64();
  r.finished_at = st.getColumn("finished_at").getInt64();
  r.exit_code = st.getColumn("exit_code").getInt();
  r.reason = st.getColumn("reason").getString();
  r.message = st.getColumn("message").getString();
  r.desired_state = parse_container_state(st.getColumn("desired_state").getString());
  r.observed_state = parse_container_observed(st.getColumn("observed_state").getString());
  r.generation = st.getColumn("generation").getInt64();
  r.observed_generation = st.getColumn("observed_generation").getInt64();
  r.last_error = st.getColumn("last_error").getString();
  r.last_error_kind = parse_failure_kind(st.getColumn("last_error_kind").getString());
  r.updated_at = st.getColumn("updated_at").getInt64();
  return r;
}

// A row that cannot be read (malformed JSON, an unknown state) is an error that names its record:
// an operator must be able to find it, and no caller may take it for an empty value.
template <typename Read>
auto read_record(SQLite::Statement& st, const char* kind, Read&& read) {
  try {
    return read(st);
  } catch (const StoreError& e) {
    throw StoreError(e.kind(), std::string(kind) + " " + st.getColumn("id").getString() + ": " + e.what());
  }
}

SandboxRecord sandbox_from_row(SQLite::Statement& st) { return read_record(st, "pod sandbox", sandbox_fields); }
ContainerRecord container_from_row(SQLite::Statement& st) { return read_record(st, "container", container_fields); }

constexpr const char* kInsertSandbox =
    "INSERT INTO pod_sandboxes (id, name, namespace, uid, attempt, lxd_name, runtime_handler, "
    "labels_json, annotations_json, config_json, infra_pid, created_at, desired_state, observed_state, "
    "generation, observed_generation, last_error, last_error_kind, updated_at, pod_network, pod_ip, cni_network, cni_state, cni_result, resources_json, pod_namespaces, pinned_netns) "
    "VALUES (:id, "
    ":name, :namespace, :uid, :attempt, :lxd_name, :runtime_handler, :labels_json, :annotations_json, :config_json, "
    ":infra_pid, :created_at, :desired_state, :observed_state, :generation, :observed_generation, :last_error, "
    ":last_error_kind, :updated_at, :pod_network, :pod_ip, :cni_network, :cni_state, :cni_result, :resources_json, :pod_namespaces, :pinned_netns)";

// Identity columns never change: they are matched, not set, so an update that tries to change one
// finds no row.
constexpr const char* kUpdateSandbox =
    "UPDATE pod_sandboxes SET runtime_handler = :runtime_handler, labels_json = :labels_json, "
    "annotations_json = :annotations_json, config_json = :config_json, infra_pid = :infra_pid, "
    "desired_state = :desired_state, "
    "observed_state = :observed_state, generation = :generation, "
    "observed_generation = :observed_generation, last_error = :last_error, last_error_kind = :last_error_kind, updated_at = :updated_at, "
    "pod_ip = :pod_ip, cni_state = :cni_state, cni_result = :cni_result, resources_json = :resources_json, pinned_netns = :pinned_netns "
    "WHERE id = :id AND name = :name AND namespace = :namespace AND uid = :uid AND attempt = :attempt "
    "AND lxd_name = :lxd_name AND created_at = :created_at AND pod_network = :pod_network AND cni_network = :cni_network "
    "AND pod_namespaces = :pod_namespaces";

constexpr const char* kInsertContainer =
    "INSERT INTO containers (id, sandbox_id, name, attempt, lxd_name, image, image_ref, image_id, image_defaults, seccomp_profile, process_user, labels_json, "
    "annotations_json, config_json, resources_json, log_path, stop_timeout, created_at, started_at, finished_at, "
    "exit_code, reason, message, desired_state, observed_state, generation, observed_generation, "
    "last_error, last_error_kind, updated_at) VALUES (:id, :sandbox_id, :name, :attempt, :lxd_name, :image, "
    ":image_ref, :image_id, :image_defaults, :seccomp_profile, :process_user, :labels_json, :annotations_json, :config_json, :resources_json, :log_path, :stop_timeout, "
    ":created_at, :started_at, :finished_at, :exit_code, :reason, :message, :desired_state, "
    ":observed_state, :generation, :observed_generation, :last_error, :last_error_kind, :updated_at)";

constexpr const char* kUpdateContainer =
    "UPDATE containers SET image_ref = :image_ref, labels_json = :labels_json, "
    "annotations_json = :annotations_json, config_json = :config_json, "
    "resources_json = :resources_json, log_path = :log_path, stop_timeout = :stop_timeout, started_at = :started_at, "
    "finished_at = :finished_at, exit_code = :exit_code, reason = :reason, message = :message, "
    "desired_state = :desired_state, observed_state = :observed_state, generation = :generation, "
    "observed_generation = :observed_generation, last_error = :last_error, last_error_kind = :last_error_kind, updated_at = :updated_at, "
    "process_user = :process_user "
    "WHERE id = :id AND sandbox_id = :sandbox_id AND name = :name AND attempt = :attempt "
    "AND lxd_name = :lxd_name AND image = :image AND created_at = :created_at AND image_id = :image_id "
    "AND image_defaults = :image_defaults AND seccomp_profile = :seccomp_profile";

std::unique_ptr<SQLite::Database> open_database(const std::string& path, Store::Mode mode) {
  namespace fs = std::filesystem;
  if (mode == Store::Mode::ReadWrite) {
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !fs::exists(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec)
        throw StoreError(StoreError::Kind::Open, "cannot create the store's directory " + parent.string() +
                                                     ": " + ec.message());
      fs::permissions(parent, fs::perms::owner_all, ec);
    }
  } else if (!fs::exists(path)) {
    throw StoreError(StoreError::Kind::Open, "no store at " + path + " (is --db right? lxe creates it on its first start)");
  }
  const int flags = mode == Store::Mode::ReadWrite ? (SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE)
                                                   : SQLite::OPEN_READONLY;
  try {
    auto db = std::make_unique<SQLite::Database>(path, flags, kBusyTimeoutMs);
    // Touch the file so that a path that is not a database fails here, with a clear message.
    db->execAndGet("PRAGMA user_version");
    return db;
  } catch (const SQLite::Exception& e) {
    throw StoreError(StoreError::Kind::Open, "cannot open the store at " + path + ": " + e.what());
  }
}

}  // namespace

Store::Store(const std::string& path, Mode mode) : path_(path), db_(open_database(path, mode)) {
  guarded("opening the store at " + path, [&] {
    const int version = read_schema_version(*db_);
    const int latest = latest_schema_version();
    if (mode == Mode::ReadOnly) {
      if (version > latest)
        throw StoreError(StoreError::Kind::NewerSchema,
                         "store " + path + " has schema version " + std::to_string(version) +
                             " but this lxe-ctl only knows versions up to " + std::to_string(latest) +
                             ": it was written by a newer lxe; use the lxe-ctl of that version");
      if (version < latest)
        throw StoreError(StoreError::Kind::OlderSchema,
                         "store " + path + " has schema version " + std::to_string(version) +
                             "; start this version's lxe once to migrate it to " + std::to_string(latest));
      db_->exec("PRAGMA query_only = ON");
    } else {
      // Check the version before anything writes to the file: a newer database stays untouched.
      migrate(*db_, path);
      db_->exec("PRAGMA journal_mode = WAL");
      db_->exec("PRAGMA synchronous = NORMAL");
    }
    db_->exec("PRAGMA foreign_keys = ON");
  });
}

Store::~Store() = default;

int Store::schema_version() {
  std::lock_guard lock(mutex_);
  return guarded("reading the schema version", [&] { return read_schema_version(*db_); });
}

Store::Transaction::Transaction(Store& store) : lock_(store.mutex_) {
  guarded("beginning a transaction", [&] { txn_ = std::make_unique<SQLite::Transaction>(*store.db_); });
}

Store::Transaction::~Transaction() = default;

void Store::Transaction::commit() {
  guarded("committing a transaction", [&] { txn_->commit(); });
}

void Store::insert_sandbox(const SandboxRecord& record) {
  std::lock_guard lock(mutex_);
  guarded("storing pod sandbox " + record.id, [&] {
    SQLite::Statement st(*db_, kInsertSandbox);
    bind_sandbox(st, record);
    st.exec();
  });
}

namespace {

// An UPDATE matched no row: either the ID is unknown, or the caller tried to change identity.
[[noreturn]] void throw_update_miss(SQLite::Database& db, const char* table, const char* what,
                                    const std::string& id) {
  SQLite::Statement exists(db, std::string("SELECT 1 FROM ") + table + " WHERE id = ?");
  exists.bind(1, id);
  if (exists.executeStep())
    throw StoreError(StoreError::Kind::Sql, std::string("refusing to change the identity of ") + what + " " + id);
  throw StoreError(StoreError::Kind::NotFound, std::string("no ") + what + " " + id);
}

}  // namespace

void Store::update_sandbox(const SandboxRecord& record) {
  std::lock_guard lock(mutex_);
  guarded("updating pod sandbox " + record.id, [&] {
    SQLite::Statement st(*db_, kUpdateSandbox);
    bind_sandbox(st, record);
    if (st.exec() == 0) throw_update_miss(*db_, "pod_sandboxes", "pod sandbox", record.id);
  });
}

void Store::delete_sandbox(const std::string& id) {
  std::lock_guard lock(mutex_);
  guarded("removing pod sandbox " + id, [&] {
    SQLite::Statement count(*db_, "SELECT count(*) FROM containers WHERE sandbox_id = ?");
    count.bind(1, id);
    count.executeStep();
    if (const int n = count.getColumn(0).getInt(); n > 0)
      throw StoreError(StoreError::Kind::Sql, "pod sandbox " + id + " still has " + std::to_string(n) +
                                                  " container(s); remove them first");
    SQLite::Statement st(*db_, "DELETE FROM pod_sandboxes WHERE id = ?");
    st.bind(1, id);
    if (st.exec() == 0) throw StoreError(StoreError::Kind::NotFound, "no pod sandbox " + id);
  });
}

std::optional<SandboxRecord> Store::find_sandbox(const std::string& id) {
  std::lock_guard lock(mutex_);
  return guarded("reading pod sandbox " + id, [&]() -> std::optional<SandboxRecord> {
    SQLite::Statement st(*db_, "SELECT * FROM pod_sandboxes WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep()) return std::nullopt;
    return sandbox_from_row(st);
  });
}

std::vector<SandboxRecord> Store::list_sandboxes() {
  std::lock_guard lock(mutex_);
  return guarded("listing pod sandboxes", [&] {
    SQLite::Statement st(*db_, "SELECT * FROM pod_sandboxes ORDER BY created_at, id");
    std::vector<SandboxRecord> out;
    while (st.executeStep()) out.push_back(sandbox_from_row(st));
    return out;
  });
}

void Store::insert_container(const ContainerRecord& record) {
  std::lock_guard lock(mutex_);
  guarded("storing container " + record.id, [&] {
    SQLite::Statement st(*db_, kInsertContainer);
    bind_container(st, record);
    st.exec();
  });
}

void Store::update_container(const ContainerRecord& record) {
  std::lock_guard lock(mutex_);
  guarded("updating container " + record.id, [&] {
    SQLite::Statement st(*db_, kUpdateContainer);
    bind_container(st, record);
    if (st.exec() == 0) throw_update_miss(*db_, "containers", "container", record.id);
  });
}

void Store::delete_container(const std::string& id) {
  std::lock_guard lock(mutex_);
  guarded("removing container " + id, [&] {
    SQLite::Statement st(*db_, "DELETE FROM containers WHERE id = ?");
    st.bind(1, id);
    if (st.exec() == 0) throw StoreError(StoreError::Kind::NotFound, "no container " + id);
  });
}

std::optional<ContainerRecord> Store::find_container(const std::string& id) {
  std::lock_guard lock(mutex_);
  return guarded("reading container " + id, [&]() -> std::optional<ContainerRecord> {
    SQLite::Statement st(*db_, "SELECT * FROM containers WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep()) return std::nullopt;
    return container_from_row(st);
  });
}

std::vector<ContainerRecord> Store::list_containers() {
  std::lock_guard lock(mutex_);
  return guarded("listing containers", [&] {
    SQLite::Statement st(*db_, "SELECT * FROM containers ORDER BY created_at, id");
    std::vector<ContainerRecord> out;
    while (st.executeStep()) out.push_back(container_from_row(st));
    return out;
  });
}

std::vector<ContainerRecord> Store::list_containers_of(const std::string& sandbox_id) {
  std::lock_guard lock(mutex_);
  return guarded("listing containers of pod sandbox " + sandbox_id, [&] {
    SQLite::Statement st(*db_, "SELECT * FROM containers WHERE sandbox_id = ? ORDER BY created_at, id");
    st.bind(1, sandbox_id);
    std::vector<ContainerRecord> out;
    while (st.executeStep()) out.push_back(container_from_row(st));
    return out;
  });
}

void Store::put_image(const ImageRecord& r) {
  std::lock_guard lock(mutex_);
  guarded("storing image " + r.id, [&] {
    SQLite::Statement st(*db_,
                         "INSERT OR REPLACE INTO images (id, lxd_fingerprint, source, repo_tags, repo_digests, size, "
                         "defaults, pulled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, r.id);
    st.bind(2, r.lxd_fingerprint);
    st.bind(3, r.source);
    st.bind(4, to_json(r.repo_tags));
    st.bind(5, to_json(r.repo_digests));
    st.bind(6, r.size);
    st.bind(7, r.defaults);
    st.bind(8, r.pulled_at);
    st.exec();
  });
}

void Store::delete_image(const std::string& id) {
  std::lock_guard lock(mutex_);
  guarded("removing image " + id, [&] {
    SQLite::Statement st(*db_, "DELETE FROM images WHERE id = ?");
    st.bind(1, id);
    st.exec();
  });
}

std::vector<ImageRecord> Store::list_images() {
  std::lock_guard lock(mutex_);
  return guarded("listing images", [&] {
    SQLite::Statement st(*db_,
                         "SELECT id, lxd_fingerprint, source, repo_tags, repo_digests, size, defaults, pulled_at "
                         "FROM images ORDER BY pulled_at, id");
    std::vector<ImageRecord> out;
    while (st.executeStep()) {
      ImageRecord r;
      r.id = st.getColumn(0).getString();
      r.lxd_fingerprint = st.getColumn(1).getString();
      r.source = st.getColumn(2).getString();
      r.repo_tags = string_list_from_json(st.getColumn(3).getString());
      r.repo_digests = string_list_from_json(st.getColumn(4).getString());
      r.size = st.getColumn(5).getInt64();
      r.defaults = st.getColumn(6).getString();
      r.pulled_at = st.getColumn(7).getInt64();
      out.push_back(std::move(r));
    }
    return out;
  });
}

int64_t Store::append_event(const ReconcileEvent& event) {
  std::lock_guard lock(mutex_);
  return guarded("appending a reconcile event for " + event.object_id, [&] {
    SQLite::Statement st(*db_,
                         "INSERT INTO reconcile_events (at, object_kind, object_id, generation, action, "
                         "outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, event.at);
    st.bind(2, std::string(to_string(event.object_kind)));
    st.bind(3, event.object_id);
    st.bind(4, event.generation);
    st.bind(5, event.action);
    st.bind(6, std::string(to_string(event.outcome)));
    st.bind(7, event.detail);
    st.exec();
    return static_cast<int64_t>(db_->getLastInsertRowid());
  });
}

std::vector<ReconcileEvent> Store::list_events(const EventQuery& query) {
  std::lock_guard lock(mutex_);
  return guarded("reading the reconcile event log", [&] {
    std::string sql =
        "SELECT seq, at, object_kind, object_id, generation, action, outcome, detail FROM reconcile_events "
        "WHERE seq > :after AND at >= :since";
    if (query.object_id) sql += " AND object_id = :object_id";
    sql += " ORDER BY seq LIMIT :limit";
    SQLite::Statement st(*db_, sql);
    st.bind(":after", query.after_seq);
    st.bind(":since", query.since_ns);
    if (query.object_id) st.bind(":object_id", *query.object_id);
    st.bind(":limit", query.limit);
    std::vector<ReconcileEvent> out;
    while (st.executeStep()) {
      ReconcileEvent e;
      e.seq = st.getColumn(0).getInt64();
      e.at = st.getColumn(1).getInt64();
      e.object_kind = parse_object_kind(st.getColumn(2).getString());
      e.object_id = st.getColumn(3).getString();
      e.generation = st.getColumn(4).getInt64();
      e.action = st.getColumn(5).getString();
      e.outcome = parse_event_outcome(st.getColumn(6).getString());
      e.detail = st.getColumn(7).getString();
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace lxe::store
