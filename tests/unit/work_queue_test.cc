// The reconciler's work queue: at most once in the queue, one worker per key, re-delivery of a key
// added while it was processed, delays, shutdown.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "reconcile/work_queue.h"

using lxe::reconcile::WorkKey;
using lxe::reconcile::WorkQueue;
using lxe::store::ObjectKind;
using namespace std::chrono_literals;

namespace {

WorkKey sandbox(const std::string& id) { return {ObjectKind::Sandbox, id}; }
WorkKey container(const std::string& id) { return {ObjectKind::Container, id}; }

// take() that gives up after a while instead of hanging the test run: shuts the queue down from
// a watchdog so that a queue that never delivers fails the test rather than blocking it.
std::optional<WorkKey> take_or_give_up(WorkQueue& q) {
  auto result = std::async(std::launch::async, [&] { return q.take(); });
  if (result.wait_for(10s) == std::future_status::timeout) {
    q.shutdown();
    FAIL("take() did not return within 10s");
  }
  return result.get();
}

}  // namespace

TEST_CASE("WorkKey: kind and id both matter", "[work_queue]") {
  CHECK(sandbox("a") == sandbox("a"));
  CHECK_FALSE(sandbox("a") == container("a"));
  CHECK_FALSE(sandbox("a") == sandbox("b"));
  CHECK((sandbox("a") < sandbox("b") || sandbox("b") < sandbox("a")));
}

TEST_CASE("WorkQueue: FIFO, and a key is queued at most once", "[work_queue]") {
  WorkQueue q;
  q.add(sandbox("s1"));
  q.add(container("c1"));
  q.add(sandbox("s1"));
  q.add(container("c1"));
  q.add(sandbox("s2"));
  q.add(container("s1"));  // same id, other kind: another key
  CHECK(q.size() == 4);

  std::vector<WorkKey> taken;
  for (int i = 0; i < 4; ++i) {
    auto k = q.take();
    REQUIRE(k);
    taken.push_back(*k);
    q.done(*k);
  }
  CHECK(taken == std::vector<WorkKey>{sandbox("s1"), container("c1"), sandbox("s2"), container("s1")});
  CHECK(q.size() == 0);
}

TEST_CASE("WorkQueue: a key added while processing comes back exactly once, after done()", "[work_queue]") {
  WorkQueue q;
  q.add(sandbox("s1"));
  const auto first = q.take();
  REQUIRE(first == sandbox("s1"));

  // Added (several times) while a worker has it: not handed to anyone else yet.
  q.add(sandbox("s1"));
  q.add(sandbox("s1"));
  q.add(sandbox("s1"));
  CHECK(q.size() == 0);
  q.add(sandbox("other"));
  const auto other = q.take();
  CHECK(other == sandbox("other"));  // s1 is not delivered while it is processed
  q.done(*other);

  q.done(*first);
  CHECK(q.size() == 1);
  const auto again = q.take();
  CHECK(again == sandbox("s1"));
  CHECK(q.size() == 0);

  // Processed again without new adds: done() does not bring it back.
  q.done(*again);
  CHECK(q.size() == 0);
  q.add(container("marker"));
  CHECK(q.take() == container("marker"));
}

TEST_CASE("WorkQueue: done() for a key never added while processing does not requeue", "[work_queue]") {
  WorkQueue q;
  q.add(container("c"));
  const auto k = q.take();
  REQUIRE(k);
  q.done(*k);
  q.done(*k);  // twice is harmless
  CHECK(q.size() == 0);
}

TEST_CASE("WorkQueue: add_after delivers in order of due time", "[work_queue]") {
  WorkQueue q;
  q.add_after(sandbox("late"), 120ms);
  q.add_after(sandbox("early"), 20ms);
  q.add_after(sandbox("middle"), 60ms);
  q.add(sandbox("now"));
  CHECK(q.size() == 4);

  std::vector<WorkKey> order;
  for (int i = 0; i < 4; ++i) {
    const auto k = take_or_give_up(q);
    REQUIRE(k);
    order.push_back(*k);
    q.done(*k);
  }
  CHECK(order == std::vector<WorkKey>{sandbox("now"), sandbox("early"), sandbox("middle"), sandbox("late")});
  CHECK(q.size() == 0);
}

TEST_CASE("WorkQueue: a delayed key that is already queued is delivered once", "[work_queue]") {
  WorkQueue q;
  q.add_after(sandbox("s"), 10ms);
  q.add(sandbox("s"));
  // Let the delay pass before the first take, so both are due together.
  std::this_thread::sleep_for(30ms);
  const auto k = take_or_give_up(q);
  REQUIRE(k == sandbox("s"));
  q.done(*k);
  q.add(sandbox("marker"));
  CHECK(take_or_give_up(q) == sandbox("marker"));  // no second "s" in between
}

TEST_CASE("WorkQueue: a delayed key that comes due while processing comes back after done()", "[work_queue]") {
  WorkQueue q;
  q.add(sandbox("s"));
  const auto k = q.take();
  REQUIRE(k == sandbox("s"));
  q.add_after(sandbox("s"), 5ms);
  q.add_after(sandbox("tick"), 30ms);
  // "tick" becomes due after "s": taking it means "s" came due while being processed.
  CHECK(take_or_give_up(q) == sandbox("tick"));
  q.done(sandbox("tick"));
  q.done(*k);
  CHECK(take_or_give_up(q) == sandbox("s"));
}

TEST_CASE("WorkQueue: try_take() gives what is ready now and never waits", "[work_queue]") {
  WorkQueue q;
  CHECK_FALSE(q.try_take());  // empty: at once
  q.add(sandbox("a"));
  q.add_after(container("later"), 1h);
  const auto a = q.try_take();
  REQUIRE(a);
  CHECK(*a == sandbox("a"));
  // While "a" is processed, adding it again brings it back only after done(), as with take().
  q.add(sandbox("a"));
  CHECK_FALSE(q.try_take());  // "later" is not due
  CHECK(q.size() == 1);
  q.done(*a);
  CHECK(q.try_take() == sandbox("a"));
  q.add_after(container("due"), 0ms);
  CHECK(q.try_take() == container("due"));
  q.shutdown();
  q.add(sandbox("b"));
  CHECK_FALSE(q.try_take());
}

TEST_CASE("WorkQueue: take() blocks until add() from another thread", "[work_queue]") {
  WorkQueue q;
  auto taker = std::async(std::launch::async, [&] { return q.take(); });
  q.add(container("c"));
  REQUIRE(taker.wait_for(10s) == std::future_status::ready);
  CHECK(taker.get() == container("c"));
}

TEST_CASE("WorkQueue: shutdown unblocks take()", "[work_queue]") {
  WorkQueue q;
  SECTION("a take() waiting on an empty queue") {
    auto taker = std::async(std::launch::async, [&] { return q.take(); });
    // Give the thread a chance to block; the result does not depend on whether it did.
    std::this_thread::sleep_for(20ms);
    q.shutdown();
    REQUIRE(taker.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(taker.get().has_value());
  }
  SECTION("a take() waiting for a delayed key") {
    q.add_after(sandbox("far"), std::chrono::hours(1));
    auto taker = std::async(std::launch::async, [&] { return q.take(); });
    std::this_thread::sleep_for(20ms);
    q.shutdown();
    REQUIRE(taker.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(taker.get().has_value());
  }
  SECTION("several waiting take()s") {
    std::vector<std::future<std::optional<WorkKey>>> takers;
    for (int i = 0; i < 4; ++i) takers.push_back(std::async(std::launch::async, [&] { return q.take(); }));
    std::this_thread::sleep_for(20ms);
    q.shutdown();
    for (auto& t : takers) {
      REQUIRE(t.wait_for(10s) == std::future_status::ready);
      CHECK_FALSE(t.get().has_value());
    }
  }
  SECTION("after shutdown: take() returns at once, adds are ignored") {
    q.add(sandbox("queued"));
    q.shutdown();
    CHECK_FALSE(q.take().has_value());
    q.add(sandbox("s"));
    q.add_after(sandbox("t"), 1ms);
    CHECK_FALSE(q.take().has_value());
  }
  SECTION("a key dirtied while processing is not requeued after shutdown") {
    q.add(sandbox("s"));
    const auto k = q.take();
    REQUIRE(k);
    q.add(sandbox("s"));
    q.shutdown();
    q.done(*k);
    CHECK(q.size() == 0);
    CHECK_FALSE(q.take().has_value());
  }
}

TEST_CASE("WorkQueue: concurrent workers never hold the same key at once, and no add is lost", "[work_queue]") {
  WorkQueue q;
  constexpr int kKeys = 20;
  constexpr int kAddsPerKey = 50;
  std::mutex mutex;
  std::set<WorkKey> in_flight;
  bool overlap = false;
  std::map<WorkKey, int> version;    // bumped before every add
  std::map<WorkKey, int> seen;       // the version a worker saw when it started on the key
  std::map<WorkKey, int> processed;  // deliveries

  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.take()) {
        {
          std::lock_guard lock(mutex);
          if (!in_flight.insert(*k).second) overlap = true;
          processed[*k] += 1;
          seen[*k] = version[*k];
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mutex);
          in_flight.erase(*k);
        }
        q.done(*k);
      }
    });
  }
  for (int round = 0; round < kAddsPerKey; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      const WorkKey k = container("c" + std::to_string(i));
      {
        std::lock_guard lock(mutex);
        version[k] += 1;
      }
      q.add(k);
    }
  }
  // Every add made after a worker started on a key brings the key back: in the end every worker
  // has seen every key's last version.
  auto caught_up = [&] {
    std::lock_guard lock(mutex);
    return seen == version;
  };
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!caught_up() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  q.shutdown();
  for (auto& t : workers) t.join();

  CHECK_FALSE(overlap);
  CHECK(seen == version);
  REQUIRE(processed.size() == static_cast<size_t>(kKeys));
  for (const auto& [k, n] : processed) {
    CHECK(n >= 1);
    CHECK(n <= kAddsPerKey);  // deduplicated: never more deliveries than adds
  }
}

TEST_CASE("WorkQueue: how long the head has been ready, and how many keys are taken", "[work_queue]") {
  WorkQueue q;
  CHECK(q.oldest_ready_wait() == std::chrono::steady_clock::duration::zero());
  CHECK(q.processing() == 0);
  q.add(sandbox("a"));
  q.add(container("b"));
  std::this_thread::sleep_for(5ms);
  // A lower bound only: the clock is monotonic, so at least the time slept has passed.
  CHECK(q.oldest_ready_wait() >= 5ms);
  const auto a = q.try_take();
  REQUIRE(a);
  CHECK(q.processing() == 1);
  q.done(*a);
  const auto b = q.try_take();
  REQUIRE(b);
  CHECK(q.oldest_ready_wait() == std::chrono::steady_clock::duration::zero());
  q.done(*b);
  CHECK(q.processing() == 0);
  // A key waiting out its delay is not ready: it does not count.
  q.add_after(sandbox("c"), 1h);
  CHECK(q.oldest_ready_wait() == std::chrono::steady_clock::duration::zero());
}
