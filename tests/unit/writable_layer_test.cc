// The writable layers' cache (stats/writable_layer.h) on temporary folders standing in for
// containers' rootfs: what an ask reports before, between and after walks, stale entries walked
// again, the entry bound, a rootfs that vanishes, containers forgotten, and the background thread.
// Every test but the last drives the walks itself (measure_due) on a clock it moves by hand.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "common/filesystems.h"
#include "stats/writable_layer.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using lxe::stats::WritableLayerOptions;
using lxe::stats::WritableLayerUsage;
using namespace std::chrono_literals;

namespace {

// A clock the test moves, and rootfs folders it hands out by instance name.
struct Host {
  lxe::test::TempDir dir;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  std::map<std::string, int> located;  // how often each instance was located
  bool lxd_answers = true;

  std::string rootfs(const std::string& instance) const { return dir.file(instance + "/rootfs"); }
  void write(const std::string& instance, const std::string& name, size_t bytes) const {
    fs::create_directories(rootfs(instance));
    std::ofstream(rootfs(instance) + "/" + name) << std::string(bytes, 'x');
  }

  WritableLayerOptions options(uint64_t max_entries = 1000) {
    WritableLayerOptions o;
    o.refresh_interval = 60s;
    o.forget_after = 10min;
    o.max_entries = max_entries;
    o.measure_in_background = false;
    o.clock = [this] { return now; };
    return o;
  }
  WritableLayerUsage::LocateRootfs locate() {
    return [this](const std::string& instance) -> std::optional<std::string> {
      ++located[instance];
      if (!lxd_answers) throw std::runtime_error("LXD does not answer");
      if (instance.rfind("cow-", 0) == 0) return std::nullopt;  // "not on a dir pool"
      return rootfs(instance);
    };
  }
};

}  // namespace

TEST_CASE("writable layer: nothing before the first walk, then its numbers until they are stale", "[stats]") {
  Host host;
  host.write("c1", "data", 100 * 1024);
  WritableLayerUsage layers(host.locate(), host.options());

  CHECK_FALSE(layers.usage("id1", "c1"));  // the first ask queues a walk, answers nothing
  CHECK_FALSE(layers.usage("id1", "c1"));  // still queued: not queued twice
  CHECK(layers.measure_due() == 1);
  const auto first = layers.usage("id1", "c1");
  REQUIRE(first);
  lxe::TreeWalkLimits one_filesystem;
  one_filesystem.one_filesystem = true;
  const auto expected = lxe::measure_tree(host.rootfs("c1"), one_filesystem);
  CHECK(first->used_bytes == expected.usage.bytes);
  CHECK(first->inodes_used == 2);  // rootfs and data
  CHECK(first->used_bytes >= 100 * 1024);
  CHECK(first->mount_point == lxe::mount_point_of(host.rootfs("c1")));
  CHECK_FALSE(first->mount_point.empty());
  CHECK(first->measured_at_ns > 0);
  CHECK(host.located["c1"] == 1);

  // Fresh: asks are answered from the cache, however the folder changes meanwhile.
  host.write("c1", "more", 200 * 1024);
  host.now += 59s;
  CHECK(layers.usage("id1", "c1").value().used_bytes == first->used_bytes);
  CHECK(layers.measure_due() == 0);

  // Stale: the old numbers are served once more, and the walk they queued brings the new ones.
  host.now += 1s;
  CHECK(layers.usage("id1", "c1").value().used_bytes == first->used_bytes);
  CHECK(layers.measure_due() == 1);
  const auto second = layers.usage("id1", "c1");
  REQUIRE(second);
  CHECK(second->used_bytes >= first->used_bytes + 200 * 1024);
  CHECK(second->inodes_used == 3);
  CHECK(host.located["c1"] == 1);  // the rootfs is located once
}

TEST_CASE("writable layer: a rootfs beyond the entry bound reports nothing, and again once below it", "[stats]") {
  Host host;
  host.write("c1", "a", 10);
  WritableLayerUsage layers(host.locate(), host.options(/*max_entries=*/5));
  layers.usage("id1", "c1");
  layers.measure_due();
  REQUIRE(layers.usage("id1", "c1"));

  for (int i = 0; i < 10; ++i) host.write("c1", "f" + std::to_string(i), 10);
  host.now += 60s;
  CHECK(layers.usage("id1", "c1"));  // the last complete walk, while the new one is queued
  CHECK(layers.measure_due() == 1);
  CHECK_FALSE(layers.usage("id1", "c1"));  // a partial count is not reported, nor the older one

  for (int i = 0; i < 10; ++i) fs::remove(host.rootfs("c1") + "/f" + std::to_string(i));
  host.now += 60s;
  layers.usage("id1", "c1");
  CHECK(layers.measure_due() == 1);
  const auto back = layers.usage("id1", "c1");
  REQUIRE(back);
  CHECK(back->inodes_used == 2);
}

TEST_CASE("writable layer: a vanished rootfs reports nothing and is located again", "[stats]") {
  Host host;
  host.write("c1", "a", 4096);
  WritableLayerUsage layers(host.locate(), host.options());
  layers.usage("id1", "c1");
  layers.measure_due();
  REQUIRE(layers.usage("id1", "c1"));

  fs::remove_all(host.dir.file("c1"));
  host.now += 60s;
  layers.usage("id1", "c1");
  CHECK(layers.measure_due() == 1);
  CHECK_FALSE(layers.usage("id1", "c1"));
  CHECK(host.located["c1"] == 1);

  host.write("c1", "b", 4096);  // made anew (at the same place here)
  host.now += 60s;
  layers.usage("id1", "c1");
  CHECK(layers.measure_due() == 1);
  CHECK(host.located["c1"] == 2);
  const auto again = layers.usage("id1", "c1");
  REQUIRE(again);
  CHECK(again->inodes_used == 2);
}

TEST_CASE("writable layer: no numbers when LXD cannot say where the rootfs is, or it is not on a dir pool", "[stats]") {
  Host host;
  host.write("c1", "a", 10);
  host.write("cow-c2", "a", 10);
  host.lxd_answers = false;
  WritableLayerUsage layers(host.locate(), host.options());
  layers.usage("id1", "c1");
  layers.usage("id2", "cow-c2");
  CHECK(layers.measure_due() == 2);
  CHECK_FALSE(layers.usage("id1", "c1"));
  CHECK(layers.measure_due() == 0);  // tried again only once stale

  host.lxd_answers = true;
  host.now += 60s;
  layers.usage("id1", "c1");
  layers.usage("id2", "cow-c2");
  CHECK(layers.measure_due() == 2);
  CHECK(layers.usage("id1", "c1"));
  CHECK_FALSE(layers.usage("id2", "cow-c2"));
  CHECK(host.located["c1"] == 2);
  CHECK(host.located["cow-c2"] == 2);
}

TEST_CASE("writable layer: containers nobody asks about are forgotten", "[stats]") {
  Host host;
  host.write("c1", "a", 10);
  host.write("c2", "a", 10);
  WritableLayerUsage layers(host.locate(), host.options());
  layers.usage("id1", "c1");
  layers.usage("id2", "c2");
  layers.measure_due();
  CHECK(layers.size() == 2);

  host.now += 9min;
  REQUIRE(layers.usage("id1", "c1"));  // id1 is still asked about; id2, removed, is not
  host.now += 1min;
  layers.measure_due();
  CHECK(layers.size() == 1);
  CHECK(layers.usage("id1", "c1"));
  CHECK_FALSE(layers.usage("id2", "c2"));  // known again only after a new walk
  CHECK(layers.size() == 2);
}

TEST_CASE("writable layer: the background thread measures what is asked, and stops with the object", "[stats]") {
  Host host;
  host.write("c1", "data", 50 * 1024);
  WritableLayerOptions options;
  options.refresh_interval = 1h;  // the thread is woken by the ask, not by a timer
  WritableLayerUsage layers(host.locate(), options);
  std::optional<lxe::stats::WritableLayerSample> sample;
  // A generous deadline for a loaded machine; nothing is asserted about how long it takes.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!(sample = layers.usage("id1", "c1")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  REQUIRE(sample);
  CHECK(sample->used_bytes >= 50 * 1024);
}
