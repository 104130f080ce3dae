// Instances made ahead of CreateContainer (reconcile/ready_instances.h): the keeper's plan as a
// pure function, the claim's PATCH, the names, and the keeper and the executor's claim against
// the in-memory LXD: made, claimed, adopted after a restart, half-claimed ones deleted, a failed
// claim falling back to a create.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "model/naming.h"
#include "reconcile/executor.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/ready_instances.h"
#include "support/memory_fixture.h"

using lxe::reconcile::ActionKind;
using lxe::reconcile::Outcome;
using lxe::reconcile::plan_ready_instances;
using lxe::reconcile::ReadyInstanceFacts;
using lxe::reconcile::ReadyInstances;
using lxe::reconcile::ReadyInstancesOptions;
using lxe::test::MemoryLxd;
using Op = MemoryLxd::Op;

namespace {

ReadyInstanceFacts ready(const std::string& name, const std::string& fingerprint, const std::string& pool = "lxe") {
  return {name, fingerprint, pool, true, true, false};
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("ready instances: the plan makes what is missing per wanted image", "[ready]") {
  const auto plan = plan_ready_instances({{"aaa", 2}, {"bbb", 1}}, {ready("r1", "aaa")}, "lxe");
  CHECK(sorted(plan.create) == std::vector<std::string>{"aaa", "bbb"});
  CHECK(plan.remove.empty());
  const auto none = plan_ready_instances({{"aaa", 1}}, {ready("r1", "aaa")}, "lxe");
  CHECK(none.create.empty());
  CHECK(none.remove.empty());
}

TEST_CASE("ready instances: the plan removes surplus, unwanted, half-claimed, started and misplaced ones",
          "[ready]") {
  auto half_claimed = ready("r3", "aaa");
  half_claimed.ready = false;
  auto started = ready("r4", "aaa");
  started.running = true;
  auto unshifted = ready("r7", "aaa");  // a crash before its throwaway start
  unshifted.shifted = false;
  const auto plan = plan_ready_instances({{"aaa", 1}},
                                         {ready("r1", "aaa"), ready("r2", "aaa"), half_claimed, started,
                                          ready("r5", "aaa", "default"), ready("r6", "ccc"), unshifted},
                                         "lxe");
  CHECK(sorted(plan.remove) == std::vector<std::string>{"r2", "r3", "r4", "r5", "r6", "r7"});
  CHECK(plan.create.empty());
  // Nothing wanted: everything goes.
  CHECK(plan_ready_instances({}, {ready("r1", "aaa")}, "lxe").remove == std::vector<std::string>{"r1"});
  // A half-claimed one of a wanted image is replaced.
  const auto replaced = plan_ready_instances({{"aaa", 1}}, {half_claimed}, "lxe");
  CHECK(replaced.remove == std::vector<std::string>{"r3"});
  CHECK(replaced.create == std::vector<std::string>{"aaa"});
}

TEST_CASE("ready instances: facts from what LXD shows", "[ready]") {
  lxe::lxd::Instance i;
  i.name = "lxe--ready-0123456789ab";
  i.status_code = 102;
  i.config = {{"volatile.base_image", "fff"}, {lxe::model::kKindKey, "ready"}, {lxe::model::kManagedKey, "true"},
              {"volatile.last_state.idmap", "[]"}};
  i.devices = {{"root", {{"type", "disk"}, {"path", "/"}, {"pool", "lxe"}}}};
  auto f = lxe::reconcile::ready_instance_facts(i);
  CHECK(f.name == i.name);
  CHECK(f.fingerprint == "fff");
  CHECK(f.pool == "lxe");
  CHECK(f.ready);
  CHECK_FALSE(f.shifted);  // never started
  CHECK_FALSE(f.running);
  i.config["volatile.last_state.idmap"] = R"([{"Isuid":true,"Hostid":100000,"Nsid":0,"Maprange":65536}])";
  CHECK(lxe::reconcile::ready_instance_facts(i).shifted);
  // A claim's PATCH reached it: a container's marks.
  i.config[lxe::model::kKindKey] = "container";
  i.config[lxe::model::kIdKey] = "abc";
  CHECK_FALSE(lxe::reconcile::ready_instance_facts(i).ready);
  i.devices.clear();
  CHECK(lxe::reconcile::ready_instance_facts(i).pool.empty());
}

TEST_CASE("ready instances: names no pod or container can have", "[ready][naming]") {
  const auto name = lxe::model::ready_instance_name("lxe");
  CHECK(name.rfind("lxe--ready-", 0) == 0);
  CHECK(name.size() == std::string("lxe--ready-").size() + 12);
  CHECK(lxe::model::valid_lxd_name(name));
  CHECK(lxe::model::is_ready_instance_name("lxe", name));
  CHECK_FALSE(lxe::model::is_ready_instance_name("lxf", name));
  CHECK_FALSE(lxe::model::is_ready_instance_name("lxe", "lxe--ready-"));
  // Pods and containers named "ready", "-ready" or "--ready" never get a ready name.
  for (const std::string pod : {"ready", "-ready", "--ready", "Ready"}) {
    CHECK_FALSE(lxe::model::is_ready_instance_name("lxe", lxe::model::sandbox_lxd_name("lxe", pod, name.substr(11))));
    CHECK_FALSE(
        lxe::model::is_ready_instance_name("lxe", lxe::model::container_lxd_name("lxe", pod, "c", name.substr(11))));
  }
}

TEST_CASE("ready instances: a claim's PATCH carries the container's spec and drops the ready marks", "[ready]") {
  lxe::reconcile::MappingOptions options;
  options.storage_pool = "lxe";
  options.extra_config = {{"user.lxe.test-pid", "42"}};
  const auto ready_spec = lxe::reconcile::ready_instance("lxe--ready-0123456789ab", "fff", "/var/lib/lxe/lxe-init", options);
  CHECK(ready_spec.config.at(lxe::model::kKindKey) == "ready");
  CHECK(ready_spec.config.count(lxe::model::kIdKey) == 0);
  CHECK(ready_spec.config.at("user.lxe.test-pid") == "42");
  CHECK(ready_spec.config.at("boot.autostart") == "false");
  CHECK(ready_spec.source.fingerprint == "fff");
  CHECK(ready_spec.devices.at("root").at("pool") == "lxe");
  CHECK(ready_spec.profiles == std::vector<std::string>{"default"});
  // Its one throwaway start runs lxe-init's pause.
  CHECK(ready_spec.config.at("raw.lxc") == "lxc.init.cmd = /.lxe/init pause\n");
  CHECK(ready_spec.devices.at("lxe-init").at("source") == "/var/lib/lxe/lxe-init");

  lxe::lxd::InstanceSpec container;
  container.name = "lxe-web-app-0123456789ab";
  container.description = "lxe container app of pod default/web";
  container.profiles = {"default", "lxe-web-0123"};
  container.config = {{lxe::model::kKindKey, "container"}, {lxe::model::kIdKey, "cid"}, {"raw.lxc", "x"}};
  container.devices = {{"lxe-state", {{"type", "disk"}, {"source", "/s"}, {"path", "/p"}}}};
  auto ready_config = ready_spec.config;
  ready_config["volatile.idmap.next"] = "[]";
  ready_config["image.os"] = "busybox";
  ready_config["user.other"] = "1";
  const auto patch = lxe::reconcile::claim_patch(container, ready_config);
  CHECK(patch.at("description") == container.description);
  CHECK(patch.at("profiles") == nlohmann::json(container.profiles));
  CHECK(patch.at("config").at(lxe::model::kKindKey) == "container");
  CHECK(patch.at("config").at(lxe::model::kIdKey) == "cid");
  CHECK(patch.at("config").at("raw.lxc") == "x");
  CHECK(patch.at("config").at("volatile.apply_template") == "create");  // the image's templates, again
  CHECK(patch.at("config").at("user.other") == "");          // removed
  CHECK(patch.at("config").at("boot.autostart") == "");      // not in this spec: removed
  CHECK_FALSE(patch.at("config").contains("volatile.idmap.next"));  // LXD's, kept
  CHECK_FALSE(patch.at("config").contains("image.os"));
  CHECK(patch.at("devices").at("lxe-state").at("source") == "/s");
  CHECK_FALSE(patch.contains("name"));
}

namespace {

struct ReadyBed : lxe::test::MemoryFixture {
  ReadyInstancesOptions options() const {
    ReadyInstancesOptions o;
    o.per_image = 2;
    o.name_prefix = "lxe";
    o.init_binary = files.init_binary();
    return o;
  }
  ReadyInstances ready{lxd, options(), [] { return std::set<std::string>{}; }};

  std::vector<std::string> ready_names() const {
    std::vector<std::string> out;
    for (const auto& name : lxd.instance_names())
      if (lxe::model::is_ready_instance_name("lxe", name)) out.push_back(name);
    return out;
  }
};

}  // namespace

TEST_CASE("ready instances: the keeper makes instances of images used, and deletes them at a clean stop", "[ready]") {
  ReadyBed bed;
  bed.ready.keep();
  CHECK(bed.ready_names().empty());  // no image used yet
  bed.ready.used(bed.image_fingerprint);
  bed.ready.keep();
  CHECK(bed.ready.ready(bed.image_fingerprint) == 2);
  const auto names = bed.ready_names();
  REQUIRE(names.size() == 2);
  const auto made = bed.lxd.instance(names[0]);
  REQUIRE(made);
  CHECK_FALSE(made->running());
  // Started once and stopped: LXD shifted its rootfs.
  CHECK(bed.lxd.count(Op::StartInstance, names[0]) == 1);
  CHECK(made->config.at("volatile.last_state.idmap") == made->config.at("volatile.idmap.next"));
  CHECK(made->config.at("volatile.base_image") == bed.image_fingerprint);
  CHECK(made->config.at(lxe::model::kKindKey) == "ready");
  bed.ready.keep();  // level-triggered: enough is enough
  CHECK(bed.ready_names().size() == 2);

  const auto taken = bed.ready.take(bed.image_fingerprint);
  REQUIRE(taken);
  CHECK(taken->config.count("volatile.idmap.next") == 1);
  CHECK(bed.ready.ready(bed.image_fingerprint) == 1);
  CHECK_FALSE(bed.ready.take("other"));
  bed.ready.claimed(taken->name, false);  // a failed claim: its instance goes
  bed.ready.keep();
  CHECK_FALSE(bed.lxd.instance(taken->name));
  CHECK(bed.ready.ready(bed.image_fingerprint) == 2);

  bed.ready.stop(true);
  CHECK(bed.ready_names().empty());
}

TEST_CASE("ready instances: a new keeper adopts usable ones and deletes half-claimed and surplus ones", "[ready]") {
  ReadyBed bed;
  bed.ready.used(bed.image_fingerprint);
  bed.ready.keep();
  REQUIRE(bed.ready_names().size() == 2);
  // A crash between a claim's PATCH and its rename: the ready name with a container's marks.
  const auto half = bed.ready_names()[0];
  bed.lxd.edit_instance(half, [](lxe::lxd::Instance& i) {
    i.config[lxe::model::kKindKey] = "container";
    i.config[lxe::model::kIdKey] = "cid";
  });
  // And one more than wanted, left by an lxe with a higher --ready-instances.
  auto o = bed.options();
  lxe::lxd::InstanceSpec extra =
      lxe::reconcile::ready_instance("lxe--ready-00000000000e", bed.image_fingerprint, "/init", o.mapping);
  bed.lxd.add_instance(extra);
  bed.lxd.start_outside(extra.name);  // shifted, like the keeper's
  bed.lxd.stop_outside(extra.name);
  // Someone else's instance, and another prefix's ready instance: never touched.
  lxe::lxd::InstanceSpec theirs;
  theirs.name = "theirs";
  theirs.source.type = "none";
  bed.lxd.add_instance(theirs);
  bed.lxd.add_instance(lxe::reconcile::ready_instance("lxf--ready-00000000000f", bed.image_fingerprint, "/init", o.mapping));

  // The next lxe: its containers' image is in the store.
  const auto fingerprint = bed.image_fingerprint;
  ReadyInstances next(bed.lxd, o, [fingerprint] { return std::set<std::string>{fingerprint}; });
  next.keep();
  const auto left = bed.ready_names();
  CHECK(left.size() == 2);
  CHECK(std::find(left.begin(), left.end(), half) == left.end());
  CHECK(next.ready(bed.image_fingerprint) == 2);
  CHECK(bed.lxd.instance("theirs"));
  CHECK(bed.lxd.instance("lxf--ready-00000000000f"));
}

TEST_CASE("ready instances: an image deleted from LXD keeps none; a make that fails waits out the interval",
          "[ready]") {
  ReadyBed bed;
  auto o = bed.options();
  o.interval = std::chrono::milliseconds(0);  // every keep() lists the images again
  ReadyInstances ready(bed.lxd, o, {});
  ready.used(bed.image_fingerprint);
  ready.keep();
  REQUIRE(ready.ready(bed.image_fingerprint) == 2);
  bed.lxd.delete_image(bed.image_fingerprint);
  ready.keep();
  CHECK(ready.ready(bed.image_fingerprint) == 0);
  CHECK(bed.ready_names().empty());

  // An image LXD refuses to make instances of: tried once, not on every wake.
  const auto other = bed.lxd.add_image("other", {"other"});
  o.interval = std::chrono::hours(1);
  ReadyInstances slow(bed.lxd, o, {});
  bed.lxd.fail_next(Op::CreateInstance, {lxe::lxd::ErrorKind::Server, "", 2});
  bed.lxd.clear_calls();
  slow.used(other);
  slow.keep();
  slow.keep();
  CHECK(bed.lxd.count(Op::CreateInstance) == 1);
  CHECK(slow.ready(other) == 0);
  CHECK(bed.ready_names().empty());
  bed.lxd.clear_faults();
}

namespace {

struct ClaimBed : ReadyBed {
  lxe::reconcile::Executor executor{registry, lxd, files, volumes, {}};
  ClaimBed() { executor.use_ready_instances(&ready); }

  Outcome run(const lxe::store::SandboxRecord& s, std::vector<ActionKind> kinds) {
    std::vector<lxe::reconcile::Action> plan;
    for (auto k : kinds) plan.push_back({k, "test"});
    return executor.run(s, plan);
  }
  Outcome run(const lxe::store::ContainerRecord& c, std::vector<ActionKind> kinds) {
    std::vector<lxe::reconcile::Action> plan;
    for (auto k : kinds) plan.push_back({k, "test"});
    return executor.run(c, sandbox(c.sandbox_id), plan);
  }
  lxe::store::SandboxRecord ready_sandbox() {
    const auto s = add_sandbox();
    REQUIRE(run(s, {ActionKind::CreateProfile, ActionKind::CreateInfra, ActionKind::StartInfra,
                    ActionKind::RecordInfraPid, ActionKind::RecordReady, ActionKind::MarkReconciled}) ==
            Outcome::Done);
    return sandbox(s.id);
  }
};

// The instance as the container sees it, without what differs between two instances of one image.
lxe::lxd::Config comparable(lxe::lxd::Config config) {
  std::erase_if(config, [](const auto& kv) { return kv.first.rfind("volatile.", 0) == 0; });
  return config;
}

}  // namespace

TEST_CASE("executor: create-instance claims a ready instance: the container's name, config, devices and profiles",
          "[ready][executor]") {
  ClaimBed bed;
  const auto s = bed.ready_sandbox();
  // The first container of the image is created; the keeper then makes ready ones.
  const auto first = bed.add_container(s, "first");
  REQUIRE(bed.run(first, {ActionKind::CreateInstance}) == Outcome::Done);
  CHECK(bed.lxd.count(Op::RenameInstance) == 0);
  bed.ready.keep();
  REQUIRE(bed.ready.ready(bed.image_fingerprint) == 2);

  const auto c = bed.add_container(s, "second");
  bed.lxd.clear_calls();
  REQUIRE(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Done);
  CHECK(bed.lxd.count(Op::CreateInstance) == 0);
  CHECK(bed.lxd.count(Op::PatchInstance) == 1);
  CHECK(bed.lxd.count(Op::RenameInstance) == 1);
  CHECK(bed.lxd.count(Op::GetInstance, c.lxd_name) == 0);  // the ID map was known
  CHECK(bed.ready.ready(bed.image_fingerprint) == 1);
  const auto claimed = bed.lxd.instance(c.lxd_name);
  const auto created = bed.lxd.instance(first.lxd_name);
  REQUIRE(claimed);
  REQUIRE(created);
  CHECK_FALSE(claimed->running());
  CHECK(claimed->config.at(lxe::model::kIdKey) == c.id);
  CHECK(claimed->config.at("volatile.base_image") == bed.image_fingerprint);
  CHECK(claimed->profiles == created->profiles);
  CHECK(bed.lxd.calls(Op::PatchInstance).back().body.at("description") ==
        "lxe container second of pod " + s.namespace_ + "/" + s.name);
  // Everything but the IDs is what a create gives.
  auto mine = comparable(claimed->config);
  auto theirs = comparable(created->config);
  for (auto* config : {&mine, &theirs}) {
    config->erase(lxe::model::kIdKey);
  }
  CHECK(mine == theirs);
  CHECK(claimed->devices.size() == created->devices.size());
  CHECK(claimed->devices.at("lxe-state").at("source") == bed.files.container_dir(c.id));
  const auto events = bed.events_of(c.id);
  REQUIRE_FALSE(events.empty());
  CHECK_THAT(events.back().detail, Catch::Contains("made of ready instance lxe--ready-"));
}

TEST_CASE("executor: a claim LXD refuses falls back to a create; the refused instance is deleted", "[ready][executor]") {
  ClaimBed bed;
  const auto s = bed.ready_sandbox();
  bed.ready.used(bed.image_fingerprint);
  bed.ready.keep();
  REQUIRE(bed.ready.ready(bed.image_fingerprint) == 2);
  const auto c = bed.add_container(s);
  // The rename fails after the PATCH went through: the ready instance carries the container's marks.
  bed.lxd.fail_next(Op::RenameInstance, {lxe::lxd::ErrorKind::Server, "", 1});
  REQUIRE(bed.run(c, {ActionKind::CreateInstance}) == Outcome::Done);
  CHECK(bed.lxd.count(Op::CreateInstance, c.lxd_name) == 1);
  const auto instance = bed.lxd.instance(c.lxd_name);
  REQUIRE(instance);
  CHECK(instance->config.at(lxe::model::kIdKey) == c.id);
  CHECK(bed.container(c.id).last_error.empty());
  bed.ready.keep();
  // The half-claimed instance is gone, a new one made in its place.
  size_t with_id = 0;
  for (const auto& name : bed.lxd.instance_names())
    if (const auto i = bed.lxd.instance(name); i && i->config.count(lxe::model::kIdKey) &&
                                               i->config.at(lxe::model::kIdKey) == c.id)
      ++with_id;
  CHECK(with_id == 1);
  CHECK(bed.ready.ready(bed.image_fingerprint) == 2);
}
