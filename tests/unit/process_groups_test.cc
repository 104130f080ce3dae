// A container process's supplementary groups: the primary group, the image's /etc/group
// membership (Merge) and CRI's supplemental_groups, as critest's SupplementalGroupsPolicy specs
// expect them.
#include <catch2/catch.hpp>

#include "model/process_groups.h"

using lxe::model::process_groups;
using Groups = std::vector<uint32_t>;

namespace {

// cri-tools' image-predefined-group: default-user (1000) is also in group-defined-in-image (50000).
constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,someone\n"
    "default-user:x:1000:\n"
    "group-defined-in-image:x:50000:default-user\n"
    "other:x:60000:someone,default-user,third\n";

}  // namespace

TEST_CASE("process groups: Merge adds the groups /etc/group lists the user in", "[groups]") {
  CHECK(process_groups(1000, 1000, {1234}, true, kPasswd, kGroup) == Groups{1000, 50000, 60000, 1234});
  // root's own membership.
  CHECK(process_groups(0, 0, {}, true, kPasswd, kGroup) == Groups{0, 10});
}

TEST_CASE("process groups: Strict is the primary group and supplemental_groups only", "[groups]") {
  CHECK(process_groups(1000, 1000, {1234}, false, kPasswd, kGroup) == Groups{1000, 1234});
  CHECK(process_groups(1000, 1000, {}, false, kPasswd, kGroup) == Groups{1000});
}

TEST_CASE("process groups: each group once, in order of first appearance", "[groups]") {
  CHECK(process_groups(1000, 1000, {50000, 1000, 5678, 5678}, true, kPasswd, kGroup) == Groups{1000, 50000, 60000, 5678});
}

TEST_CASE("process groups: a uid without a passwd entry has no image groups", "[groups]") {
  CHECK(process_groups(4242, 4242, {1234, 5678}, true, kPasswd, kGroup) == Groups{4242, 1234, 5678});
  CHECK(process_groups(1000, 1000, {}, true, "", kGroup) == Groups{1000});
  CHECK(process_groups(1000, 1000, {}, true, kPasswd, "") == Groups{1000});
}

TEST_CASE("process groups: malformed and comment lines are skipped", "[groups]") {
  const char* passwd = "# users\nbroken\n:x:1000:1000::/:/bin/sh\nx:x:notanumber:1\nuser:x:1000:1000::/:/bin/sh";
  const char* group = "bad\nalso-bad:x:12x:user\ngood:x:77:user\nnomembers:x:78\n#c:x:79:user";
  CHECK(process_groups(1000, 1000, {}, true, passwd, group) == Groups{1000, 77});
  // A member name is matched whole.
  CHECK(process_groups(1000, 1000, {}, true, "us:x:1000:1000::/:/bin/sh\n", group) == Groups{1000});
}
