// lxe-bench's lifecycle section compares lxe with the same LXD work done directly (bench/raw_lxd.h).
// That comparison is only fair while the raw side builds the very objects lxe builds: this test
// has lxe make a pod and a container from the bench's own requests, builds the raw side's objects
// for the same requests, and compares them with what LXD holds, field by field. Names and IDs
// differ by construction and are compared by what they stand for.
#include <catch2/catch.hpp>

#include <filesystem>

#include "lxd_sweep.h"
#include "raw_lxd.h"
#include "reconcile/idmapped_mount.h"
#include "support/cri_fixture.h"
#include "support/test_lxd.h"
#include "workload.h"

using lxe::test::CriFixture;
namespace bench = lxe::bench;

namespace {

// What each side's own names and IDs stand for.
using Names = std::vector<std::pair<std::string, std::string>>;

std::string normal(std::string text, const Names& names) {
  for (const auto& [from, to] : names)
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  return text;
}

// A config as lxe made it: without what LXD adds itself (volatile.*, image.*). JSON, so that a
// failure prints it.
nlohmann::json normal(const lxe::lxd::Config& config, const Names& names) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : config)
    if (key.rfind("volatile.", 0) != 0 && key.rfind("image.", 0) != 0) out[key] = normal(value, names);
  return out;
}

nlohmann::json normal(const lxe::lxd::Devices& devices, const Names& names) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, device] : devices)
    for (const auto& [key, value] : device) out[name][key] = normal(value, names);
  return out;
}

nlohmann::json normal(const std::vector<std::string>& list, const Names& names) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : list) out.push_back(normal(item, names));
  return out;
}

}  // namespace

TEST_CASE("bench: the raw-LXD side of the lifecycle section builds the LXD objects lxe builds", "[bench][lxd]") {
  CriFixture fx("benchraw");
  const lxe::test::TempDir kubelet;   // the host files kubelet would keep (mounts, logs)
  const lxe::test::TempDir raw_root;  // the raw side's host files, as lxe keeps them next to its store
  const bench::Workload workload(kubelet.path(), "busybox");
  const auto pod = workload.pod(fx.pod_name("p"));
  const auto ctr = workload.container("c", pod);
  REQUIRE(ctr.linux().resources().cpu_shares() > 0);  // so that the limits lxe derives are compared

  const std::string pod_id = fx.must_run_pod(pod);
  const std::string ctr_id = fx.must_create_container(pod_id, ctr, pod);
  const auto status = fx.pod_status(pod_id, true);
  REQUIRE(status.ok());
  const auto pod_info = nlohmann::json::parse(status.value.info().at("info"));
  // kubelet's namespace modes on the none plugin: lxe pins the pod's namespaces, no holder.
  REQUIRE(pod_info.at("podNamespaces") == "pinned");
  const std::string holder_name = pod_info.at("lxdProfile");  // the pod's LXD name
  REQUIRE(fx.lxd_instances().size() == 1);
  const std::string ctr_name = *fx.lxd_instances().begin();

  const std::string lxe_init = (std::filesystem::path(LXE_BINARY).parent_path() / "lxe-init").string();
  const bench::RawLxd raw(fx.lxd(), "rawbench", raw_root.path(), lxe_init,
                          {{bench::kMarkKey, lxe::test::test_pid_value()}});
  auto raw_pod = raw.pod(pod);
  raw_pod.record.pinned_netns = pod_info.at("pinnedNetns").get<int64_t>();  // the pins lxe made
  REQUIRE(raw_pod.record.pod_namespaces == lxe::store::PodNamespaces::Pinned);
  auto raw_ctr = raw.container(raw_pod, ctr);
  raw_ctr.record.image_ref = fx.lxd().get_image_alias("busybox").target;  // as raw.create() sets it

  const Names lxe_names = {{fx.dir().path(), "<root>"},
                           {pod_id, "<sandbox id>"},
                           {ctr_id, "<container id>"},
                           {ctr_name, "<container name>"},
                           {holder_name, "<sandbox name>"}};
  const Names raw_names = {{raw_root.path(), "<root>"},
                           {raw_pod.record.id, "<sandbox id>"},
                           {raw_ctr.record.id, "<container id>"},
                           {raw_ctr.record.lxd_name, "<container name>"},
                           {raw_pod.record.lxd_name, "<sandbox name>"}};

  {
    INFO("the pod's profile");
    const auto made = fx.lxd().get_profile(holder_name);
    const auto spec = raw.profile_spec(raw_pod);
    CHECK(normal(spec.name, raw_names) == normal(made.name, lxe_names));
    CHECK(normal(spec.description, raw_names) == normal(made.description, lxe_names));
    CHECK(normal(spec.config, raw_names) == normal(made.config, lxe_names));
    CHECK(normal(spec.devices, raw_names) == normal(made.devices, lxe_names));
  }
  {
    INFO("the namespace holder of a pod that needs one (its containers share a PID namespace)");
    auto shared = workload.pod(fx.pod_name("h"));
    shared.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(::runtime::v1::POD);
    const std::string shared_id = fx.must_run_pod(shared);
    const auto shared_info = nlohmann::json::parse(fx.pod_status(shared_id, true).value.info().at("info"));
    REQUIRE(shared_info.at("podNamespaces") == "holder");
    const std::string shared_holder = shared_info.at("lxdInstance");
    auto raw_shared = raw.pod(shared);
    REQUIRE(raw_shared.record.pod_namespaces == lxe::store::PodNamespaces::Holder);
    raw_shared.record.infra_pid = shared_info.at("infraPid").get<int64_t>();  // the holder lxe started
    const Names lxe_shared = {{fx.dir().path(), "<root>"}, {shared_id, "<sandbox id>"}, {shared_holder, "<sandbox name>"}};
    const Names raw_shared_names = {{raw_root.path(), "<root>"},
                                    {raw_shared.record.id, "<sandbox id>"},
                                    {raw_shared.record.lxd_name, "<sandbox name>"}};
    const auto made = fx.lxd().get_instance(shared_holder);
    const auto spec = raw.holder_spec(raw_shared);
    CHECK(normal(spec.description, raw_shared_names) == normal(made.raw.value("description", ""), lxe_shared));
    CHECK(normal(spec.profiles, raw_shared_names) == normal(made.profiles, lxe_shared));
    CHECK(normal(spec.config, raw_shared_names) == normal(made.config, lxe_shared));
    CHECK(normal(spec.devices, raw_shared_names) == normal(made.devices, lxe_shared));
    CHECK(fx.lxd().get_image_alias(spec.source.alias).target == made.config.at("volatile.base_image"));
    REQUIRE(fx.remove_pod(shared_id).ok());
  }
  {
    INFO("the container");
    const auto made = fx.lxd().get_instance(ctr_name);
    const auto spec = raw.container_spec(raw_ctr, raw_pod);
    CHECK(normal(spec.description, raw_names) == normal(made.raw.value("description", ""), lxe_names));
    CHECK(normal(spec.profiles, raw_names) == normal(made.profiles, lxe_names));
    CHECK(normal(spec.config, raw_names) == normal(made.config, lxe_names));
    CHECK(normal(spec.devices, raw_names) == normal(made.devices, lxe_names));
    CHECK(spec.source.fingerprint == made.config.at("volatile.base_image"));
    // The limits lxe derives from the BestEffort resources are there on both sides.
    CHECK(made.config.count("limits.cpu.allowance") == 1);
  }
  {
    INFO("the container once started: volumes staged and their paths resolved, on both sides");
    REQUIRE(fx.start(ctr_id).ok());
    lxe::test::LxdCleanup cleanup(fx.lxd());
    auto own_pod = raw.pod(pod);
    cleanup.profile(own_pod.record.lxd_name);
    cleanup.instance(own_pod.record.lxd_name);
    raw.run_pod(own_pod);
    auto own = raw.container(own_pod, ctr);
    cleanup.instance(own.record.lxd_name);
    raw.create(own, own_pod);
    raw.start(own);
    const Names own_names = {{raw_root.path(), "<root>"},
                             {own_pod.record.id, "<sandbox id>"},
                             {own.record.id, "<container id>"},
                             {own.record.lxd_name, "<container name>"},
                             {own_pod.record.lxd_name, "<sandbox name>"}};
    const auto made = fx.lxd().get_instance(ctr_name);
    CHECK(normal(fx.lxd().get_instance(own.record.lxd_name).devices, own_names) == normal(made.devices, lxe_names));
    CHECK(made.devices.at("mount2").at("path") == "/run/secrets/kubernetes.io/serviceaccount");
    CHECK(lxe::reconcile::is_mount_point(raw.files().volume_stage(own.record.id, 2)));
    raw.stop(own);
    raw.remove(own);
    raw.remove_pod(own_pod);
    CHECK_FALSE(std::filesystem::exists(raw.files().volume_dir(own.record.id)));
    CHECK_FALSE(std::filesystem::exists(raw.files().pod_namespaces_dir(own_pod.record.id)));
  }
  fx.remove_all_pods_and_expect_clean();
}
