// Live resource updates and drift repair on the real LXD: UpdateContainerResources changes limits.*
// without a restart (same init PID), a non-live setting is refused, and a managed limit edited
// behind lxe's back is put back.
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "support/cri_fixture.h"
#include "support/process.h"
#include "support/test_lxd.h"

namespace v1 = ::runtime::v1;

namespace {

template <typename Fn>
bool eventually(Fn&& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

lxe::test::CommandResult lxc(const std::vector<std::string>& args) { return lxe::test::lxc_command(args); }

}  // namespace

TEST_CASE("UpdateContainerResources applies limits live and drift is repaired", "[lxd][update]") {
  lxe::test::CriFixture fx("upd");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto config = fx.container_config("c", {"sleep", "3600"});
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(128 << 20);
  const std::string id = fx.must_run_container(pod_id, config, pod);
  std::string instance;
  for (const auto& name : fx.lxd_instances())
    if (name.find("-c-") != std::string::npos) instance = name;
  REQUIRE_FALSE(instance.empty());
  CHECK(fx.lxd().get_instance(instance).config.at("limits.memory") == std::to_string(128 << 20));
  const int64_t pid = fx.lxd().get_instance_state(instance).pid;

  v1::UpdateContainerResourcesRequest update;
  update.set_container_id(id);
  update.mutable_linux()->set_memory_limit_in_bytes(64 << 20);
  update.mutable_linux()->set_cpu_quota(20000);
  update.mutable_linux()->set_cpu_period(100000);
  v1::UpdateContainerResourcesResponse response;
  REQUIRE(fx.runtime().UpdateContainerResources(lxe::test::context_with_deadline().get(), update, &response).ok());
  const auto applied = fx.lxd().get_instance(instance).config;
  CHECK(applied.at("limits.memory") == std::to_string(64 << 20));
  CHECK(applied.at("limits.cpu.allowance") == "20ms/100ms");
  CHECK(fx.lxd().get_instance_state(instance).pid == pid);  // not restarted
  const auto status = fx.container_status(id);
  REQUIRE(status.ok());
  CHECK(status.value.resources().linux().memory_limit_in_bytes() == 64 << 20);

  // Fields left at zero keep their value (crictl update --memory sends only the memory).
  {
    v1::UpdateContainerResourcesRequest memory_only;
    memory_only.set_container_id(id);
    memory_only.mutable_linux()->set_memory_limit_in_bytes(96 << 20);
    v1::UpdateContainerResourcesResponse r;
    REQUIRE(fx.runtime().UpdateContainerResources(lxe::test::context_with_deadline().get(), memory_only, &r).ok());
    const auto config = fx.lxd().get_instance(instance).config;
    CHECK(config.at("limits.memory") == std::to_string(96 << 20));
    CHECK(config.at("limits.cpu.allowance") == "20ms/100ms");
    const auto in_force = fx.container_status(id).value.resources().linux();
    CHECK(in_force.memory_limit_in_bytes() == 96 << 20);
    CHECK(in_force.cpu_quota() == 20000);
    update.mutable_linux()->set_memory_limit_in_bytes(96 << 20);  // for the refusal below
  }

  // A setting LXD can only apply at the next start is refused, and nothing changes.
  v1::UpdateContainerResourcesRequest not_live = update;
  not_live.mutable_linux()->set_oom_score_adj(500);
  v1::UpdateContainerResourcesResponse ignored;
  const auto refused =
      fx.runtime().UpdateContainerResources(lxe::test::context_with_deadline().get(), not_live, &ignored);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("oom_score_adj"));
  CHECK(fx.container_status(id).value.resources().linux().oom_score_adj() == 0);

  // Drift: someone edits the managed limit with LXD directly; lxe puts it back, live.
  fx.out_of_band_patch(instance, {{"config", {{"limits.memory", "200MB"}}}});
  CHECK(eventually([&] { return fx.lxd().get_instance(instance).config.at("limits.memory") == std::to_string(96 << 20); }));
  CHECK(fx.lxd().get_instance_state(instance).pid == pid);

  // Drift: the instance is deleted behind lxe's back; the container is reported EXITED, not restarted.
  fx.out_of_band_delete(instance);
  const auto exited = fx.wait_for_state(id, v1::CONTAINER_EXITED, std::chrono::seconds(20));
  CHECK(exited.state() == v1::CONTAINER_EXITED);
  CHECK_FALSE(exited.message().empty());
  CHECK(fx.lxd_instances().count(instance) == 0);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("Devices removed or changed behind lxe's back are put back live", "[lxd][drift]") {
  lxe::test::CriFixture fx("devdrift");
  auto pod = fx.pod_config("p");
  pod.mutable_dns_config()->add_servers("10.9.8.7");  // gives the pod's profile a device (resolv.conf)
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string id = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}, "c.log"), pod);
  std::string instance, profile;
  for (const auto& name : fx.lxd_instances())
    if (name.find("-c-") != std::string::npos) instance = name;
  for (const auto& name : fx.lxd_profiles()) profile = name;
  REQUIRE_FALSE(instance.empty());
  REQUIRE(fx.lxd_profiles().size() == 1);
  const auto before = fx.lxd().get_instance(instance).devices;
  REQUIRE(before.count("lxe-log") == 1);
  REQUIRE(before.count("lxe-state") == 1);
  const auto profile_before = fx.lxd().get_profile(profile).devices;
  REQUIRE(profile_before.count("lxe-resolv") == 1);
  const int64_t pid = fx.lxd().get_instance_state(instance).pid;

  // An edit of one device, then `lxc config device remove` of another (one at a time: LXD refuses
  // an update while lxe's repair of the previous one runs).
  fx.out_of_band_patch(instance, {{"devices", {{"lxe-state", {{"type", "disk"}, {"source", "/tmp"}, {"path", "/.lxe/state"}}}}}});
  CHECK(eventually([&] { return fx.lxd().get_instance(instance).devices.at("lxe-state") == before.at("lxe-state"); }));
  const auto removed = lxc({"config", "device", "remove", instance, "lxe-log"});
  INFO("lxc: " << removed.out << removed.err);
  REQUIRE(removed.exit_code == 0);
  CHECK(eventually([&] {
    const auto devices = fx.lxd().get_instance(instance).devices;
    return devices.count("lxe-log") == 1 && devices.at("lxe-log") == before.at("lxe-log");
  }));
  CHECK(fx.lxd().get_instance_state(instance).pid == pid);  // hot-plugged, not restarted
  CHECK(fx.container_status(id).value.state() == ::runtime::v1::CONTAINER_RUNNING);

  // `lxc profile device remove` of the pod's resolv.conf.
  const auto profile_removed = lxc({"profile", "device", "remove", profile, "lxe-resolv"});
  INFO("lxc: " << profile_removed.out << profile_removed.err);
  REQUIRE(profile_removed.exit_code == 0);
  CHECK(eventually([&] {
    const auto devices = fx.lxd().get_profile(profile).devices;
    return devices.count("lxe-resolv") == 1 && devices.at("lxe-resolv") == profile_before.at("lxe-resolv");
  }));
  CHECK(fx.lxd().get_instance_state(instance).pid == pid);
  // A device that is not lxe's is left alone.
  fx.out_of_band_patch(instance, {{"devices", {{"extra", {{"type", "disk"}, {"source", "/tmp"}, {"path", "/mnt/extra"}}}}}});
  std::this_thread::sleep_for(std::chrono::seconds(3));  // longer than a resync interval
  CHECK(fx.lxd().get_instance(instance).devices.count("extra") == 1);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("UpdatePodSandboxResources puts a ceiling on every container of the pod, live", "[lxd][update]") {
  lxe::test::CriFixture fx("podupd");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // One container without limits of its own, one with a memory limit above the pod's and a CPU
  // quota below it, one created and not started, one that exited.
  const std::string free_id = fx.must_run_container(pod_id, fx.container_config("free", {"sleep", "3600"}), pod);
  auto limited_config = fx.container_config("limited", {"sleep", "3600"});
  limited_config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(512 << 20);
  limited_config.mutable_linux()->mutable_resources()->set_cpu_quota(10000);
  limited_config.mutable_linux()->mutable_resources()->set_cpu_period(100000);
  const std::string limited_id = fx.must_run_container(pod_id, limited_config, pod);
  const std::string created_id = fx.must_create_container(pod_id, fx.container_config("later", {"sleep", "3600"}), pod);
  const std::string done_id = fx.must_run_container(pod_id, fx.container_config("done", {"true"}), pod);
  REQUIRE(fx.wait_for_state(done_id, v1::CONTAINER_EXITED, std::chrono::seconds(20)).state() == v1::CONTAINER_EXITED);
  std::map<std::string, std::string> instance;
  for (const auto& name : fx.lxd_instances())
    for (const char* c : {"free", "limited", "later", "done"})
      if (name.find(std::string("-") + c + "-") != std::string::npos) instance[c] = name;
  REQUIRE(instance.size() == 4);
  const int64_t free_pid = fx.lxd().get_instance_state(instance["free"]).pid;
  const int64_t limited_pid = fx.lxd().get_instance_state(instance["limited"]).pid;
  const auto done_before = fx.lxd().get_instance(instance["done"]).config;

  v1::UpdatePodSandboxResourcesRequest update;
  update.set_pod_sandbox_id(pod_id.substr(0, 12));  // a unique prefix, as every pod call takes
  update.mutable_resources()->set_memory_limit_in_bytes(256 << 20);
  update.mutable_resources()->set_cpu_quota(50000);
  update.mutable_resources()->set_cpu_period(100000);
  update.mutable_resources()->set_cpu_shares(1024);  // a weight against other pods: not applied
  v1::UpdatePodSandboxResourcesResponse response;
  const auto ok = fx.runtime().UpdatePodSandboxResources(lxe::test::context_with_deadline().get(), update, &response);
  INFO(lxe::test::describe(ok));
  REQUIRE(ok.ok());
  const auto free_config = fx.lxd().get_instance(instance["free"]).config;
  CHECK(free_config.at("limits.memory") == std::to_string(256 << 20));
  CHECK(free_config.at("limits.cpu.allowance") == "50ms/100ms");
  const auto limited = fx.lxd().get_instance(instance["limited"]).config;
  CHECK(limited.at("limits.memory") == std::to_string(256 << 20));  // the pod's is tighter
  CHECK(limited.at("limits.cpu.allowance") == "10ms/100ms");         // its own is tighter
  CHECK(fx.lxd().get_instance(instance["later"]).config.at("limits.memory") == std::to_string(256 << 20));
  CHECK(fx.lxd().get_instance(instance["done"]).config == done_before);  // exited: left alone
  CHECK(fx.lxd().get_instance_state(instance["free"]).pid == free_pid);  // nothing restarted
  CHECK(fx.lxd().get_instance_state(instance["limited"]).pid == limited_pid);
  // The containers' own resources are what they report; the pod's are the pod's.
  CHECK(fx.container_status(limited_id).value.resources().linux().memory_limit_in_bytes() == 512 << 20);
  CHECK(fx.container_status(free_id).value.resources().linux().memory_limit_in_bytes() == 0);

  // The container started later gets the ceiling from its creation on.
  REQUIRE(fx.start(created_id).ok());
  CHECK(fx.lxd().get_instance(instance["later"]).config.at("limits.memory") == std::to_string(256 << 20));

  // A drift under the ceiling is put back to the ceiling.
  fx.out_of_band_patch(instance["free"], {{"config", {{"limits.memory", "300MB"}}}});
  CHECK(eventually([&] {
    return fx.lxd().get_instance(instance["free"]).config.at("limits.memory") == std::to_string(256 << 20);
  }));

  // Raising the pod's memory lifts the ceiling; fields left at zero keep theirs.
  v1::UpdatePodSandboxResourcesRequest raise;
  raise.set_pod_sandbox_id(pod_id);
  raise.mutable_resources()->set_memory_limit_in_bytes(1024 << 20);
  REQUIRE(fx.runtime().UpdatePodSandboxResources(lxe::test::context_with_deadline().get(), raise, &response).ok());
  CHECK(fx.lxd().get_instance(instance["free"]).config.at("limits.memory") == std::to_string(1024 << 20));
  CHECK(fx.lxd().get_instance(instance["free"]).config.at("limits.cpu.allowance") == "50ms/100ms");
  CHECK(fx.lxd().get_instance(instance["limited"]).config.at("limits.memory") == std::to_string(512 << 20));
  CHECK(fx.lxd().get_instance_state(instance["free"]).pid == free_pid);

  // Refusals, each leaving the pod's resources as they were.
  const auto refused = [&](const v1::UpdatePodSandboxResourcesRequest& r) {
    return fx.runtime().UpdatePodSandboxResources(lxe::test::context_with_deadline().get(), r, &response);
  };
  v1::UpdatePodSandboxResourcesRequest bad = raise;
  bad.set_pod_sandbox_id("");
  CHECK(refused(bad).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  bad = raise;
  bad.clear_resources();
  CHECK_THAT(refused(bad).error_message(), Catch::Contains("resources is missing"));
  bad = raise;
  bad.mutable_resources()->set_cpuset_cpus("0-\n1");
  CHECK(refused(bad).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  bad = raise;
  bad.set_pod_sandbox_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  CHECK(refused(bad).error_code() == grpc::StatusCode::NOT_FOUND);
  bad = raise;
  bad.mutable_resources()->set_cpuset_mems("0");
  const auto not_live = refused(bad);
  CHECK(not_live.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(not_live.error_message(), Catch::Contains("cpuset_mems"));
  CHECK(fx.lxd().get_instance(instance["free"]).config.at("limits.memory") == std::to_string(1024 << 20));

  // A stopped pod has nothing to resize.
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod_id);
  v1::StopPodSandboxResponse stopped;
  REQUIRE(fx.runtime().StopPodSandbox(lxe::test::context_with_deadline().get(), stop, &stopped).ok());
  const auto after_stop = refused(raise);
  CHECK(after_stop.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(after_stop.error_message(), Catch::Contains("not ready"));
  fx.remove_all_pods_and_expect_clean();
}
