#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/migrations.h"
#include "store/store.h"
#include "support/temp_dir.h"

using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::EventOutcome;
using lxe::store::ObjectKind;
using lxe::store::ReconcileEvent;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::store::Store;
using lxe::store::StoreError;
using lxe::test::TempDir;

namespace {

SandboxRecord sample_sandbox(const std::string& id, const std::string& name = "web") {
  SandboxRecord r;
  r.id = id;
  r.name = name;
  r.namespace_ = "default";
  r.uid = "uid-" + name;
  r.attempt = 0;
  r.lxd_name = "lxe-" + id.substr(0, 12);
  r.labels = {{"app", "web"}, {"tier", "front"}};
  r.annotations = {{"note", "a \"quoted\" value"}};
  r.config_json = R"({"metadata":{"name":")" + name + R"("}})";
  r.created_at = 1700000000123456789;
  r.updated_at = r.created_at;
  return r;
}

ContainerRecord sample_container(const std::string& id, const std::string& sandbox_id) {
  ContainerRecord r;
  r.id = id;
  r.sandbox_id = sandbox_id;
  r.name = "app";
  r.lxd_name = "lxe-" + id.substr(0, 12);
  r.image = "busybox";
  r.config_json = R"({"metadata":{"name":"app"}})";
  r.log_path = "/var/log/pods/x/app/0.log";
  r.created_at = 1700000000223456789;
  r.updated_at = r.created_at;
  return r;
}

int64_t count_rows(const std::string& db_path, const std::string& table) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM " + table).getInt64();
}

}  // namespace

TEST_CASE("store: a new database is created in WAL mode at the latest schema version", "[store]") {
  TempDir dir;
  const std::string path = dir.file("sub/dir/lxe.db");
  {
    Store store(path, Store::Mode::ReadWrite);
    CHECK(store.schema_version() == lxe::store::latest_schema_version());
  }
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == lxe::store::latest_schema_version());
}

TEST_CASE("store: sandbox records round-trip every field", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  SandboxRecord in = sample_sandbox(std::string(64, 'a'));
  in.runtime_handler = "lxe";
  in.desired_state = SandboxState::NotReady;
  in.observed_state = lxe::store::SandboxObserved::Ready;
  in.generation = 4;
  in.observed_generation = 3;
  in.last_error = "LXD said no";
  in.resources_json = R"({"memoryLimitInBytes":"268435456"})";
  store.insert_sandbox(in);

  const auto out = store.find_sandbox(in.id);
  REQUIRE(out);
  CHECK(out->id == in.id);
  CHECK(out->name == in.name);
  CHECK(out->namespace_ == in.namespace_);
  CHECK(out->uid == in.uid);
  CHECK(out->attempt == in.attempt);
  CHECK(out->lxd_name == in.lxd_name);
  CHECK(out->runtime_handler == "lxe");
  CHECK(out->labels == in.labels);
  CHECK(out->annotations == in.annotations);
  CHECK(out->config_json == in.config_json);
  CHECK(out->created_at == in.created_at);
  CHECK(out->desired_state == SandboxState::NotReady);
  CHECK(out->observed_state == lxe::store::SandboxObserved::Ready);
  CHECK(out->generation == 4);
  CHECK(out->observed_generation == 3);
  CHECK(out->last_error == "LXD said no");
  CHECK(out->resources_json == in.resources_json);
  CHECK_FALSE(store.find_sandbox(std::string(64, 'b')));
}

TEST_CASE("store: a duplicate sandbox ID or identity is refused and the first record kept", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  const SandboxRecord first = sample_sandbox(std::string(64, 'a'));
  store.insert_sandbox(first);

  SandboxRecord same_id = sample_sandbox(std::string(64, 'a'), "other");
  same_id.lxd_name = "lxe-other";
  try {
    store.insert_sandbox(same_id);
    FAIL("duplicate ID accepted");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::AlreadyExists);
  }

  SandboxRecord same_identity = sample_sandbox(std::string(64, 'c'));  // same name/ns/uid/attempt
  same_identity.lxd_name = "lxe-third";
  CHECK_THROWS_MATCHES(store.insert_sandbox(same_identity), StoreError,
                       Catch::Predicate<StoreError>([](const StoreError& e) {
                         return e.kind() == StoreError::Kind::AlreadyExists;
                       }));

  const auto all = store.list_sandboxes();
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == first.name);
}

TEST_CASE("store: updates change desired and observed state but never identity", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  SandboxRecord r = sample_sandbox(std::string(64, 'a'));
  store.insert_sandbox(r);

  r.desired_state = SandboxState::NotReady;
  r.generation = 2;
  r.last_error = "boom";
  store.update_sandbox(r);
  CHECK(store.find_sandbox(r.id)->desired_state == SandboxState::NotReady);
  CHECK(store.find_sandbox(r.id)->generation == 2);
  r.resources_json = R"({"cpuQuota":"50000"})";  // UpdatePodSandboxResources
  store.update_sandbox(r);
  CHECK(store.find_sandbox(r.id)->resources_json == r.resources_json);

  SandboxRecord renamed = r;
  renamed.name = "changed";
  CHECK_THROWS_AS(store.update_sandbox(renamed), StoreError);
  CHECK(store.find_sandbox(r.id)->name == "web");

  SandboxRecord unknown = sample_sandbox(std::string(64, 'f'));
  try {
    store.update_sandbox(unknown);
    FAIL("update of an unknown sandbox accepted");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::NotFound);
  }
}

TEST_CASE("store: containers belong to an existing sandbox and block its removal", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  const SandboxRecord sandbox = sample_sandbox(std::string(64, 'a'));
  store.insert_sandbox(sandbox);

  ContainerRecord c = sample_container(std::string(64, '1'), sandbox.id);
  c.resources_json = R"({"memory_limit_in_bytes":"67108864"})";
  store.insert_container(c);

  // A container of a sandbox that does not exist violates the foreign key.
  ContainerRecord orphan = sample_container(std::string(64, '2'), std::string(64, 'e'));
  orphan.lxd_name = "lxe-orphan";
  CHECK_THROWS_AS(store.insert_container(orphan), StoreError);
  CHECK(count_rows(dir.file("lxe.db"), "containers") == 1);

  CHECK_THROWS_AS(store.delete_sandbox(sandbox.id), StoreError);
  CHECK(store.find_sandbox(sandbox.id));

  c.desired_state = ContainerState::Exited;
  c.observed_state = ContainerObserved::Exited;
  c.exit_code = 3;
  c.reason = "Error";
  c.finished_at = c.created_at + 5;
  store.update_container(c);
  const auto out = store.find_container(c.id);
  REQUIRE(out);
  CHECK(out->exit_code == 3);
  CHECK(out->reason == "Error");
  CHECK(out->desired_state == ContainerState::Exited);
  CHECK(out->resources_json == c.resources_json);
  CHECK(store.list_containers_of(sandbox.id).size() == 1);
  CHECK(store.list_containers_of(std::string(64, 'e')).empty());

  store.delete_container(c.id);
  CHECK_FALSE(store.find_container(c.id));
  store.delete_sandbox(sandbox.id);
  CHECK(store.list_sandboxes().empty());
  CHECK_THROWS_AS(store.delete_sandbox(sandbox.id), StoreError);
}

TEST_CASE("store: a transaction is all or nothing", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  const SandboxRecord sandbox = sample_sandbox(std::string(64, 'a'));
  {
    Store::Transaction txn(store);
    store.insert_sandbox(sandbox);
    store.insert_container(sample_container(std::string(64, '1'), sandbox.id));
    // No commit: both writes are rolled back.
  }
  CHECK(store.list_sandboxes().empty());
  CHECK(store.list_containers().empty());
  {
    Store::Transaction txn(store);
    store.insert_sandbox(sandbox);
    store.insert_container(sample_container(std::string(64, '1'), sandbox.id));
    txn.commit();
  }
  CHECK(store.list_sandboxes().size() == 1);
  CHECK(store.list_containers().size() == 1);
}

TEST_CASE("store: the reconcile event log is append-only and queryable", "[store]") {
  TempDir dir;
  Store store(dir.file("lxe.db"), Store::Mode::ReadWrite);
  ReconcileEvent e;
  e.at = 100;
  e.object_kind = ObjectKind::Sandbox;
  e.object_id = "s1";
  e.generation = 1;
  e.action = "create-profile";
  e.outcome = EventOutcome::Ok;
  const int64_t first = store.append_event(e);
  e.at = 200;
  e.object_kind = ObjectKind::Container;
  e.object_id = "c1";
  e.action = "start-instance";
  e.outcome = EventOutcome::Error;
  e.detail = "LXD: not found";
  const int64_t second = store.append_event(e);
  CHECK(second > first);

  CHECK(store.list_events({}).size() == 2);
  const auto for_c1 = store.list_events({.object_id = std::string("c1")});
  REQUIRE(for_c1.size() == 1);
  CHECK(for_c1[0].action == "start-instance");
  CHECK(for_c1[0].outcome == EventOutcome::Error);
  CHECK(for_c1[0].detail == "LXD: not found");
  CHECK(for_c1[0].object_kind == ObjectKind::Container);
  CHECK(store.list_events({.after_seq = first}).size() == 1);
  CHECK(store.list_events({.since_ns = 150}).size() == 1);

  // Rows cannot be rewritten behind the log's back.
  SQLite::Database raw(dir.file("lxe.db"), SQLite::OPEN_READWRITE);
  CHECK_THROWS_AS(raw.exec("UPDATE reconcile_events SET outcome = 'ok'"), SQLite::Exception);
}

TEST_CASE("store: a database written by a newer lxe is refused and left unchanged", "[store]") {
  TempDir dir;
  const std::string path = dir.file("lxe.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE future (x)");
    db.exec("PRAGMA user_version = " + std::to_string(lxe::store::latest_schema_version() + 1));
  }
  const auto size_before = std::filesystem::file_size(path);
  const auto mtime_before = std::filesystem::last_write_time(path);

  for (const auto mode : {Store::Mode::ReadWrite, Store::Mode::ReadOnly}) {
    try {
      Store store(path, mode);
      FAIL("a newer database was opened");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreError::Kind::NewerSchema);
      CHECK_THAT(e.what(), Catch::Contains("newer lxe"));
    }
  }
  CHECK(std::filesystem::file_size(path) == size_before);
  CHECK(std::filesystem::last_write_time(path) == mtime_before);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == lxe::store::latest_schema_version() + 1);
  CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "delete");
  CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name = 'pod_sandboxes'").getInt() == 0);
}

TEST_CASE("store: read-only mode never writes", "[store]") {
  TempDir dir;
  const std::string path = dir.file("lxe.db");
  CHECK_THROWS_AS(Store(path, Store::Mode::ReadOnly), StoreError);  // no file: not created
  CHECK_FALSE(std::filesystem::exists(path));
  {
    Store writer(path, Store::Mode::ReadWrite);
    writer.insert_sandbox(sample_sandbox(std::string(64, 'a')));
  }
  Store reader(path, Store::Mode::ReadOnly);
  CHECK(reader.list_sandboxes().size() == 1);
  CHECK_THROWS_AS(reader.insert_sandbox(sample_sandbox(std::string(64, 'b'), "other")), StoreError);
  CHECK(reader.list_sandboxes().size() == 1);
}

TEST_CASE("store: a path that cannot hold a database gives a clear error", "[store]") {
  TempDir dir;
  lxe::test::write_file(dir.file("plain-file"), "not a directory");
  try {
    Store store(dir.file("plain-file/lxe.db"), Store::Mode::ReadWrite);
    FAIL("opened a store under a regular file");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::Open);
    CHECK_THAT(e.what(), Catch::Contains("plain-file"));
  }
  lxe::test::write_file(dir.file("garbage.db"), std::string(4096, 'x'));
  CHECK_THROWS_AS(Store(dir.file("garbage.db"), Store::Mode::ReadWrite), StoreError);
}
