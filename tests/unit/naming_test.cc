// LXD names for lxe's objects: sanitising CRI names, the shape of the names, prefix validation,
// and new IDs.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "model/naming.h"

using lxe::model::container_lxd_name;
using lxe::model::new_id;
using lxe::model::sandbox_lxd_name;
using lxe::model::sanitize_name_part;
using lxe::model::valid_lxd_name;
using lxe::model::valid_lxd_name_prefix;

namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

bool only_name_chars(const std::string& s) {
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

// CRI names as they come: Kubernetes names, but also whatever crictl users or a buggy client send.
std::vector<std::string> nasty_names() {
  return {
      "",
      "web",
      "Web-Server",
      "my_pod.name",
      "nginx-deployment-66b6c48dd5-x7k2p",
      "-",
      "---",
      "-leading-hyphen",
      "trailing-hyphen-",
      "0",
      "123",
      "0-web",
      "9lives",
      "123-456-789",
      "___",
      "a__b..c--d",
      "  spaces  around  ",
      "tab\tand\nnewline",
      "UPPER",
      "Ünïcødé-näme",
      "日本語のポッド",
      "emoji-\xF0\x9F\x90\xB3-whale",
      "\xFF\xFE\xFD invalid utf8",
      std::string("nul\0inside", 10),
      std::string(300, 'x'),
      std::string(300, '-'),
      std::string(300, '7'),
      std::string(62, 'a') + "-" + std::string(10, 'b'),
      "a" + std::string(100, '.') + "b",
      std::string(39, 'a') + "-b",  // a hyphen right at the cut
      std::string(19, 'a') + "-b",
      "kube-system.coredns-565d847f94-abcde",
  };
}

std::vector<std::string> prefixes() {
  return {"lxe", "a", "lxet-3fa9c1", "x1", "a-b", std::string(20, 'p'), "abcdefghij0123456789"};
}

}  // namespace

TEST_CASE("sanitize_name_part: lower case, odd characters become single hyphens", "[naming]") {
  CHECK(sanitize_name_part("web", 40) == "web");
  CHECK(sanitize_name_part("Web-Server", 40) == "web-server");
  CHECK(sanitize_name_part("UPPER", 40) == "upper");
  CHECK(sanitize_name_part("my_pod.name", 40) == "my-pod-name");
  CHECK(sanitize_name_part("a__b..c--d", 40) == "a-b-c-d");
  CHECK(sanitize_name_part("a - b", 40) == "a-b");
  CHECK(sanitize_name_part("héllo", 40) == "h-llo");  // both UTF-8 bytes of é are one separator
  CHECK(sanitize_name_part("pod-1", 40) == "pod-1");
  CHECK(sanitize_name_part("a1b2", 40) == "a1b2");
}

TEST_CASE("sanitize_name_part: no leading digit or hyphen, no trailing hyphen", "[naming]") {
  CHECK(sanitize_name_part("-web", 40) == "web");
  CHECK(sanitize_name_part("---web---", 40) == "web");
  CHECK(sanitize_name_part("web-", 40) == "web");
  CHECK(sanitize_name_part("123abc", 40) == "abc");
  CHECK(sanitize_name_part("0-web", 40) == "web");
  CHECK(sanitize_name_part("9lives", 40) == "lives");
  CHECK(sanitize_name_part("1-2-3-web-4", 40) == "web-4");
  CHECK(sanitize_name_part("_1a", 40) == "a");
  // Nothing usable: empty.
  CHECK(sanitize_name_part("", 40).empty());
  CHECK(sanitize_name_part("-", 40).empty());
  CHECK(sanitize_name_part("___", 40).empty());
  CHECK(sanitize_name_part("123", 40).empty());
  CHECK(sanitize_name_part("日本語", 40).empty());
}

TEST_CASE("sanitize_name_part: at most max characters", "[naming]") {
  CHECK(sanitize_name_part("abcdefghij", 5) == "abcde");
  CHECK(sanitize_name_part("abcdefghij", 10) == "abcdefghij");
  CHECK(sanitize_name_part("abcdefghij", 11) == "abcdefghij");
  CHECK(sanitize_name_part("abcd-efgh", 5) == "abcd");  // the cut falls on the hyphen: dropped
  CHECK(sanitize_name_part("abcd__efgh", 5) == "abcd");
  CHECK(sanitize_name_part("abc", 1) == "a");
  CHECK(sanitize_name_part("abc", 0).empty());
  CHECK(sanitize_name_part("Web", 0).empty());
  CHECK(sanitize_name_part(std::string(300, 'x'), 40) == std::string(40, 'x'));

  for (const auto& name : nasty_names()) {
    for (const size_t max : {size_t{0}, size_t{1}, size_t{5}, size_t{20}, size_t{40}, size_t{63}}) {
      const std::string out = sanitize_name_part(name, max);
      CAPTURE(name, max, out);
      CHECK(out.size() <= max);
      CHECK(only_name_chars(out));
      if (!out.empty()) {
        CHECK(out.front() >= 'a');
        CHECK(out.front() <= 'z');
        CHECK(out.back() != '-');
        CHECK(out.find("--") == std::string::npos);
      }
      // Sanitising is idempotent.
      CHECK(sanitize_name_part(out, max) == out);
    }
  }
}

TEST_CASE("sandbox and container LXD names: shape", "[naming]") {
  CHECK(sandbox_lxd_name("lxe", "web", kId) == "lxe-web-0123456789ab");
  CHECK(sandbox_lxd_name("lxe", "My_Web.Pod", kId) == "lxe-my-web-pod-0123456789ab");
  CHECK(sandbox_lxd_name("lxe", "", kId) == "lxe-0123456789ab");
  CHECK(sandbox_lxd_name("lxe", "___", kId) == "lxe-0123456789ab");
  CHECK(container_lxd_name("lxe", "web", "app", kId) == "lxe-web-app-0123456789ab");
  CHECK(container_lxd_name("lxe", "", "app", kId) == "lxe-app-0123456789ab");
  CHECK(container_lxd_name("lxe", "web", "", kId) == "lxe-web-0123456789ab");
  CHECK(container_lxd_name("lxe", "", "", kId) == "lxe-0123456789ab");
  CHECK(container_lxd_name("lxet-3fa9c1", "Web", "App_1", kId) == "lxet-3fa9c1-web-app-1-0123456789ab");

  // With the default prefix, the readable parts keep their usual lengths: 40 for a pod, 20 each
  // for a container's pod and name.
  CHECK(sandbox_lxd_name("lxe", std::string(100, 'p'), kId) == "lxe-" + std::string(40, 'p') + "-0123456789ab");
  CHECK(container_lxd_name("lxe", std::string(100, 'p'), std::string(100, 'c'), kId) ==
        "lxe-" + std::string(20, 'p') + "-" + std::string(20, 'c') + "-0123456789ab");
}

TEST_CASE("sandbox and container LXD names are always valid LXD names", "[naming]") {
  std::set<std::string> sandbox_names;
  std::set<std::string> container_names;
  for (const auto& prefix : prefixes()) {
    REQUIRE(valid_lxd_name_prefix(prefix));
    for (const auto& pod : nasty_names()) {
      const std::string id = new_id();
      const std::string s = sandbox_lxd_name(prefix, pod, id);
      CAPTURE(prefix, pod, s);
      CHECK(valid_lxd_name(s));
      CHECK(s.size() <= 63);
      CHECK(s.rfind(prefix + "-", 0) == 0);
      CHECK(s.substr(s.size() - 12) == id.substr(0, 12));
      sandbox_names.insert(s);
      for (const auto& container : nasty_names()) {
        const std::string cid = new_id();
        const std::string c = container_lxd_name(prefix, pod, container, cid);
        CAPTURE(container, c);
        CHECK(valid_lxd_name(c));
        CHECK(c.size() <= 63);
        CHECK(c.rfind(prefix + "-", 0) == 0);
        CHECK(c.substr(c.size() - 12) == cid.substr(0, 12));
        container_names.insert(c);
      }
    }
  }
  // The ID part keeps names apart however alike the CRI names are.
  CHECK(sandbox_names.size() == prefixes().size() * nasty_names().size());
  CHECK(container_names.size() == prefixes().size() * nasty_names().size() * nasty_names().size());
}

TEST_CASE("valid_lxd_name_prefix", "[naming]") {
  for (const std::string ok : {"lxe", "a", "lxet-3fa9c1", "a1", "a-b", "abcdefghij0123456789"}) {
    CAPTURE(ok);
    CHECK(valid_lxd_name_prefix(ok));
  }
  for (const std::string bad : {"", "abcdefghij0123456789x", "1lxe", "-lxe", "lxe-", "Lxe", "lxE", "lx_e", "lx.e",
                                "lx e", "lxé"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_lxd_name_prefix(bad));
  }
}

TEST_CASE("valid_lxd_name", "[naming]") {
  for (const std::string& ok : std::vector<std::string>{"a", "lxe-web-0123456789ab", "a0", "a-0", std::string(63, 'a')}) {
    CAPTURE(ok);
    CHECK(valid_lxd_name(ok));
  }
  for (const std::string& bad : std::vector<std::string>{"", std::string(64, 'a'), "-a", "a-", "1a", "0", "A", "aB", "a_b", "a.b", "a b",
                                "é", "a/b"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_lxd_name(bad));
  }
}

TEST_CASE("new_id: 64 lowercase hex digits, distinct", "[naming]") {
  std::set<std::string> ids;
  std::set<char> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = new_id();
    REQUIRE(id.size() == 64);
    for (const char c : id) {
      CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
      seen.insert(c);
    }
    ids.insert(id);
    // The 12-digit short form (LXD names, crictl) is distinct too in practice.
  }
  CHECK(ids.size() == 2000);
  std::set<std::string> short_ids;
  for (const auto& id : ids) short_ids.insert(id.substr(0, 12));
  CHECK(short_ids.size() == 2000);
  CHECK(seen.size() == 16);  // every hex digit shows up
}
