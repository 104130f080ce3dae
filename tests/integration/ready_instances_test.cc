// Instances made ahead of CreateContainer (reconcile/ready_instances.h) on the real LXD: a ready
// instance's rootfs is shifted ahead (one throwaway start), a container made of one runs as a
// created one does, the keeper makes another, a clean
// stop of lxe deletes them and the next lxe makes them again. (A crash between a claim's PATCH
// and its rename: recovery_crash_points_test.cc.)
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "model/naming.h"
#include "reconcile/ready_instances.h"
#include "support/cri_fixture.h"
#include "support/test_lxd.h"

namespace {

std::string test_pool() {
  const char* env = std::getenv("LXE_TEST_STORAGE_POOL");
  return env && *env ? env : "lxe";
}

// The daemon's prefix is the run's (test_lxd.h), without its trailing '-'.
std::string daemon_prefix() {
  std::string prefix = lxe::test::run_prefix();
  prefix.pop_back();
  return prefix;
}

std::set<std::string> ready_instances(const lxe::test::CriFixture& fx) {
  std::set<std::string> names;
  for (const auto& i : fx.lxd().list_instances())
    if (lxe::model::is_ready_instance_name(daemon_prefix(), i.name)) names.insert(i.name);
  return names;
}

// An instance's config as a container sees it: without LXD's volatile keys and lxe's IDs.
lxe::lxd::Config comparable(lxe::lxd::Config config) {
  std::erase_if(config, [](const auto& kv) { return kv.first.rfind("volatile.", 0) == 0; });
  config.erase(lxe::model::kIdKey);
  return config;
}

}  // namespace

TEST_CASE("ready instances: CreateContainer claims one, which runs as a created one does; lxe's clean stop "
          "deletes them",
          "[lxd][ready]") {
  std::vector<std::string> args = {"--ready-instances", "1"};
  if (lxe::test::lxc_command({"storage", "show", test_pool()}).exit_code == 0)
    args.insert(args.end(), {"--storage-pool", test_pool()});
  lxe::test::CriFixture fx("ready", args);
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string first = fx.must_run_container(pod_id, fx.container_config("first", {"sleep", "3600"}, "first.log"), pod);
  auto instance_named = [&](const std::string& part) {
    for (const auto& name : fx.lxd_instances())
      if (name.find(part) != std::string::npos) return name;
    return std::string();
  };
  const std::string created = instance_named("-first-");
  REQUIRE_FALSE(created.empty());
  // Its image is in use now: one instance of it is made ready.
  // Made: created, started once, stopped. LXD shows it stopped before its teardown (~0.75 s) ends,
  // and lxe holds it as ready once its stop returned.
  REQUIRE(fx.settles([&] {
    const auto names = ready_instances(fx);
    if (names.size() != 1) return false;
    const auto facts = lxe::reconcile::ready_instance_facts(fx.lxd().get_instance(*names.begin()));
    return facts.shifted && !facts.running;
  }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string ready = *ready_instances(fx).begin();
  {
    // Started once and stopped: LXD shifted its rootfs (its first start's chown) ahead of the claim.
    const auto made = fx.lxd().get_instance(ready);
    CHECK_FALSE(made.running());
    REQUIRE(made.config.count("volatile.last_state.idmap") == 1);
    CHECK(made.config.at("volatile.last_state.idmap") == made.config.at("volatile.idmap.next"));
  }

  const std::string id = fx.must_create_container(
      pod_id, fx.container_config("second", {"sh", "-c", "echo from-ready; id -u; sleep 3600"}, "second.log"), pod);
  const std::string mine = instance_named("-second-");
  REQUIRE_FALSE(mine.empty());
  CHECK_FALSE(ready_instances(fx).count(ready));  // renamed: it is the container's now
  const auto claimed = fx.lxd().get_instance(mine);
  const auto original = fx.lxd().get_instance(created);
  CHECK(claimed.config.at(lxe::model::kIdKey) == id);
  // The image's create templates are armed again for the container's own first start.
  CHECK(claimed.config.at("volatile.apply_template") == "create");
  CHECK(claimed.config.at("volatile.last_state.idmap") == claimed.config.at("volatile.idmap.next"));
  CHECK(claimed.profiles == original.profiles);
  CHECK(comparable(claimed.config) == comparable(original.config));
  CHECK(claimed.devices.size() == original.devices.size());
  CHECK_FALSE(claimed.running());

  REQUIRE(fx.start(id).ok());
  const auto r = fx.exec(id, {"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"}, 20);
  REQUIRE(r.ok());
  CHECK(r.value.stdout().find("init") != std::string::npos);  // lxe-init runs it
  REQUIRE(fx.settles([&] {
    return lxe::test::read_file(lxe::test::CriFixture::log_file(pod, "second.log")).find("from-ready") !=
           std::string::npos;
  }));
  CHECK_THAT(lxe::test::read_file(lxe::test::CriFixture::log_file(pod, "second.log")), Catch::Contains(" F 0\n"));
  // Another is made in its place.
  REQUIRE(fx.settles([&] { return ready_instances(fx).size() == 1 && !ready_instances(fx).count(ready); }));

  // A clean stop deletes them; the next lxe makes one again (its store has containers of the image).
  fx.restart_daemon([&] { CHECK(ready_instances(fx).empty()); });
  CHECK(fx.settles([&] { return ready_instances(fx).size() == 1; }));
  const auto status = fx.container_status(first);
  REQUIRE(status.ok());
  CHECK(status.value.state() == runtime::v1::CONTAINER_RUNNING);
  fx.remove_all_pods_and_expect_clean();
}
