// Container paths resolved inside a container's root filesystem, over a root filesystem made in a
// temporary folder: the image's symlinks followed as the container would follow them, never out
// of the root filesystem, and never on the host side.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "reconcile/rootfs_paths.h"
#include "support/temp_dir.h"

using lxe::reconcile::resolve_in_rootfs;
namespace fs = std::filesystem;

namespace {

// A small root filesystem: /run, /etc/hosts (a file), and the links under test.
struct Rootfs {
  lxe::test::TempDir dir;
  std::string root = dir.file("rootfs");

  Rootfs() {
    for (const char* d : {"run", "etc", "var", "usr/lib", "srv/data"}) fs::create_directories(root + "/" + d);
    lxe::test::write_file(root + "/etc/hosts", "127.0.0.1 localhost\n");
  }
  void link(const std::string& at, const std::string& target) const { fs::create_symlink(target, root + at); }
  std::string resolve(const std::string& path) const { return resolve_in_rootfs(root, path); }
};

std::string error_of(const Rootfs& r, const std::string& path) {
  try {
    const auto resolved = r.resolve(path);
    FAIL("resolved to " << resolved);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("resolve_in_rootfs: paths without symlinks are kept, cleaned", "[rootfs_paths]") {
  Rootfs r;
  CHECK(r.resolve("/srv/data") == "/srv/data");
  CHECK(r.resolve("/srv//data/") == "/srv/data");
  CHECK(r.resolve("/srv/./data") == "/srv/data");
  // What does not exist yet is kept as written: LXC creates it.
  CHECK(r.resolve("/data") == "/data");
  CHECK(r.resolve("/srv/new/deeper") == "/srv/new/deeper");
  CHECK(r.resolve("/srv/new/../other") == "/srv/other");
  CHECK(r.resolve("/etc/hosts") == "/etc/hosts");
}

TEST_CASE("resolve_in_rootfs: /var/run -> ../run and -> /run, as in most images", "[rootfs_paths]") {
  const std::string token = "/var/run/secrets/kubernetes.io/serviceaccount";
  SECTION("relative link") {
    Rootfs r;
    r.link("/var/run", "../run");
    CHECK(r.resolve(token) == "/run/secrets/kubernetes.io/serviceaccount");
    CHECK(r.resolve("/var/run") == "/run");
  }
  SECTION("absolute link") {
    Rootfs r;
    r.link("/var/run", "/run");
    CHECK(r.resolve(token) == "/run/secrets/kubernetes.io/serviceaccount");
  }
  SECTION("chains of links, and a link to a link's folder") {
    Rootfs r;
    r.link("/var/run", "/usr/lib/../../run-link");
    r.link("/run-link", "run");
    CHECK(r.resolve(token) == "/run/secrets/kubernetes.io/serviceaccount");
  }
  SECTION("a dangling link as the last component resolves to its target, which LXC creates") {
    Rootfs r;
    r.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
    CHECK(r.resolve("/etc/resolv.conf") == "/run/systemd/resolve/stub-resolv.conf");
  }
}

TEST_CASE("resolve_in_rootfs: nothing leads outside the root filesystem", "[rootfs_paths]") {
  Rootfs r;
  // `..` above the container's root is its root.
  CHECK(r.resolve("/../../srv/data") == "/srv/data");
  r.link("/srv/up", "../../../../../../etc");
  CHECK(r.resolve("/srv/up/hosts") == "/etc/hosts");
  r.link("/srv/abs", "/../../usr/lib");
  CHECK(r.resolve("/srv/abs/x") == "/usr/lib/x");
  // An absolute target is the container's path, not the host's: a host folder of that name is not
  // looked at, nor a symlink in it followed.
  const std::string host_dir = r.dir.file("host-only");
  fs::create_directories(host_dir);
  fs::create_symlink("/etc", host_dir + "/escape");
  r.link("/srv/host", host_dir);
  CHECK(r.resolve("/srv/host/escape/passwd") == host_dir + "/escape/passwd");
}

TEST_CASE("resolve_in_rootfs: loops, too many links, files in the middle and the root itself are errors",
          "[rootfs_paths]") {
  Rootfs r;
  r.link("/a", "b");
  r.link("/b", "/a");
  CHECK_THAT(error_of(r, "/a/x"), Catch::Contains("'/a/x'") && Catch::Contains("symbolic links"));

  // 40 links in a row are fine (the kernel's limit), 41 are not.
  for (int i = 0; i < 41; ++i) r.link("/l" + std::to_string(i), "l" + std::to_string(i + 1));
  fs::create_directories(r.root + "/l41");
  CHECK(r.resolve("/l1/x") == "/l41/x");
  CHECK_THAT(error_of(r, "/l0/x"), Catch::Contains("symbolic links"));

  CHECK_THAT(error_of(r, "/etc/hosts/x"), Catch::Contains("'/etc/hosts'") && Catch::Contains("not a directory"));
  CHECK_THAT(error_of(r, "/etc/hosts/."), Catch::Contains("not a directory"));
  r.link("/root-link", "/");
  CHECK_THAT(error_of(r, "/root-link"), Catch::Contains("root directory"));
  CHECK_THAT(error_of(r, "/srv/.."), Catch::Contains("root directory"));
  CHECK_THAT(error_of(r, "relative/path"), Catch::Contains("not an absolute path"));
}

TEST_CASE("resolve_in_rootfs: a root filesystem that is not there is an error naming it", "[rootfs_paths]") {
  lxe::test::TempDir dir;
  try {
    resolve_in_rootfs(dir.file("nope"), "/data");
    FAIL("resolved");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(dir.file("nope")));
  }
}
