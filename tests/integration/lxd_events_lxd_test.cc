// LXD's lifecycle event stream against the real LXD: starting, stopping and deleting an instance
// shows up as events for that instance's name.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>

#include "lxd/events.h"
#include "support/test_lxd.h"

namespace {

// Collects the actions seen per instance name, and lets a test wait for one.
class Collector {
 public:
  void add(const lxe::lxd::LifecycleEvent& e) {
    {
      std::lock_guard lock(mutex_);
      seen_.insert(e.name + " " + e.action);
    }
    cv_.notify_all();
  }
  void connection(bool up) {
    {
      std::lock_guard lock(mutex_);
      connected_ = up;
    }
    cv_.notify_all();
  }
  bool wait_for(const std::string& name, const std::string& action) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return seen_.count(name + " " + action) > 0; });
  }
  bool wait_connected() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return connected_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::string> seen_;
  bool connected_ = false;
};

}  // namespace

TEST_CASE("lxd events on real LXD: start, stop and delete of an instance arrive as lifecycle events", "[lxd]") {
  const auto client = lxe::test::make_test_lxd_client();
  lxe::test::LxdCleanup cleanup(client);
  const std::string name = cleanup.instance(lxe::test::test_name("ev"));

  Collector collector;
  lxe::lxd::EventStream stream(
      lxe::test::lxd_socket_path(), [&](const lxe::lxd::LifecycleEvent& e) { collector.add(e); },
      [&](bool up) { collector.connection(up); });
  stream.start();
  REQUIRE(collector.wait_connected());
  CHECK(stream.connected());

  lxe::lxd::InstanceSpec spec;
  spec.name = name;
  spec.config = {{"raw.lxc", "lxc.init.cmd = /bin/sleep 1000"}};
  lxe::test::mark(spec.config);
  spec.source.alias = "busybox";
  client.create_instance(spec);
  CHECK(collector.wait_for(name, "instance-created"));
  client.start_instance(name);
  CHECK(collector.wait_for(name, "instance-started"));
  client.stop_instance(name, lxe::lxd::StopMode::Force);
  CHECK(collector.wait_for(name, "instance-stopped"));
  client.delete_instance(name);
  CHECK(collector.wait_for(name, "instance-deleted"));

  stream.stop();
  CHECK_FALSE(stream.connected());
}

TEST_CASE("lxd events: a stream on a socket nobody answers keeps retrying and stops promptly", "[lxd]") {
  lxe::lxd::EventStream stream("/nonexistent/lxd.sock", [](const lxe::lxd::LifecycleEvent&) {});
  stream.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(stream.connected());
  stream.stop();  // must return: the test would hang otherwise
  CHECK_FALSE(stream.connected());
}
