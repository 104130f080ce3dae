#include "support/api_contract.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

namespace lxe::test {

using lxd::ErrorKind;

namespace {

template <typename F>
std::optional<ErrorKind> kind_of(F&& f) {
  try {
    f();
  } catch (const lxd::Error& e) {
    UNSCOPED_INFO(e.what());
    return e.kind();
  }
  return std::nullopt;
}

bool lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

void check_api_contract(const lxd::Api& api, const ContractObjects& o) {
  const std::string& name = o.instance;
  CHECK(api.server_info().api_version == "1.0");
  // The pool scripts/setup.sh makes (volumes look for instances' root filesystems in it).
  {
    const auto pool = api.get_storage_pool("default");
    CHECK(pool.name == "default");
    CHECK(pool.driver == "dir");
    CHECK_FALSE(pool.config.at("source").empty());
  }
  CHECK(kind_of([&] { api.get_storage_pool(o.missing); }) == ErrorKind::NotFound);

  // Missing objects: NotFound, whatever the call.
  CHECK(kind_of([&] { api.get_instance(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.get_instance_state(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.get_profile(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.patch_instance(o.missing, {{"config", {{"user.a", "b"}}}}); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.patch_profile(o.missing, {{"config", {{"user.a", "b"}}}}); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.start_instance(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.stop_instance(o.missing, lxd::StopMode::Force); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.delete_instance(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.delete_profile(o.missing); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.exec(o.missing, {"/bin/true"}); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.get_image_alias(o.missing); }) == ErrorKind::NotFound);

  // Profiles: a taken name is Conflict; GET carries an ETag, lists do not.
  lxd::ProfileSpec profile{o.profile, "contract", o.marks, {}};
  profile.config["user.contract"] = "1";
  api.create_profile(profile);
  CHECK(kind_of([&] { api.create_profile(profile); }) == ErrorKind::Conflict);
  const auto p1 = api.get_profile(o.profile);
  CHECK(p1.config.at("user.contract") == "1");
  CHECK_FALSE(p1.etag.empty());
  bool listed = false;
  for (const auto& p : api.list_profiles()) {
    if (p.name != o.profile) continue;
    listed = true;
    CHECK(p.etag.empty());
  }
  CHECK(listed);
  // A patch merges devices by name; a stale If-Match is refused and changes nothing.
  api.patch_profile(o.profile, {{"devices", {{"d1", {{"type", "disk"}, {"source", "/tmp"}, {"path", "/mnt/1"}}}}}},
                    p1.etag);
  const auto p2 = api.get_profile(o.profile);
  CHECK(p2.etag != p1.etag);
  CHECK(p2.devices.at("d1").at("path") == "/mnt/1");
  CHECK(kind_of([&] { api.patch_profile(o.profile, {{"config", {{"user.contract", "2"}}}}, p1.etag); }) ==
        ErrorKind::PreconditionFailed);
  CHECK(api.get_profile(o.profile).config.at("user.contract") == "1");

  // Instances: what a create needs must exist.
  lxd::InstanceSpec spec;
  spec.name = name;
  spec.profiles = {"default", o.profile};
  spec.config = o.marks;
  spec.config["raw.lxc"] = "lxc.init.cmd = /bin/sleep 100000";
  spec.config["user.contract"] = name;
  spec.source.alias = o.image_alias;
  lxd::InstanceSpec no_profile = spec;
  no_profile.profiles = {"default", o.missing};
  CHECK(kind_of([&] { api.create_instance(no_profile); }) == ErrorKind::Server);
  lxd::InstanceSpec no_image = spec;
  no_image.source.alias = o.missing;
  CHECK(kind_of([&] { api.create_instance(no_image); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { api.get_instance(name); }) == ErrorKind::NotFound);

  api.create_instance(spec);
  CHECK(kind_of([&] { api.create_instance(spec); }) == ErrorKind::Conflict);
  const auto created = api.get_instance(name);
  CHECK(created.status == "Stopped");
  CHECK_FALSE(created.running());
  CHECK(created.config.at("user.contract") == name);
  CHECK(created.config.count("volatile.idmap.next") == 1);  // lxe gives the state files to its root
  CHECK(created.profiles == spec.profiles);
  CHECK(created.expanded_devices.count("d1") == 1);  // from the profile
  CHECK_FALSE(created.etag.empty());
  CHECK(api.get_instance_state(name).pid == 0);
  CHECK(lists(api.get_profile(o.profile).used_by, "/1.0/instances/" + name));
  CHECK(kind_of([&] { api.delete_profile(o.profile); }) == ErrorKind::Server);  // in use

  // Filters on config; with state.
  const auto found = api.list_instances("config.user.contract eq " + name, true);
  REQUIRE(found.size() == 1);
  CHECK(found[0].name == name);
  CHECK(found[0].etag.empty());
  REQUIRE(found[0].state);
  CHECK(found[0].state->status == "Stopped");
  CHECK(api.list_instances("config.user.contract eq " + o.missing).empty());

  // A patch merges config ("" removes a key) and devices by name; If-Match as for profiles.
  api.patch_instance(name, {{"config", {{"user.a", "1"}, {"user.b", "2"}}}}, created.etag);
  const auto patched = api.get_instance(name);
  CHECK(patched.etag != created.etag);
  CHECK(kind_of([&] { api.patch_instance(name, {{"config", {{"user.a", "x"}}}}, created.etag); }) ==
        ErrorKind::PreconditionFailed);
  api.patch_instance(name, {{"config", {{"user.a", ""}}},
                            {"devices", {{"d2", {{"type", "disk"}, {"source", "/tmp"}, {"path", "/mnt/2"}}}}}});
  api.patch_instance(name, {{"devices", {{"d3", {{"type", "disk"}, {"source", "/tmp"}, {"path", "/mnt/3"}}}}}});
  const auto merged = api.get_instance(name);
  CHECK(merged.config.count("user.a") == 0);
  CHECK(merged.config.at("user.b") == "2");
  CHECK(merged.config.at("user.contract") == name);
  CHECK(merged.devices.count("d2") == 1);
  CHECK(merged.devices.count("d3") == 1);

  // A stopped instance runs nothing.
  CHECK(kind_of([&] { api.exec(name, {"/bin/true"}); }) == ErrorKind::BadRequest);

  // Start: running with an init PID; a second start fails; a write changes the ETag.
  api.start_instance(name);
  const auto running = api.get_instance(name);
  CHECK(running.running());
  CHECK(running.etag != merged.etag);
  CHECK(api.get_instance_state(name).pid > 0);
  CHECK(api.get_instance_state(name).status == "Running");
  CHECK(kind_of([&] { api.start_instance(name); }) == ErrorKind::OperationFailed);
  CHECK(kind_of([&] { api.delete_instance(name); }) == ErrorKind::BadRequest);  // running
  CHECK(api.exec(name, {"/bin/true"}).exit_code == 0);

  // Stop: forced now; stopping a stopped instance, forced or not, is fine.
  api.stop_instance(name, lxd::StopMode::Force);
  CHECK_FALSE(api.get_instance(name).running());
  CHECK(api.get_instance_state(name).pid == 0);
  CHECK_FALSE(kind_of([&] { api.stop_instance(name, lxd::StopMode::Force); }));
  CHECK_FALSE(kind_of([&] { api.stop_instance(name, lxd::StopMode::Graceful, std::chrono::seconds(5)); }));

  api.delete_instance(name);
  CHECK(kind_of([&] { api.get_instance(name); }) == ErrorKind::NotFound);
  api.delete_profile(o.profile);
  CHECK(kind_of([&] { api.get_profile(o.profile); }) == ErrorKind::NotFound);
}

}  // namespace lxe::test
