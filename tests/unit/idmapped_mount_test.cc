// The host side of volumes: LXD's idmaps, user namespaces with those maps, and the staged bind
// mounts themselves, made for real in temporary folders (the tests run as root, as lxe does). No
// LXD: tests/integration/lifecycle_volumes_test.cc shows the same mounts inside containers.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "reconcile/idmapped_mount.h"
#include "support/temp_dir.h"

using lxe::UniqueFd;
using lxe::reconcile::id_map_file;
using lxe::reconcile::IdRange;
using lxe::reconcile::is_mount_point;
using lxe::reconcile::make_mount_point;
using lxe::reconcile::make_user_namespace;
using lxe::reconcile::parse_lxd_idmap;
using lxe::reconcile::stage_bind_mount;
using lxe::reconcile::unmount_all_under;
namespace fs = std::filesystem;

namespace {

// LXD 5.0.2's volatile.idmap.next on this machine (root:100000:10000001 in /etc/subuid).
constexpr const char* kLxdIdmap =
    R"([{"Isuid":true,"Isgid":false,"Hostid":100000,"Nsid":0,"Maprange":10000001},)"
    R"({"Isuid":false,"Isgid":true,"Hostid":100000,"Nsid":0,"Maprange":10000001}])";
constexpr uid_t kContainerRoot = 100000;

struct stat stat_of(const std::string& path) {
  struct stat st {};
  INFO(path);
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

// errno of creating `path` (0 when it worked), as `uid`:`uid` in a child process.
int create_as(uid_t uid, const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (uid != 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0))
      ::_exit(255);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ::_exit(fd >= 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) != 255);
  return WEXITSTATUS(status);
}

// A source folder of root's, mode 0700, with a file of root's, and a place to stage it.
struct Staging {
  lxe::test::TempDir dir;  // unmounts what is left in it before removing it
  std::string source = dir.file("source");
  std::string target = dir.file("staged");

  Staging() {
    // The temp folder is root's 0700: a process of the container's host UID must pass through.
    ::chmod(dir.path().c_str(), 0755);
    fs::create_directories(source);
    ::chmod(source.c_str(), 0700);
    lxe::test::write_file(source + "/file", "data\n");
    ::chmod((source + "/file").c_str(), 0600);
  }
};

}  // namespace

TEST_CASE("parse_lxd_idmap and id_map_file: LXD's idmap as uid_map and gid_map lines", "[idmapped_mount]") {
  const auto ranges = parse_lxd_idmap(kLxdIdmap);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0] == IdRange{true, false, 0, 100000, 10000001});
  CHECK(ranges[1] == IdRange{false, true, 0, 100000, 10000001});
  CHECK(id_map_file(ranges, true) == "0 100000 10000001\n");
  CHECK(id_map_file(ranges, false) == "0 100000 10000001\n");

  // Both kinds in one entry, several ranges (raw.idmap), and empty ranges left out.
  const auto both = parse_lxd_idmap(
      R"([{"Isuid":true,"Isgid":true,"Hostid":1000,"Nsid":1000,"Maprange":1},)"
      R"({"Isuid":true,"Isgid":true,"Hostid":200000,"Nsid":0,"Maprange":1000},)"
      R"({"Isuid":true,"Isgid":false,"Hostid":5,"Nsid":5,"Maprange":0}])");
  REQUIRE(both.size() == 2);
  CHECK(id_map_file(both, true) == "1000 1000 1\n0 200000 1000\n");
  CHECK(id_map_file(both, false) == "1000 1000 1\n0 200000 1000\n");
  CHECK(parse_lxd_idmap("[]").empty());

  for (const char* bad : {"", "{}", "[1]", R"([{"Isuid":true,"Nsid":0,"Maprange":1}])",
                          R"([{"Isuid":true,"Hostid":-1,"Nsid":0,"Maprange":1}])"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_lxd_idmap(bad), std::runtime_error);
  }
}

TEST_CASE("make_user_namespace: a namespace with both maps, or an error without one", "[idmapped_mount]") {
  const UniqueFd ns = make_user_namespace(parse_lxd_idmap(kLxdIdmap));
  REQUIRE(ns.valid());
  const auto link = fs::read_symlink("/proc/self/fd/" + std::to_string(ns.get()));
  CHECK(link.string().rfind("user:[", 0) == 0);
  CHECK(link != fs::read_symlink("/proc/self/ns/user"));
  CHECK_THROWS_WITH(make_user_namespace({IdRange{true, false, 0, 100000, 65536}}), Catch::Contains("no gid"));
}

TEST_CASE("stage_bind_mount: idmapped like the container, host files unchanged", "[idmapped_mount]") {
  Staging s;
  const UniqueFd ns = make_user_namespace(parse_lxd_idmap(kLxdIdmap));
  const auto staged = stage_bind_mount(s.source, s.target, ns, false);
  CHECK(staged.idmapped);
  CHECK(staged.note.empty());
  CHECK(is_mount_point(s.target));
  CHECK_FALSE(is_mount_point(s.source));

  // Host root's files show as the container root's host UID through the staged mount.
  CHECK(stat_of(s.target).st_uid == kContainerRoot);
  CHECK(stat_of(s.target + "/file").st_uid == kContainerRoot);
  CHECK(stat_of(s.target + "/file").st_gid == kContainerRoot);
  CHECK(lxe::test::read_file(s.target + "/file") == "data\n");
  // What the container's root writes is host root's on the host; the folder keeps owner and mode.
  CHECK(create_as(kContainerRoot, s.target + "/written") == 0);
  CHECK(stat_of(s.source + "/written").st_uid == 0);
  CHECK(stat_of(s.source + "/written").st_gid == 0);
  CHECK((stat_of(s.source).st_mode & 07777) == 0700);
  CHECK(stat_of(s.source).st_uid == 0);
  // Host root is nobody the mount knows: it cannot create files there (EOVERFLOW), and a host
  // user of another UID gets no more than the folder's mode allows.
  CHECK(create_as(0, s.target + "/by-host-root") == EOVERFLOW);
  CHECK(create_as(4242, s.target + "/by-other") == EACCES);

  unmount_all_under(s.dir.path());
  CHECK_FALSE(is_mount_point(s.target));
  CHECK(fs::exists(s.source + "/written"));
}

TEST_CASE("stage_bind_mount: read-only stays read-only, idmapped or not", "[idmapped_mount]") {
  Staging s;
  const UniqueFd ns = make_user_namespace(parse_lxd_idmap(kLxdIdmap));
  REQUIRE(stage_bind_mount(s.source, s.target, ns, true).idmapped);
  CHECK(create_as(kContainerRoot, s.target + "/x") == EROFS);
  const std::string plain = s.dir.file("plain");
  const auto staged = stage_bind_mount(s.source, plain, UniqueFd(), true);
  CHECK_FALSE(staged.idmapped);
  CHECK(staged.note.empty());
  CHECK(create_as(0, plain + "/x") == EROFS);
  CHECK_FALSE(fs::exists(s.source + "/x"));
}

TEST_CASE("stage_bind_mount: plain, a file, a symlinked source, a filesystem that refuses the idmap",
          "[idmapped_mount]") {
  Staging s;
  // No user namespace: a plain bind, host IDs as they are.
  const std::string plain = s.dir.file("plain");
  REQUIRE_FALSE(stage_bind_mount(s.source, plain, UniqueFd(), false).idmapped);
  CHECK(stat_of(plain + "/file").st_uid == 0);

  const UniqueFd ns = make_user_namespace(parse_lxd_idmap(kLxdIdmap));
  // A file is staged on a file.
  const std::string file_target = s.dir.file("file-staged");
  REQUIRE(stage_bind_mount(s.source + "/file", file_target, ns, false).idmapped);
  CHECK(fs::is_regular_file(file_target));
  CHECK(lxe::test::read_file(file_target) == "data\n");
  CHECK(stat_of(file_target).st_uid == kContainerRoot);

  // A symlink to the folder is followed on the host.
  const std::string link = s.dir.file("link");
  fs::create_directory_symlink(s.source, link);
  const std::string via_link = s.dir.file("via-link");
  REQUIRE(stage_bind_mount(link, via_link, ns, false).idmapped);
  CHECK(fs::is_directory(fs::symlink_status(via_link)));
  CHECK(lxe::test::read_file(via_link + "/file") == "data\n");

  // devtmpfs takes no idmap: a plain bind, and a note that says so.
  const std::string dev = s.dir.file("dev");
  const auto staged = stage_bind_mount("/dev", dev, ns, false);
  CHECK_FALSE(staged.idmapped);
  CHECK_THAT(staged.note, Catch::Contains("/dev") && Catch::Contains("cannot be idmapped"));
  CHECK(fs::exists(dev + "/null"));

  // A host path that does not exist is an error naming it; nothing is mounted.
  const std::string nothing = s.dir.file("nothing");
  CHECK_THROWS_WITH(stage_bind_mount(s.dir.file("gone"), nothing, ns, false), Catch::Contains(s.dir.file("gone")));
  CHECK_FALSE(is_mount_point(nothing));
}

TEST_CASE("make_mount_point and unmount_all_under: kinds, stacked mounts, nothing left", "[idmapped_mount]") {
  Staging s;
  const std::string point = s.dir.file("point");
  make_mount_point(point, true);
  CHECK(fs::is_directory(point));
  CHECK((stat_of(point).st_mode & 07777) == 0700);
  make_mount_point(point, true);  // already right: kept
  make_mount_point(point, false);  // the host path became a file
  CHECK(fs::is_regular_file(point));
  make_mount_point(point, true);
  CHECK(fs::is_directory(point));

  // Two mounts stacked on one point, one below another: all go.
  REQUIRE_FALSE(stage_bind_mount(s.source, point, UniqueFd(), false).idmapped);
  CHECK_THROWS_WITH(make_mount_point(point, false), Catch::Contains("mounted"));
  REQUIRE_FALSE(stage_bind_mount(s.source, point, UniqueFd(), true).idmapped);
  const std::string inner = s.dir.file("outer");
  fs::create_directories(inner);
  REQUIRE_FALSE(stage_bind_mount(s.source, inner, UniqueFd(), false).idmapped);
  fs::create_directories(s.source + "/sub");
  REQUIRE_FALSE(stage_bind_mount(s.source, inner + "/sub", UniqueFd(), false).idmapped);
  unmount_all_under(s.dir.path());
  CHECK_FALSE(is_mount_point(point));
  CHECK_FALSE(is_mount_point(inner));
  CHECK(fs::exists(s.source + "/file"));
  unmount_all_under(s.dir.path());  // nothing to do
}

TEST_CASE("idmapped_mounts_problem: none on this host", "[idmapped_mount]") {
  lxe::test::TempDir dir;
  CHECK(lxe::reconcile::idmapped_mounts_problem(dir.path()).empty());
  CHECK_FALSE(lxe::reconcile::idmapped_mounts_problem(dir.file("missing")).empty());
}
