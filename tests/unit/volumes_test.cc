// Volumes without LXD: the decision (made once), paths resolved in a root filesystem and kept, the
// staged mounts made, found missing, made again and removed, the sweep, and a host without
// idmapped mounts. The mounts are real (the tests run as root); the instance is a value.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lxd/error.h"
#include "reconcile/idmapped_mount.h"
#include "reconcile/volumes.h"
#include "support/temp_dir.h"

using lxe::reconcile::HostFiles;
using lxe::reconcile::is_mount_point;
using lxe::reconcile::Volumes;
using lxe::reconcile::VolumeSupport;
namespace fs = std::filesystem;
namespace v1 = ::runtime::v1;

namespace {

constexpr const char* kLxdIdmap =
    R"([{"Isuid":true,"Isgid":false,"Hostid":100000,"Nsid":0,"Maprange":10000001},)"
    R"({"Isuid":false,"Isgid":true,"Hostid":100000,"Nsid":0,"Maprange":10000001}])";

struct stat stat_of(const std::string& path) {
  struct stat st {};
  INFO(path);
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

// A state directory, a host folder and file to mount, a root filesystem with /var/run -> ../run,
// and a container whose mounts are the folder at /var/run/data and the file read-only at /etc/f.
struct World {
  lxe::test::TempDir dir;
  HostFiles files{dir.file("state")};
  std::string host = dir.file("host");
  std::string host_file = dir.file("host-file");
  std::string rootfs = dir.file("rootfs");
  lxe::store::ContainerRecord container;
  v1::ContainerConfig config;
  lxe::lxd::Instance instance;
  int probes = 0;

  World() {
    fs::create_directories(files.root());
    fs::create_directories(host);
    ::chmod(host.c_str(), 0700);
    lxe::test::write_file(host + "/inside", "x\n");
    lxe::test::write_file(host_file, "f\n");
    fs::create_directories(rootfs + "/run");
    fs::create_directories(rootfs + "/var");
    fs::create_directories(rootfs + "/etc");
    fs::create_symlink("../run", rootfs + "/var/run");
    container.id = std::string(64, 'b');
    container.lxd_name = "lxe-web-app-bbbbbbbbbbbb";
    auto* m0 = config.add_mounts();
    m0->set_host_path(host);
    m0->set_container_path("/var/run/data");
    auto* m1 = config.add_mounts();
    m1->set_host_path(host_file);
    m1->set_container_path("/etc/f");
    m1->set_readonly(true);
    instance.name = container.lxd_name;
    instance.config["volatile.idmap.next"] = kLxdIdmap;
  }

  Volumes volumes(bool idmapped) {
    return Volumes(files, [this, idmapped] {
      ++probes;
      return VolumeSupport{idmapped, idmapped ? "" : "no idmapped mounts in this test"};
    });
  }
  std::string stage(int n) const { return files.volume_stage(container.id, n); }
};

}  // namespace

TEST_CASE("volumes: decided once, on first use; not decided while the probe cannot ask LXD", "[volumes]") {
  World w;
  int calls = 0;
  Volumes volumes(w.files, [&]() -> VolumeSupport {
    if (++calls == 1) throw lxe::lxd::Error(lxe::lxd::ErrorKind::Transport, "LXD is down");
    return {true, ""};
  });
  CHECK_FALSE(volumes.decided());
  CHECK_THROWS_AS(volumes.support(), lxe::lxd::Error);
  CHECK_FALSE(volumes.decided());
  CHECK(volumes.support().idmapped);
  CHECK(volumes.support().idmapped);
  REQUIRE(volumes.decided());
  CHECK(volumes.decided()->idmapped);
  CHECK(calls == 2);

  // A container without mounts never needs the decision.
  Volumes untouched = w.volumes(true);
  CHECK(untouched.layout(w.container.id, v1::ContainerConfig()).staged == false);
  CHECK(untouched.unstaged(w.container.id, v1::ContainerConfig()).empty());
  CHECK(w.probes == 0);
}

TEST_CASE("volumes: what was decided is read without waiting for a probe under way (CRI Status)", "[volumes]") {
  World w;
  std::promise<void> probing, release;
  auto release_future = release.get_future();
  Volumes volumes(w.files, [&] {
    probing.set_value();
    release_future.wait();  // an LXD that takes its time to answer
    return VolumeSupport{true, ""};
  });
  auto decision = std::async(std::launch::async, [&] { return volumes.support(); });
  probing.get_future().wait();
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(volumes.decided());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
  release.set_value();
  CHECK(decision.get().idmapped);
  CHECK(volumes.decided()->idmapped);
}

TEST_CASE("volumes: staged, idmapped, paths resolved and kept; missing mounts found and made again; removed",
          "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(true);

  // Before the instance exists: empty mount points, so that LXD accepts the devices.
  volumes.make_mount_points(w.container.id, w.config);
  CHECK(fs::is_directory(w.stage(0)));
  CHECK(fs::is_regular_file(w.stage(1)));
  CHECK((stat_of(w.files.volumes_dir()).st_mode & 07777) == 0700);
  CHECK((stat_of(w.files.volume_dir(w.container.id)).st_mode & 07777) == 0700);
  {
    const auto layout = volumes.layout(w.container.id, w.config);
    CHECK(layout.staged);
    CHECK(layout.container_paths == std::vector<std::string>{});
  }
  CHECK(volumes.unstaged(w.container.id, w.config) == std::vector<std::string>{"mount0", "mount1"});

  // First start: resolved in the root filesystem, staged with the instance's idmap.
  CHECK(volumes.prepare(w.container, w.config, w.instance, w.rootfs).empty());
  CHECK(volumes.layout(w.container.id, w.config).container_paths == std::vector<std::string>{"/run/data", "/etc/f"});
  CHECK(is_mount_point(w.stage(0)));
  CHECK(is_mount_point(w.stage(1)));
  CHECK(stat_of(w.stage(0) + "/inside").st_uid == 100000);
  CHECK(lxe::test::read_file(w.stage(1)) == "f\n");
  CHECK(volumes.unstaged(w.container.id, w.config).empty());
  CHECK((stat_of(w.files.volume_paths_file(w.container.id)).st_mode & 07777) == 0600);

  // Resolved once: a root filesystem changed later (or none given, for a container that ran)
  // moves nothing.
  fs::remove(w.rootfs + "/var/run");
  fs::create_directories(w.rootfs + "/var/run");
  REQUIRE(::umount2(w.stage(0).c_str(), MNT_DETACH) == 0);
  CHECK(volumes.unstaged(w.container.id, w.config) == std::vector<std::string>{"mount0"});
  CHECK(volumes.prepare(w.container, w.config, w.instance, w.rootfs).empty());
  CHECK(volumes.layout(w.container.id, w.config).container_paths == std::vector<std::string>{"/run/data", "/etc/f"});
  CHECK(is_mount_point(w.stage(0)));
  CHECK(volumes.unstaged(w.container.id, w.config).empty());

  // A paths file for another config is not used for this one.
  auto other = w.config;
  other.mutable_mounts(0)->set_container_path("/elsewhere");
  CHECK(volumes.layout(w.container.id, other).container_paths == std::vector<std::string>{"", "/etc/f"});

  // Removed: unmounted first, then the folder; the host's files are where they were.
  volumes.remove(w.container.id);
  CHECK_FALSE(fs::exists(w.files.volume_dir(w.container.id)));
  CHECK(lxe::test::read_file(w.host + "/inside") == "x\n");
  CHECK(lxe::test::read_file(w.host_file) == "f\n");
  volumes.remove(w.container.id);  // nothing left: fine
  CHECK(w.probes == 1);
}

TEST_CASE("volumes: a privileged container (no idmap) gets plain staged mounts; a rootfs that is not there is said",
          "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(true);
  w.instance.config.clear();
  const auto notes = volumes.prepare(w.container, w.config, w.instance, w.dir.file("no-rootfs"));
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains(w.dir.file("no-rootfs")) && Catch::Contains("as given"));
  CHECK_FALSE(fs::exists(w.files.volume_paths_file(w.container.id)));
  CHECK(volumes.layout(w.container.id, w.config).container_paths.empty());
  REQUIRE(is_mount_point(w.stage(0)));
  CHECK(stat_of(w.stage(0) + "/inside").st_uid == 0);
  volumes.remove(w.container.id);
}

TEST_CASE("volumes: a loop in the image's links fails the staging, naming the path", "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(true);
  fs::create_symlink("loop", w.rootfs + "/loop");
  w.config.mutable_mounts(0)->set_container_path("/loop/x");
  CHECK_THROWS_WITH(volumes.prepare(w.container, w.config, w.instance, w.rootfs),
                    Catch::Contains("/loop/x") && Catch::Contains("symbolic links"));
  volumes.remove(w.container.id);
}

TEST_CASE("volumes: container paths that the image's links lead into /.lxe or onto another mount fail the staging",
          "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(false);
  fs::create_symlink("/.lxe/state", w.rootfs + "/etc/sneaky");
  w.config.mutable_mounts(1)->set_container_path("/etc/sneaky");
  CHECK_THROWS_WITH(volumes.prepare(w.container, w.config, w.instance, w.rootfs),
                    Catch::Contains("mounts[1] at '/etc/sneaky'") && Catch::Contains("/.lxe/state"));
  w.config.mutable_mounts(1)->set_container_path("/run/data");  // where /var/run/data (mounts[0]) goes
  CHECK_THROWS_WITH(volumes.prepare(w.container, w.config, w.instance, w.rootfs),
                    Catch::Contains("mounts[1] at '/run/data' leads to /run/data") && Catch::Contains("mounts[0]"));
  CHECK_FALSE(fs::exists(w.files.volume_paths_file(w.container.id)));
  volumes.remove(w.container.id);
}

TEST_CASE("volumes: without idmapped mounts, the host paths are the sources and only paths are resolved",
          "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(false);
  volumes.make_mount_points(w.container.id, w.config);
  CHECK_FALSE(fs::exists(w.stage(0)));
  CHECK(volumes.prepare(w.container, w.config, w.instance, w.rootfs).empty());
  const auto layout = volumes.layout(w.container.id, w.config);
  CHECK_FALSE(layout.staged);
  CHECK(layout.container_paths == std::vector<std::string>{"/run/data", "/etc/f"});
  CHECK_FALSE(is_mount_point(w.stage(0)));
  CHECK(volumes.unstaged(w.container.id, w.config).empty());
  REQUIRE(volumes.decided());
  CHECK(volumes.decided()->reason == "no idmapped mounts in this test");
}

TEST_CASE("volumes: the sweep removes the staged mounts of containers that no longer exist, and only those",
          "[volumes]") {
  World w;
  const Volumes volumes = w.volumes(true);
  auto gone = w.container;
  gone.id = std::string(64, 'd');
  REQUIRE(volumes.prepare(w.container, w.config, w.instance, w.rootfs).empty());
  REQUIRE(volumes.prepare(gone, w.config, w.instance, w.rootfs).empty());
  CHECK(volumes.sweep([&](const std::string& id) { return id == w.container.id; }) == 1);
  CHECK_FALSE(fs::exists(w.files.volume_dir(gone.id)));
  CHECK(is_mount_point(w.stage(0)));
  CHECK(lxe::test::read_file(w.host + "/inside") == "x\n");
  CHECK(volumes.sweep([](const std::string&) { return true; }) == 0);
  volumes.remove(w.container.id);
}
