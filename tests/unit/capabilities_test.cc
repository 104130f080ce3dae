// A container's capabilities: containerd's default set, add and drop (ALL included), names as CRI
// users write them, privileged, and the host kernel's last capability.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "model/capabilities.h"

using lxe::model::capability_name;
using lxe::model::capability_names;
using lxe::model::capability_number;
using lxe::model::container_capabilities;
using lxe::model::default_capabilities;
using Catch::Matchers::Contains;

namespace {

using Names = std::vector<std::string>;

Names caps(const Names& add, const Names& drop, bool privileged = false, int last_cap = 40) {
  auto result = container_capabilities(add, drop, privileged, last_cap);
  if (const auto* problem = std::get_if<std::string>(&result)) FAIL(*problem);
  return capability_names(std::get<std::vector<int>>(result));
}

std::string problem(const Names& add, const Names& drop) {
  auto result = container_capabilities(add, drop, false, 40);
  REQUIRE(std::holds_alternative<std::string>(result));
  return std::get<std::string>(result);
}

const Names kDefault = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
                        "CAP_KILL",   "CAP_SETGID",           "CAP_SETUID",     "CAP_SETPCAP",
                        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",
                        "CAP_AUDIT_WRITE", "CAP_SETFCAP"};

}  // namespace

TEST_CASE("capabilities: names and numbers as linux/capability.h has them", "[capabilities]") {
  CHECK(capability_name(0) == "CAP_CHOWN");
  CHECK(capability_name(12) == "CAP_NET_ADMIN");
  CHECK(capability_name(21) == "CAP_SYS_ADMIN");
  CHECK(capability_name(40) == "CAP_CHECKPOINT_RESTORE");
  CHECK(capability_name(41).empty());
  CHECK(capability_name(-1).empty());
  for (int i = 0; i <= lxe::model::kLastKnownCapability; ++i) CHECK(capability_number(capability_name(i)) == i);
}

TEST_CASE("capabilities: a name with or without CAP_, in any case, as containerd takes it", "[capabilities]") {
  CHECK(capability_number("NET_ADMIN") == 12);
  CHECK(capability_number("net_admin") == 12);
  CHECK(capability_number("CAP_NET_ADMIN") == 12);
  CHECK(capability_number("cap_Net_Admin") == 12);
  CHECK_FALSE(capability_number("ALL"));
  CHECK_FALSE(capability_number("NET_ADMINS"));
  CHECK_FALSE(capability_number(""));
  CHECK_FALSE(capability_number("CAP_"));
}

TEST_CASE("capabilities: the default set is containerd's fourteen", "[capabilities]") {
  CHECK(default_capabilities().size() == 14);
  CHECK_THAT(caps({}, {}), Catch::UnorderedEquals(kDefault));
  // Sorted by number.
  CHECK(caps({}, {}).front() == "CAP_CHOWN");
  CHECK(caps({}, {}).back() == "CAP_SETFCAP");
}

TEST_CASE("capabilities: add and drop single names", "[capabilities]") {
  const auto with_admin = caps({"NET_ADMIN"}, {});
  CHECK(with_admin.size() == 15);
  CHECK_THAT(with_admin, Catch::VectorContains(std::string("CAP_NET_ADMIN")));
  const auto no_raw = caps({}, {"net_raw"});
  CHECK(no_raw.size() == 13);
  CHECK(std::find(no_raw.begin(), no_raw.end(), "CAP_NET_RAW") == no_raw.end());
  // A name in both lists is dropped (drops come after adds, as in containerd).
  const auto both = caps({"SYS_TIME"}, {"CAP_SYS_TIME"});
  CHECK(std::find(both.begin(), both.end(), "CAP_SYS_TIME") == both.end());
  // Adding what is there already changes nothing.
  CHECK(caps({"CHOWN", "chown"}, {}) == caps({}, {}));
}

TEST_CASE("capabilities: ALL in add is every capability of the kernel, ALL in drop is none", "[capabilities]") {
  CHECK(caps({"ALL"}, {}).size() == 41);
  CHECK(caps({"ALL"}, {}, false, 37).size() == 38);  // an older kernel: cap_last_cap 37
  CHECK(caps({}, {"ALL"}).empty());
  CHECK(caps({"all"}, {"All"}).empty());
  // Single names still count after ALL: everything but CHOWN; nothing but NET_ADMIN.
  const auto all_but_chown = caps({"ALL"}, {"CHOWN"});
  CHECK(all_but_chown.size() == 40);
  CHECK(all_but_chown.front() == "CAP_DAC_OVERRIDE");
  CHECK(caps({"NET_ADMIN"}, {"ALL"}) == Names{"CAP_NET_ADMIN"});
}

TEST_CASE("capabilities: privileged is every capability, whatever add and drop say", "[capabilities]") {
  CHECK(caps({}, {}, true).size() == 41);
  CHECK(caps({}, {"ALL"}, true).size() == 41);
  CHECK(caps({}, {}, true, 35).size() == 36);
}

TEST_CASE("capabilities: a capability newer than the kernel is left out", "[capabilities]") {
  const auto on_old_kernel = caps({"BPF", "PERFMON"}, {}, false, 37);
  CHECK(on_old_kernel.size() == 14);
}

TEST_CASE("capabilities: an unknown name is refused, named with its list", "[capabilities]") {
  CHECK_THAT(problem({"NET_ADMIN", "NET_ADMINS"}, {}), Contains("add_capabilities has 'NET_ADMINS'"));
  CHECK_THAT(problem({}, {"CAP_FOO"}), Contains("drop_capabilities has 'CAP_FOO'"));
  CHECK_THAT(problem({}, {""}), Contains("drop_capabilities has ''"));
  // Also for a privileged container, where the lists do not count: a typo is still a mistake.
  CHECK(std::holds_alternative<std::string>(container_capabilities({"WRONG"}, {}, true, 40)));
}
