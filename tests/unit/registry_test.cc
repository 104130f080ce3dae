// The in-memory registry over a real SQLite store: staged changes, atomic commits, failures that
// leave memory alone, waiting on commits, and reloading from the file.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/error.h"
#include "store/registry.h"
#include "store/store.h"
#include "support/temp_dir.h"

using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::EventOutcome;
using lxe::store::EventQuery;
using lxe::store::ObjectKind;
using lxe::store::ReconcileEvent;
using lxe::store::Registry;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::store::Store;
using lxe::store::StoreError;
using lxe::test::TempDir;
using namespace std::chrono_literals;

namespace {

std::string hex_id(char c) { return std::string(64, c); }

SandboxRecord sandbox(const std::string& id, const std::string& name) {
  SandboxRecord s;
  s.id = id;
  s.name = name;
  s.namespace_ = "default";
  s.uid = "uid-" + name;
  s.lxd_name = "lxe-" + name + "-" + id.substr(0, 12);
  s.labels = {{"app", name}};
  s.config_json = "{}";
  s.created_at = 1700000000000000000;
  return s;
}

ContainerRecord container(const std::string& id, const std::string& sandbox_id, const std::string& name) {
  ContainerRecord c;
  c.id = id;
  c.sandbox_id = sandbox_id;
  c.name = name;
  c.lxd_name = "lxe-" + name + "-" + id.substr(0, 12);
  c.image = "busybox";
  c.config_json = "{}";
  c.created_at = 1700000000000000001;
  return c;
}

ReconcileEvent event(const std::string& object_id, const std::string& action) {
  ReconcileEvent e;
  e.object_kind = ObjectKind::Sandbox;
  e.object_id = object_id;
  e.generation = 1;
  e.action = action;
  e.outcome = EventOutcome::Ok;
  e.detail = "detail of " + action;
  return e;
}

struct Fixture {
  TempDir dir;
  std::string path = dir.file("lxe.db");
  Store store{path, Store::Mode::ReadWrite};
  Registry registry{store};

  // One sandbox S with containers c1 and c2, committed.
  void seed() {
    Registry::Change change(registry);
    change.put(sandbox(hex_id('a'), "web"));
    change.put(container(hex_id('1'), hex_id('a'), "c1"));
    change.put(container(hex_id('2'), hex_id('a'), "c2"));
    change.commit();
  }
};

}  // namespace

TEST_CASE("Registry: an empty store gives an empty registry", "[registry]") {
  Fixture f;
  CHECK(f.registry.sandboxes().empty());
  CHECK(f.registry.containers().empty());
  CHECK_FALSE(f.registry.sandbox(hex_id('a')));
  CHECK_FALSE(f.registry.container(hex_id('1')));
  CHECK(f.registry.containers_of(hex_id('a')).empty());
}

TEST_CASE("Registry: a committed change is visible in memory and in SQLite", "[registry]") {
  Fixture f;
  f.seed();

  const auto s = f.registry.sandbox(hex_id('a'));
  REQUIRE(s);
  CHECK(s->name == "web");
  CHECK(s->labels == lxe::store::StringMap{{"app", "web"}});
  CHECK(s->updated_at > 0);  // put() stamps it
  REQUIRE(f.registry.container(hex_id('1')));
  CHECK(f.registry.container(hex_id('1'))->name == "c1");
  CHECK(f.registry.sandboxes().size() == 1);
  CHECK(f.registry.containers().size() == 2);

  // SQLite holds the same.
  const auto stored = f.store.find_sandbox(hex_id('a'));
  REQUIRE(stored);
  CHECK(stored->name == "web");
  CHECK(stored->updated_at == s->updated_at);
  CHECK(f.store.list_containers_of(hex_id('a')).size() == 2);
}

TEST_CASE("Registry: updates replace the record", "[registry]") {
  Fixture f;
  f.seed();
  {
    Registry::Change change(f.registry);
    auto s = change.sandbox(hex_id('a'));
    REQUIRE(s);
    s->desired_state = SandboxState::NotReady;
    s->observed_state = SandboxObserved::Ready;
    s->infra_pid = 777;
    s->generation = 2;
    change.put(*s);
    change.commit();
  }
  const auto s = f.registry.sandbox(hex_id('a'));
  REQUIRE(s);
  CHECK(s->desired_state == SandboxState::NotReady);
  CHECK(s->observed_state == SandboxObserved::Ready);
  CHECK(s->infra_pid == 777);
  CHECK(s->generation == 2);
  const auto stored = f.store.find_sandbox(hex_id('a'));
  REQUIRE(stored);
  CHECK(stored->infra_pid == 777);
  CHECK(stored->desired_state == SandboxState::NotReady);
}

TEST_CASE("Registry: an uncommitted change is discarded", "[registry]") {
  Fixture f;
  f.seed();
  {
    Registry::Change change(f.registry);
    change.put(sandbox(hex_id('b'), "other"));
    auto c = change.container(hex_id('1'));
    REQUIRE(c);
    c->desired_state = ContainerState::Removed;
    change.put(*c);
    change.erase_container(hex_id('2'));
    change.log(event(hex_id('a'), "never-logged"));
    // The change sees what it staged...
    CHECK(change.sandbox(hex_id('b')));
    CHECK(change.container(hex_id('1'))->desired_state == ContainerState::Removed);
    CHECK_FALSE(change.container(hex_id('2')));
  }  // ...and nothing else does.
  CHECK_FALSE(f.registry.sandbox(hex_id('b')));
  CHECK(f.registry.container(hex_id('1'))->desired_state == ContainerState::Created);
  CHECK(f.registry.container(hex_id('2')));
  CHECK_FALSE(f.store.find_sandbox(hex_id('b')));
  CHECK(f.store.find_container(hex_id('2')));
  CHECK(f.registry.events(EventQuery{}).empty());
}

TEST_CASE("Registry: a change sees its own staged records", "[registry]") {
  Fixture f;
  f.seed();
  Registry::Change change(f.registry);
  auto moved = container(hex_id('3'), hex_id('a'), "c3");
  change.put(moved);
  auto c1 = *change.container(hex_id('1'));
  c1.exit_code = 42;
  change.put(c1);
  change.erase_container(hex_id('2'));

  const auto of = change.containers_of(hex_id('a'));
  std::map<std::string, ContainerRecord> by_id;
  for (const auto& c : of) by_id[c.id] = c;
  CHECK(of.size() == 2);  // c1 (staged version) and c3; c2 erased
  REQUIRE(by_id.count(hex_id('1')));
  CHECK(by_id[hex_id('1')].exit_code == 42);
  CHECK(by_id.count(hex_id('3')) == 1);
  CHECK(by_id.count(hex_id('2')) == 0);
  CHECK(change.all_containers().size() == 2);  // the committed state, unchanged until commit
  change.commit();

  CHECK(f.registry.containers_of(hex_id('a')).size() == 2);
  CHECK(f.registry.container(hex_id('1'))->exit_code == 42);
  CHECK_FALSE(f.registry.container(hex_id('2')));
}

TEST_CASE("Registry: a change SQLite refuses throws StoreError and leaves memory and file unchanged", "[registry]") {
  Fixture f;
  f.seed();
  const auto before_sandboxes = f.registry.sandboxes();
  const auto before_containers = f.registry.containers();

  SECTION("a container whose sandbox does not exist (foreign key)") {
    Registry::Change change(f.registry);
    change.put(sandbox(hex_id('b'), "fine"));                           // would be fine alone
    change.put(container(hex_id('4'), hex_id('f'), "orphan"));          // no sandbox ffff...
    change.log(event(hex_id('b'), "lost-with-the-change"));
    CHECK_THROWS_AS(change.commit(), StoreError);
  }
  SECTION("erasing a sandbox that still has containers") {
    Registry::Change change(f.registry);
    change.erase_sandbox(hex_id('a'));
    CHECK_THROWS_AS(change.commit(), StoreError);
  }
  SECTION("a second sandbox with the same LXD name (unique)") {
    Registry::Change change(f.registry);
    auto dup = sandbox(hex_id('b'), "dup");
    dup.lxd_name = change.sandbox(hex_id('a'))->lxd_name;  // not f.registry: the change holds its lock
    change.put(dup);
    try {
      change.commit();
      FAIL("commit did not throw");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreError::Kind::AlreadyExists);
    }
  }
  SECTION("changing a sandbox's identity") {
    Registry::Change change(f.registry);
    auto s = *change.sandbox(hex_id('a'));
    s.name = "renamed";
    s.infra_pid = 99;
    change.put(s);
    CHECK_THROWS_AS(change.commit(), StoreError);
  }
  SECTION("a failing row after successful ones: all rolled back") {
    Registry::Change change(f.registry);
    auto c1 = *change.container(hex_id('1'));
    c1.exit_code = 7;
    change.put(c1);
    change.erase_container(hex_id('2'));
    auto clash = container(hex_id('5'), hex_id('a'), "c1");  // same (sandbox, name, attempt) as c1
    change.put(clash);
    CHECK_THROWS_AS(change.commit(), StoreError);
  }

  // Memory: exactly as before.
  const auto after_sandboxes = f.registry.sandboxes();
  const auto after_containers = f.registry.containers();
  REQUIRE(after_sandboxes.size() == before_sandboxes.size());
  REQUIRE(after_containers.size() == before_containers.size());
  for (size_t i = 0; i < before_sandboxes.size(); ++i) {
    CHECK(after_sandboxes[i].id == before_sandboxes[i].id);
    CHECK(after_sandboxes[i].name == before_sandboxes[i].name);
    CHECK(after_sandboxes[i].infra_pid == before_sandboxes[i].infra_pid);
  }
  for (size_t i = 0; i < before_containers.size(); ++i) {
    CHECK(after_containers[i].id == before_containers[i].id);
    CHECK(after_containers[i].exit_code == before_containers[i].exit_code);
  }
  CHECK_FALSE(f.registry.sandbox(hex_id('b')));
  // The file: the transaction was rolled back as a whole.
  CHECK_FALSE(f.store.find_sandbox(hex_id('b')));
  CHECK(f.store.list_sandboxes().size() == 1);
  CHECK(f.store.list_containers().size() == 2);
  CHECK(f.store.find_container(hex_id('1'))->exit_code == 0);
  CHECK(f.registry.events(EventQuery{}).empty());

  // And the registry still works.
  Registry::Change change(f.registry);
  change.put(sandbox(hex_id('c'), "after"));
  change.commit();
  CHECK(f.registry.sandbox(hex_id('c')));
}

TEST_CASE("Registry: erase", "[registry]") {
  Fixture f;
  f.seed();
  SECTION("containers first, then the sandbox, in separate changes") {
    {
      Registry::Change change(f.registry);
      change.erase_container(hex_id('1'));
      change.commit();
    }
    CHECK_FALSE(f.registry.container(hex_id('1')));
    CHECK(f.registry.containers_of(hex_id('a')).size() == 1);
    {
      Registry::Change change(f.registry);
      change.erase_container(hex_id('2'));
      change.erase_sandbox(hex_id('a'));
      change.commit();
    }
  }
  SECTION("the sandbox and its containers in one change") {
    Registry::Change change(f.registry);
    change.erase_sandbox(hex_id('a'));
    change.erase_container(hex_id('1'));
    change.erase_container(hex_id('2'));
    change.commit();
  }
  CHECK_FALSE(f.registry.sandbox(hex_id('a')));
  CHECK(f.registry.containers().empty());
  CHECK(f.registry.containers_of(hex_id('a')).empty());
  CHECK(f.store.list_sandboxes().empty());
  CHECK(f.store.list_containers().empty());
}

TEST_CASE("Registry: erasing what is not there, or what this change just staged", "[registry]") {
  Fixture f;
  f.seed();
  Registry::Change change(f.registry);
  change.erase_container(hex_id('9'));  // unknown: nothing to do
  change.put(sandbox(hex_id('b'), "short-lived"));
  change.erase_sandbox(hex_id('b'));  // staged then erased: never written
  change.commit();
  CHECK_FALSE(f.registry.sandbox(hex_id('b')));
  CHECK_FALSE(f.store.find_sandbox(hex_id('b')));
  CHECK(f.registry.containers().size() == 2);
}

TEST_CASE("Registry: containers_of", "[registry]") {
  Fixture f;
  f.seed();
  {
    Registry::Change change(f.registry);
    change.put(sandbox(hex_id('b'), "api"));
    change.put(container(hex_id('3'), hex_id('b'), "c3"));
    change.commit();
  }
  std::set<std::string> of_a, of_b;
  for (const auto& c : f.registry.containers_of(hex_id('a'))) of_a.insert(c.id);
  for (const auto& c : f.registry.containers_of(hex_id('b'))) of_b.insert(c.id);
  CHECK(of_a == std::set<std::string>{hex_id('1'), hex_id('2')});
  CHECK(of_b == std::set<std::string>{hex_id('3')});
  CHECK(f.registry.containers_of(hex_id('z')).empty());
}

TEST_CASE("Registry: wait_until", "[registry]") {
  Fixture f;
  f.seed();
  auto ready_pid = [](const Registry::View& view) {
    const auto* s = view.sandbox(std::string(64, 'a'));
    return s && s->infra_pid != 0;
  };

  SECTION("already true: returns true even with the deadline passed") {
    CHECK(f.registry.wait_until([](const Registry::View&) { return true; },
                                std::chrono::steady_clock::now() - 1s));
  }
  SECTION("never true: false at the deadline") {
    CHECK_FALSE(f.registry.wait_until(ready_pid, std::chrono::steady_clock::now() + 50ms));
  }
  SECTION("false at the deadline even when other commits come") {
    std::thread writer([&] {
      Registry::Change change(f.registry);
      auto c = *change.container(hex_id('1'));
      c.exit_code = 1;
      change.put(c);
      change.commit();
    });
    CHECK_FALSE(f.registry.wait_until(ready_pid, std::chrono::steady_clock::now() + 100ms));
    writer.join();
  }
  SECTION("wakes on a commit from another thread") {
    std::atomic<bool> waiting{false};
    auto waiter = std::async(std::launch::async, [&] {
      waiting = true;
      return f.registry.wait_until(ready_pid, std::chrono::steady_clock::now() + 60s);
    });
    while (!waiting) std::this_thread::yield();
    // Several commits, only the last of which makes it true.
    for (int i = 0; i < 3; ++i) {
      Registry::Change change(f.registry);
      auto s = *change.sandbox(hex_id('a'));
      s.generation += 1;
      change.put(s);
      change.commit();
    }
    {
      Registry::Change change(f.registry);
      auto s = *change.sandbox(hex_id('a'));
      s.infra_pid = 1234;
      change.put(s);
      change.commit();
    }
    REQUIRE(waiter.wait_for(30s) == std::future_status::ready);
    CHECK(waiter.get());
  }
  SECTION("the view sees containers and their sandbox") {
    CHECK(f.registry.wait_until(
        [&](const Registry::View& view) {
          return view.containers_of(hex_id('a')).size() == 2 && view.container(hex_id('1')) &&
                 !view.container(hex_id('9')) && !view.sandbox(hex_id('9'));
        },
        std::chrono::steady_clock::now()));
  }
}

TEST_CASE("Registry: a Change holds the write lock: readers and writers see it whole", "[registry]") {
  Fixture f;
  f.seed();
  SECTION("a reader that comes while a change is open sees the committed result") {
    std::future<std::optional<SandboxRecord>> reader;
    {
      Registry::Change change(f.registry);
      reader = std::async(std::launch::async, [&] { return f.registry.sandbox(hex_id('a')); });
      auto s = *change.sandbox(hex_id('a'));
      s.infra_pid = 4242;
      change.put(s);
      change.commit();
    }
    const auto seen = reader.get();
    REQUIRE(seen);
    CHECK(seen->infra_pid == 4242);
  }
  SECTION("concurrent read-modify-write changes lose no update") {
    constexpr int kThreads = 8;
    constexpr int kEach = 10;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kEach; ++i) {
          Registry::Change change(f.registry);
          auto s = *change.sandbox(hex_id('a'));
          s.generation += 1;
          change.put(s);
          change.commit();
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(f.registry.sandbox(hex_id('a'))->generation == 1 + kThreads * kEach);
    CHECK(f.store.find_sandbox(hex_id('a'))->generation == 1 + kThreads * kEach);
  }
}

TEST_CASE("Registry: a new registry over the same file sees the committed records", "[registry]") {
  TempDir dir;
  const std::string path = dir.file("lxe.db");
  {
    Store store(path, Store::Mode::ReadWrite);
    Registry registry(store);
    Registry::Change change(registry);
    auto s = sandbox(hex_id('a'), "web");
    s.infra_pid = 55;
    s.observed_state = SandboxObserved::Ready;
    change.put(s);
    auto c = container(hex_id('1'), hex_id('a'), "c1");
    c.started_at = 123;
    c.desired_state = ContainerState::Running;
    change.put(c);
    change.commit();
    // Staged but never committed: not in the file.
    Registry::Change discarded(registry);
    discarded.put(sandbox(hex_id('b'), "discarded"));
  }
  Store store(path, Store::Mode::ReadWrite);
  Registry registry(store);
  const auto s = registry.sandbox(hex_id('a'));
  REQUIRE(s);
  CHECK(s->infra_pid == 55);
  CHECK(s->observed_state == SandboxObserved::Ready);
  CHECK(s->labels == lxe::store::StringMap{{"app", "web"}});
  const auto c = registry.container(hex_id('1'));
  REQUIRE(c);
  CHECK(c->started_at == 123);
  CHECK(c->desired_state == ContainerState::Running);
  CHECK(registry.containers_of(hex_id('a')).size() == 1);
  CHECK_FALSE(registry.sandbox(hex_id('b')));
  CHECK(registry.sandboxes().size() == 1);
}

TEST_CASE("Registry: events logged with a change", "[registry]") {
  Fixture f;
  f.seed();
  {
    Registry::Change change(f.registry);
    change.log(event(hex_id('a'), "create-profile"));
    auto e = event(hex_id('a'), "create-infra");
    e.at = 42;  // an explicit time is kept
    e.outcome = EventOutcome::Error;
    change.log(e);
    change.commit();
  }
  {
    Registry::Change change(f.registry);
    auto e = event(hex_id('1'), "start-instance");
    e.object_kind = ObjectKind::Container;
    change.log(e);
    change.commit();
  }
  const auto all = f.registry.events(EventQuery{});
  REQUIRE(all.size() == 3);
  CHECK(all[0].action == "create-profile");
  CHECK(all[0].at > 42);  // stamped by log()
  CHECK(all[0].detail == "detail of create-profile");
  CHECK(all[1].action == "create-infra");
  CHECK(all[1].at == 42);
  CHECK(all[1].outcome == EventOutcome::Error);
  CHECK(all[2].object_kind == ObjectKind::Container);
  CHECK(all[0].seq < all[1].seq);
  CHECK(all[1].seq < all[2].seq);

  EventQuery of_sandbox;
  of_sandbox.object_id = hex_id('a');
  const auto mine = f.registry.events(of_sandbox);
  REQUIRE(mine.size() == 2);
  CHECK(mine[0].action == "create-profile");
  CHECK(mine[1].action == "create-infra");

  EventQuery after;
  after.after_seq = all[1].seq;
  const auto later = f.registry.events(after);
  REQUIRE(later.size() == 1);
  CHECK(later[0].action == "start-instance");
}

TEST_CASE("Registry: the LXD-name and sandbox indexes follow every commit, and a reload", "[registry]") {
  Fixture f;
  f.seed();
  const std::string web = "lxe-web-" + hex_id('a').substr(0, 12);
  const std::string c1 = "lxe-c1-" + hex_id('1').substr(0, 12);
  REQUIRE(f.registry.by_lxd_name(web));
  CHECK(f.registry.by_lxd_name(web)->kind == ObjectKind::Sandbox);
  CHECK(f.registry.by_lxd_name(web)->id == hex_id('a'));
  REQUIRE(f.registry.by_lxd_name(c1));
  CHECK(f.registry.by_lxd_name(c1)->kind == ObjectKind::Container);
  CHECK(f.registry.by_lxd_name(c1)->id == hex_id('1'));
  CHECK_FALSE(f.registry.by_lxd_name("lxe-nobody-000000000000"));

  {  // An update keeps the entries; an erase drops them.
    Registry::Change change(f.registry);
    auto c = *change.container(hex_id('1'));
    c.observed_generation = 1;
    change.put(c);
    change.erase_container(hex_id('2'));
    change.commit();
  }
  CHECK(f.registry.by_lxd_name(c1));
  CHECK_FALSE(f.registry.by_lxd_name("lxe-c2-" + hex_id('2').substr(0, 12)));
  REQUIRE(f.registry.containers_of(hex_id('a')).size() == 1);
  CHECK(f.registry.containers_of(hex_id('a'))[0].id == hex_id('1'));
  {  // A change that is not committed leaves the indexes alone.
    Registry::Change change(f.registry);
    change.erase_container(hex_id('1'));
  }
  CHECK(f.registry.containers_of(hex_id('a')).size() == 1);

  Registry reloaded(f.store);
  CHECK(reloaded.by_lxd_name(c1)->id == hex_id('1'));
  CHECK(reloaded.by_lxd_name(web)->id == hex_id('a'));
  CHECK(reloaded.containers_of(hex_id('a')).size() == 1);

  {
    Registry::Change change(f.registry);
    change.erase_container(hex_id('1'));
    change.erase_sandbox(hex_id('a'));
    change.commit();
  }
  CHECK_FALSE(f.registry.by_lxd_name(web));
  CHECK_FALSE(f.registry.by_lxd_name(c1));
  CHECK(f.registry.containers_of(hex_id('a')).empty());
}

TEST_CASE("Registry: ids_with_prefix looks at the matching IDs only, an exact match first", "[registry]") {
  Fixture f;
  const std::string a = "abc" + std::string(61, '1');
  const std::string b = "abc" + std::string(61, '2');
  const std::string d = "d" + std::string(63, '0');
  {
    Registry::Change change(f.registry);
    change.put(sandbox(a, "one"));
    change.put(sandbox(b, "two"));
    change.put(sandbox(d, "three"));
    change.commit();
  }
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, "abc") == std::vector<std::string>{a, b});
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, "abc1") == std::vector<std::string>{a});
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, a) == std::vector<std::string>{a});
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, "d") == std::vector<std::string>{d});
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, "e").empty());
  CHECK(f.registry.ids_with_prefix(ObjectKind::Sandbox, "ABC").empty());  // IDs are lower-case hex
  CHECK(f.registry.ids_with_prefix(ObjectKind::Container, "abc").empty());
}

TEST_CASE("Registry: a container's Deleted transition comes when it is removed for CRI, not again when the record goes",
          "[registry]") {
  Fixture f;
  f.seed();
  const auto subscription = f.registry.subscribe();
  const auto next = [&] { return subscription->next(std::chrono::steady_clock::now() + 50ms); };
  // Desired removed, the reconciler not there yet: nothing observed changed.
  auto c = *f.registry.container(hex_id('1'));
  c.desired_state = ContainerState::Removed;
  c.new_generation();
  {
    Registry::Change change(f.registry);
    change.put(c);
    change.commit();
  }
  CHECK_FALSE(next());
  // Its processes gone (the removal's generation reached): deleted, for CRI.
  c.observed_generation = c.generation;
  REQUIRE(lxe::store::removed_for_cri(c));
  {
    Registry::Change change(f.registry);
    change.put(c);
    change.commit();
  }
  const auto deleted = next();
  REQUIRE(deleted);
  CHECK(deleted->kind == lxe::store::ContainerTransition::Kind::Deleted);
  CHECK(deleted->container.id == hex_id('1'));
  // A failure stored on it while LXD deletes the instance, then the record's erase: no more events.
  c.set_failure(lxe::store::FailureKind::Refused, "delete-instance: refused");
  {
    Registry::Change change(f.registry);
    change.put(c);
    change.commit();
  }
  {
    Registry::Change change(f.registry);
    change.erase_container(hex_id('1'));
    change.commit();
  }
  CHECK_FALSE(next());
  // A container erased without passing through removed-for-CRI (a CreateContainer that failed)
  // still reports its deletion.
  {
    Registry::Change change(f.registry);
    change.erase_container(hex_id('2'));
    change.commit();
  }
  const auto erased = next();
  REQUIRE(erased);
  CHECK(erased->kind == lxe::store::ContainerTransition::Kind::Deleted);
  CHECK(erased->container.id == hex_id('2'));
}
