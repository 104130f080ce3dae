// CNI mode without LXD: loading the conf dir, and ADD/DEL as the CNI specification has a runtime
// call plugins, checked with a stand-in plugin (a shell script that records each call).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "daemon/flags.h"
#include "reconcile/cni.h"
#include "reconcile/plan.h"
#include "support/temp_dir.h"

namespace cni = lxe::reconcile::cni;
using lxe::test::read_file;
using lxe::test::TempDir;
using lxe::test::write_file;
using nlohmann::json;

namespace {

// Records its environment and stdin in <dir>/calls/<n>.env and .json; prints a result for ADD
// naming itself; fails as CNI plugins do when its config says "fail", hangs on "hang".
constexpr const char* kFakePlugin = R"sh(#!/bin/sh
dir=$(dirname "$0")
input=$(cat)
n=$(( $(ls "$dir/calls" | wc -l) / 2 ))
printf '%s\n' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" > "$dir/calls/$n.env"
printf '%s' "$input" > "$dir/calls/$n.json"
case "$input" in *'"fail":true'*) echo '{"code":11,"msg":"cannot do it","details":"fake says no"}'; exit 1;; esac
case "$input" in *'"hang":true'*) exec sleep 30;; esac
case "$input" in *'"crash":true'*) echo "panic: something broke" >&2; exit 2;; esac
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"1.0.0","ips":[{"address":"fd00::3/64"},{"address":"10.1.2.3/24"}],"plugin":"'"$(basename "$0")"'"}'
fi
exit 0
)sh";

struct Plugins {
  TempDir dir;
  cni::Options options;
  Plugins() {
    std::filesystem::create_directories(dir.file("bin/calls"));
    std::filesystem::create_directories(dir.file("net.d"));
    for (const char* name : {"fake-a", "fake-b"}) {
      write_file(dir.file(std::string("bin/") + name), kFakePlugin);
      ::chmod(dir.file(std::string("bin/") + name).c_str(), 0755);
    }
    options.conf_dir = dir.file("net.d");
    options.bin_dirs = {dir.file("nothing-here"), dir.file("bin")};
  }
  // Call n's environment lines and its stdin.
  std::vector<std::string> env(int n) const {
    std::vector<std::string> lines;
    std::istringstream in(read_file(dir.file("bin/calls/" + std::to_string(n) + ".env")));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  json input(int n) const { return json::parse(read_file(dir.file("bin/calls/" + std::to_string(n) + ".json"))); }
  size_t calls() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.file("bin/calls"))) ++n;
    return n / 2;
  }
};

cni::Network network_of(const json& plugins, const std::string& version = "1.0.0") {
  cni::Network n;
  n.name = "podnet";
  n.cni_version = version;
  n.plugins = plugins;
  return n;
}

const cni::PodRef kPod{"abc123", "web", "shop", "uid-1"};

}  // namespace

TEST_CASE("cni: the conf dir's first usable file in lexical order is the network", "[cni]") {
  Plugins p;
  auto loaded = cni::load_network(p.options);
  CHECK_FALSE(loaded.network);
  CHECK_THAT(loaded.problem, Catch::Contains("no CNI network config") && Catch::Contains(p.options.conf_dir));

  // A single-plugin .conf becomes a list of one; files that are not configs are skipped.
  write_file(p.dir.file("net.d/README"), "not a config");
  write_file(p.dir.file("net.d/20-one.conf"),
             R"({"cniVersion": "0.4.0", "name": "one", "type": "fake-a", "bridge": "br9"})");
  loaded = cni::load_network(p.options);
  REQUIRE(loaded.network);
  CHECK(loaded.network->name == "one");
  CHECK(loaded.network->cni_version == "0.4.0");
  CHECK(loaded.network->plugins == json::parse(R"([{"type": "fake-a", "bridge": "br9"}])"));
  CHECK(loaded.network->file == p.dir.file("net.d/20-one.conf"));

  write_file(p.dir.file("net.d/10-list.conflist"),
             R"({"cniVersion": "1.0.0", "name": "list", "plugins": [{"type": "fake-a"}, {"type": "fake-b"}]})");
  loaded = cni::load_network(p.options);
  REQUIRE(loaded.network);
  CHECK(loaded.network->name == "list");
  CHECK(loaded.network->plugins.size() == 2);
  // What the store keeps reads back the same.
  const auto back = cni::Network::from_json(json::parse(loaded.network->to_json().dump()));
  CHECK(back.name == "list");
  CHECK(back.plugins == loaded.network->plugins);
  CHECK(back.file == loaded.network->file);
}

TEST_CASE("cni: a config that cannot be used is named with what is wrong", "[cni]") {
  Plugins p;
  const std::string file = p.dir.file("net.d/10-bad.conflist");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "is not a JSON object"},
      {R"({"cniVersion": "1.0.0", "plugins": [{"type": "fake-a"}]})", "has no network \"name\""},
      {R"({"cniVersion": "0.2.0", "name": "old", "plugins": [{"type": "fake-a"}]})", "cniVersion '0.2.0'"},
      {R"({"cniVersion": "1.0.0", "name": "empty", "plugins": []})", "lists no plugins"},
      {R"({"cniVersion": "1.0.0", "name": "untyped", "plugins": [{"bridge": "x"}]})", "a plugin has no \"type\""},
      {R"({"cniVersion": "1.0.0", "name": "nolist"})", "has no \"plugins\""},
      {R"({"cniVersion": "1.0.0", "name": "missing", "plugins": [{"type": "fake-a"}, {"type": "calico"}]})",
       "CNI plugin 'calico' is not in"},
      {R"({"cniVersion": "1.0.0", "name": "escape", "plugins": [{"type": "../bin/fake-a"}]})",
       "CNI plugin '../bin/fake-a' is not in"},
  };
  for (const auto& [text, problem] : cases) {
    CAPTURE(text);
    write_file(file, text);
    const auto loaded = cni::load_network(p.options);
    CHECK_FALSE(loaded.network);
    CHECK_THAT(loaded.problem, Catch::Contains(problem));
  }
  std::filesystem::remove(file);
  p.options.conf_dir = p.dir.file("no-such-dir");
  CHECK_THAT(cni::load_network(p.options).problem, Catch::Contains("cannot read the CNI conf dir"));
}

TEST_CASE("cni: ADD runs the plugins in order with the spec's variables, each given the previous result", "[cni]") {
  Plugins p;
  const auto network = network_of(json::parse(
      R"([{"type": "fake-a", "bridge": "cni0"}, {"type": "fake-b", "capabilities": {"portMappings": true}}])"));
  const std::vector<cni::PortMapping> ports = {{12000, 80, "tcp", ""}, {5353, 53, "udp", "127.0.0.1"}};
  const auto result = cni::add(p.options, network, kPod, "/proc/4242/ns/net", ports);
  CHECK(result.at("plugin") == "fake-b");  // the last plugin's result
  REQUIRE(p.calls() == 2);

  const auto env = p.env(0);
  REQUIRE(env.size() == 6);
  CHECK(env[0] == "ADD");
  CHECK(env[1] == "abc123");
  CHECK(env[2] == "/proc/4242/ns/net");
  CHECK(env[3] == "eth0");
  CHECK(env[4] == "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc123;"
                  "K8S_POD_UID=uid-1");
  CHECK(env[5] == p.dir.file("nothing-here") + ":" + p.dir.file("bin"));

  const auto first = p.input(0);
  CHECK(first.at("type") == "fake-a");
  CHECK(first.at("name") == "podnet");
  CHECK(first.at("cniVersion") == "1.0.0");
  CHECK(first.at("bridge") == "cni0");
  CHECK_FALSE(first.contains("prevResult"));
  CHECK_FALSE(first.contains("runtimeConfig"));  // fake-a asks for no capability

  const auto second = p.input(1);
  CHECK(second.at("prevResult").at("plugin") == "fake-a");
  CHECK(second.at("runtimeConfig").at("portMappings") ==
        json::parse(R"([{"hostPort": 12000, "containerPort": 80, "protocol": "tcp"},
                        {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"}])"));

  // Addresses: IPv4 first, with their prefixes.
  CHECK(cni::result_addresses(result) == std::vector<std::string>{"10.1.2.3/24", "fd00::3/64"});
  CHECK(cni::result_addresses(json::parse(R"({"cniVersion": "1.0.0"})")).empty());
}

TEST_CASE("cni: DEL runs the plugins in reverse with ADD's result, and asks every plugin even after a failure",
          "[cni]") {
  Plugins p;
  const auto added = json::parse(R"({"cniVersion": "1.0.0", "ips": [{"address": "10.1.2.3/24"}]})");
  auto network = network_of(json::parse(R"([{"type": "fake-a"}, {"type": "fake-b"}])"));
  cni::del(p.options, network, kPod, "", added, {});
  REQUIRE(p.calls() == 2);
  CHECK(p.env(0)[0] == "DEL");
  CHECK(p.input(0).at("type") == "fake-b");
  CHECK(p.input(1).at("type") == "fake-a");
  CHECK(p.input(0).at("prevResult") == added);
  CHECK(p.env(0)[2].empty());  // the namespace is gone: CNI_NETNS empty

  // fake-b fails: fake-a is still asked, and the failure is reported.
  network = network_of(json::parse(R"([{"type": "fake-a"}, {"type": "fake-b", "fail": true}])"));
  CHECK_THROWS_WITH(cni::del(p.options, network, kPod, "", nullptr, {}),
                    Catch::Contains("CNI DEL of plugin fake-b failed: cannot do it: fake says no (code 11)"));
  CHECK(p.calls() == 4);
  CHECK(p.input(3).at("type") == "fake-a");
  CHECK_FALSE(p.input(3).contains("prevResult"));  // ADD never finished: no result to pass
}

TEST_CASE("cni: a failing, crashing, hanging or missing plugin is an error naming it", "[cni]") {
  Plugins p;
  CHECK_THROWS_WITH(cni::add(p.options, network_of(json::parse(R"([{"type": "fake-a", "fail": true}])")), kPod,
                             "/proc/1/ns/net", {}),
                    Catch::Contains("CNI ADD of plugin fake-a failed: cannot do it: fake says no (code 11)"));
  CHECK_THROWS_WITH(cni::add(p.options, network_of(json::parse(R"([{"type": "fake-a", "crash": true}])")), kPod,
                             "/proc/1/ns/net", {}),
                    Catch::Contains("CNI ADD of plugin fake-a failed: panic: something broke"));
  p.options.plugin_timeout = std::chrono::milliseconds(300);
  CHECK_THROWS_WITH(cni::add(p.options, network_of(json::parse(R"([{"type": "fake-a", "hang": true}])")), kPod,
                             "/proc/1/ns/net", {}),
                    Catch::Contains("CNI ADD of plugin fake-a did not finish within 300 ms"));
  CHECK_THROWS_WITH(
      cni::add(p.options, network_of(json::parse(R"([{"type": "gone"}])")), kPod, "/proc/1/ns/net", {}),
      Catch::Contains("CNI plugin 'gone' is not in"));
  // The second plugin of a list failing fails the ADD.
  CHECK_THROWS_AS(cni::add(p.options, network_of(json::parse(R"([{"type": "fake-a"}, {"type": "fake-b", "fail": true}])")),
                           kPod, "/proc/1/ns/net", {}),
                  cni::Error);
}

TEST_CASE("flags: the cni plugin, its conf dir and its bin dirs", "[cni][flags]") {
  using lxe::daemon::FlagError;
  using lxe::daemon::Options;
  const auto defaults = std::get<Options>(lxe::daemon::parse_flags({}));
  CHECK(defaults.cni_conf_dir == "/etc/cni/net.d");
  CHECK(defaults.cni_bin_dir == "/opt/cni/bin");
  const auto set = std::get<Options>(lxe::daemon::parse_flags(
      {"--network-plugin", "cni", "--cni-conf-dir", "/etc/lxe/cni", "--cni-bin-dir", "/opt/a:/opt/b"}));
  CHECK(set.network_plugin == "cni");
  CHECK(set.cni_conf_dir == "/etc/lxe/cni");
  CHECK(set.cni_bin_dir == "/opt/a:/opt/b");
  auto error = [](std::vector<std::string> args) {
    const auto parsed = lxe::daemon::parse_flags(args);
    return std::holds_alternative<FlagError>(parsed) ? std::get<FlagError>(parsed).message : std::string();
  };
  CHECK_THAT(error({"--cni-conf-dir", "net.d"}), Catch::Contains("not an absolute path"));
  CHECK_THAT(error({"--cni-bin-dir", "/opt/a:bin"}), Catch::Contains("'bin' is not an absolute path"));
  CHECK_THAT(error({"--network-plugin", "flannel"}), Catch::Contains("cni (CNI plugins)"));
}
