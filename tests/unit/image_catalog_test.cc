// The image catalog over the store and an in-memory LXD: finding images by ID, tag, digest and
// LXD alias; tags moving between images; RemoveImage's untag, delete and refusals; records whose
// LXD image went away; the sweep of images imported but never recorded.
#include <catch2/catch.hpp>

#include "images/catalog.h"
#include "store/store.h"
#include "support/memory_lxd.h"
#include "support/temp_dir.h"

using lxe::images::FoundImage;
using lxe::images::ImageCatalog;
using lxe::images::Removal;
using lxe::images::RemoveRefused;
using lxe::store::ImageRecord;

namespace {

const std::string kId = "sha256:" + std::string(64, 'a');
const std::string kOtherId = "sha256:" + std::string(63, 'a') + "b";
const std::string kDigest = "sha256:" + std::string(64, 'd');

struct Bed {
  lxe::test::TempDir dir;
  lxe::test::MemoryLxd lxd;
  lxe::store::Store store{dir.file("lxe.db"), lxe::store::Store::Mode::ReadWrite};
  ImageCatalog catalog{store, lxd, "lxe"};

  // An image as the puller leaves it: imported into LXD under its alias, then recorded.
  ImageRecord pulled(const std::string& id, const std::string& content, const std::string& tag,
                     const std::string& digest = "") {
    const std::string fingerprint = lxd.import_image(content, catalog.alias_for(id), catalog.import_properties(id));
    ImageRecord r;
    r.id = id;
    r.lxd_fingerprint = fingerprint;
    r.size = 1234;
    return catalog.record_pull(r, tag, digest);
  }
};

bool never_used(const std::string&) { return false; }

}  // namespace

TEST_CASE("image catalog: a pulled image is found by ID, tag and digest in kubelet's spellings", "[images]") {
  Bed bed;
  bed.pulled(kId, "web", "docker.io/library/busybox:1.36", "docker.io/library/busybox@" + kDigest);
  for (const std::string& ref : std::vector<std::string>{kId, std::string(64, 'a'), std::string(12, 'a'), "sha256:" + std::string(12, 'a'),
                                "busybox:1.36", "docker.io/library/busybox:1.36", "library/busybox:1.36",
                                "busybox@" + kDigest, "docker.io/library/busybox@" + kDigest}) {
    INFO(ref);
    const auto found = bed.catalog.find(ref);
    REQUIRE(found);
    CHECK(found->pulled);
    CHECK(found->record.id == kId);
  }
  CHECK_FALSE(bed.catalog.find("busybox:1.35"));
  CHECK_FALSE(bed.catalog.find("busybox@sha256:" + std::string(64, 'e')));
  CHECK_FALSE(bed.catalog.find(std::string(11, 'a')));  // too short to be an ID prefix
  CHECK_FALSE(bed.catalog.find(""));

  SECTION("records survive a restart (a new catalog over the same store)") {
    ImageCatalog again(bed.store, bed.lxd, "lxe");
    const auto found = again.find("busybox:1.36");
    REQUIRE(found);
    CHECK(found->record.repo_digests == std::vector<std::string>{"docker.io/library/busybox@" + kDigest});
    CHECK(found->record.size == 1234);
  }
}

TEST_CASE("image catalog: an operator's LXD image is found by alias, never deleted", "[images]") {
  Bed bed;
  const std::string fingerprint = bed.lxd.add_image("os image", {"ubuntu-base"});
  const auto found = bed.catalog.find("ubuntu-base");
  REQUIRE(found);
  CHECK_FALSE(found->pulled);
  CHECK(found->record.id == "sha256:" + fingerprint);
  CHECK(found->record.repo_tags == std::vector<std::string>{"ubuntu-base:latest"});
  CHECK(bed.catalog.find("docker.io/library/ubuntu-base:latest"));  // kubelet's spelling of it

  const auto outcome = bed.catalog.remove("ubuntu-base", never_used);
  REQUIRE(std::holds_alternative<RemoveRefused>(outcome));
  CHECK_FALSE(std::get<RemoveRefused>(outcome).in_use);
  CHECK(std::get<RemoveRefused>(outcome).message.find("lxc image delete") != std::string::npos);
  CHECK(bed.lxd.get_image(fingerprint).fingerprint == fingerprint);
}

TEST_CASE("image catalog: a tag names one image at a time", "[images]") {
  Bed bed;
  bed.pulled(kId, "old", "docker.io/library/web:1");
  bed.pulled(kId, "old", "docker.io/library/web:stable");
  bed.pulled(kOtherId, "new", "docker.io/library/web:stable");
  CHECK(bed.catalog.find("web:stable")->record.id == kOtherId);
  CHECK(bed.catalog.pulled(kId)->repo_tags == std::vector<std::string>{"docker.io/library/web:1"});
  CHECK(bed.catalog.list().size() == 2);
}

TEST_CASE("image catalog: RemoveImage untags, deletes, refuses an image in use, and is idempotent", "[images]") {
  Bed bed;
  const auto record = bed.pulled(kId, "web", "docker.io/library/web:1");
  bed.pulled(kId, "web", "docker.io/library/web:2");

  SECTION("a tag of an image with two tags: untagged, the LXD image stays") {
    CHECK(std::get<Removal>(bed.catalog.remove("web:1", never_used)) == Removal::Untagged);
    CHECK_FALSE(bed.catalog.find("web:1"));
    CHECK(bed.catalog.find("web:2"));
    CHECK(bed.lxd.get_image(record.lxd_fingerprint).fingerprint == record.lxd_fingerprint);
    SECTION("its last tag: deleted from LXD and the store") {
      CHECK(std::get<Removal>(bed.catalog.remove("web:2", never_used)) == Removal::Deleted);
      CHECK_FALSE(bed.catalog.pulled(kId));
      CHECK(bed.lxd.list_images().empty());
      CHECK(bed.store.list_images().empty());
      CHECK(std::get<Removal>(bed.catalog.remove("web:2", never_used)) == Removal::Absent);
    }
  }
  SECTION("by ID: the image goes with all its tags") {
    CHECK(std::get<Removal>(bed.catalog.remove(kId, never_used)) == Removal::Deleted);
    CHECK_FALSE(bed.catalog.find("web:1"));
    CHECK_FALSE(bed.catalog.find("web:2"));
  }
  SECTION("in use: refused, and nothing changes") {
    const auto outcome = bed.catalog.remove(kId, [&](const std::string& fp) { return fp == record.lxd_fingerprint; });
    REQUIRE(std::holds_alternative<RemoveRefused>(outcome));
    CHECK(std::get<RemoveRefused>(outcome).in_use);
    CHECK(bed.catalog.find("web:1"));
    CHECK(bed.store.list_images().size() == 1);
  }
  SECTION("by its LXD alias: it is ours, so it is deleted") {
    CHECK(std::get<Removal>(bed.catalog.remove(bed.catalog.alias_for(kId), never_used)) == Removal::Deleted);
  }
  SECTION("an unknown name is no error") {
    CHECK(std::get<Removal>(bed.catalog.remove("nothing:here", never_used)) == Removal::Absent);
  }
}

TEST_CASE("image catalog: a record whose LXD image was deleted outside lxe is forgotten", "[images]") {
  Bed bed;
  const auto record = bed.pulled(kId, "web", "docker.io/library/web:1");
  bed.lxd.delete_image(record.lxd_fingerprint);
  CHECK(bed.catalog.list().empty());
  CHECK_FALSE(bed.catalog.find("web:1"));  // kubelet will pull it again
  CHECK(bed.store.list_images().empty());
}

TEST_CASE("image catalog: the sweep deletes this store's unrecorded imports only", "[images]") {
  Bed bed;
  const auto recorded = bed.pulled(kId, "kept", "docker.io/library/web:1");
  // Imported, then lxe died before recording it.
  const std::string orphan = bed.lxd.import_image("orphan", bed.catalog.alias_for(kOtherId),
                                                  bed.catalog.import_properties(kOtherId));
  // Another lxe's import (another store), and an operator's image.
  const std::string third = "sha256:" + std::string(64, 'c');
  auto foreign = bed.catalog.import_properties(third);
  foreign[ImageCatalog::kStoreProperty] = "/var/lib/other-lxe/lxe.db";
  const std::string other = bed.lxd.import_image("other", bed.catalog.alias_for(third), foreign);
  const std::string operators = bed.lxd.add_image("operator", {"mine"});

  CHECK(bed.catalog.sweep_orphans() == 1);
  CHECK_THROWS(bed.lxd.get_image(orphan));
  CHECK_NOTHROW(bed.lxd.get_image(recorded.lxd_fingerprint));
  CHECK_NOTHROW(bed.lxd.get_image(other));
  CHECK_NOTHROW(bed.lxd.get_image(operators));
  CHECK(bed.catalog.sweep_orphans() == 0);
}

TEST_CASE("image catalog: an LXD image pulled from a remote keeps its reference as its tag", "[images]") {
  Bed bed;
  const std::string fingerprint = bed.lxd.import_image("remote image", "other-alias");
  ImageRecord r;
  r.id = "sha256:" + fingerprint;
  r.lxd_fingerprint = fingerprint;
  r.source = "lxd";
  bed.catalog.record_pull(r, "lxetest:busybox/1.36", "");
  bed.catalog.record_pull(r, "lxetest:busybox", "");
  const auto found = bed.catalog.find("lxetest:busybox/1.36");
  REQUIRE(found);
  CHECK(found->pulled);
  CHECK(found->record.repo_tags == std::vector<std::string>{"lxetest:busybox/1.36", "lxetest:busybox"});
  CHECK(std::get<Removal>(bed.catalog.remove("lxetest:busybox", never_used)) == Removal::Untagged);
  CHECK(std::get<Removal>(bed.catalog.remove("lxetest:busybox/1.36", never_used)) == Removal::Deleted);
  CHECK(bed.lxd.list_images().empty());
}
