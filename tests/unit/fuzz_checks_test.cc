// The request fuzzer's own parts (fuzz/): each invariant check fires on the hostile shape it is
// there for and stays quiet on what lxe builds from good requests, and the structure-aware mutator
// only makes well-formed messages. A check that never fires would let the fuzzer pass anything.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <string>

#include "invariants.h"
#include "proto_mutator.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"

namespace v1 = runtime::v1;
namespace fz = lxe::fuzz;
using Catch::Contains;

namespace {

const std::string kSandboxId(64, 'a');
const std::string kContainerId(64, 'b');

lxe::store::SandboxRecord sandbox() {
  lxe::store::SandboxRecord s;
  s.id = kSandboxId;
  s.name = "web";
  s.namespace_ = "shop";
  s.lxd_name = lxe::model::sandbox_lxd_name("lxe", s.name, s.id);
  s.infra_pid = 4242;
  return s;
}

v1::PodSandboxConfig pod_config() {
  v1::PodSandboxConfig c;
  c.set_hostname("web-0");
  c.mutable_dns_config()->add_servers("10.96.0.10");
  c.mutable_dns_config()->add_searches("cluster.local");
  return c;
}

v1::ContainerConfig container_config() {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("app");
  c.mutable_image()->set_image("busybox");
  c.add_command("/bin/sh");
  c.add_args("-c");
  c.add_args("echo one\necho two");
  auto* env = c.add_envs();
  env->set_key("GREETING");
  env->set_value("hello");
  auto* m = c.add_mounts();
  m->set_host_path("/srv/data");
  m->set_container_path("/data");
  return c;
}

lxe::store::ContainerRecord container() {
  lxe::store::ContainerRecord c;
  c.id = kContainerId;
  c.sandbox_id = kSandboxId;
  c.name = "app";
  c.lxd_name = lxe::model::container_lxd_name("lxe", "web", "app", c.id);
  c.image = "busybox";
  c.image_ref = std::string(64, 'f');
  c.log_path = "/var/log/pods/shop_web/app/0.log";
  c.resources_json = R"({"cpu_quota": "50000", "memory_limit_in_bytes": "268435456", "cpuset_cpus": "0-1"})";
  return c;
}

fz::Expected expected_container() {
  fz::Expected e;
  e.lxd_name_prefix = "lxe";
  e.id = kContainerId;
  e.env_names = {"GREETING"};
  e.runs_lxe_init = true;
  e.infra_pid = 4242;
  // CRI's zero values: the pod's PID and IPC namespaces.
  e.pid_from_holder = true;
  e.ipc_from_holder = true;
  e.unconfined_seccomp = true;  // the config asks for no seccomp profile
  return e;
}

lxe::lxd::InstanceSpec good_instance() {
  const lxe::reconcile::HostFiles files("/var/lib/lxe");
  return lxe::reconcile::container_instance(container(), container_config(), sandbox(), pod_config(), files, {});
}

bool mentions(const fz::Violations& violations, const std::string& text) {
  for (const auto& v : violations)
    if (v.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("fuzz checks: strings, hostnames and cpusets", "[fuzz]") {
  CHECK_FALSE(fz::has_control_character("plain, with spaces = and ünïcödé"));
  CHECK(fz::has_control_character("a\nb"));
  CHECK(fz::has_control_character(std::string("a\0b", 3)));
  CHECK(fz::has_control_character("del\x7f"));

  CHECK(fz::is_hostname("web-0"));
  CHECK(fz::is_hostname("a.b-c.D9"));
  CHECK_FALSE(fz::is_hostname(""));
  CHECK_FALSE(fz::is_hostname("-a"));
  CHECK_FALSE(fz::is_hostname("a-.b"));
  CHECK_FALSE(fz::is_hostname("a..b"));
  CHECK_FALSE(fz::is_hostname("a b"));
  CHECK_FALSE(fz::is_hostname(std::string(64, 'a')));

  CHECK(fz::is_cpuset("3"));
  CHECK(fz::is_cpuset("0-3,8,10-11"));
  CHECK(fz::is_cpuset("0-8191"));
  CHECK_FALSE(fz::is_cpuset(""));
  CHECK_FALSE(fz::is_cpuset("-"));
  CHECK_FALSE(fz::is_cpuset(","));
  CHECK_FALSE(fz::is_cpuset("0,,1"));
  CHECK_FALSE(fz::is_cpuset("3-1"));
  CHECK_FALSE(fz::is_cpuset("0-0-3"));
  CHECK_FALSE(fz::is_cpuset("8192"));
  CHECK_FALSE(fz::is_cpuset("0-9999999999"));  // LXD would list ten billion CPUs
  CHECK_FALSE(fz::is_cpuset("0-8191,0-8191"));  // more CPUs listed than exist
}

TEST_CASE("fuzz checks: what lxe builds from a good request passes", "[fuzz]") {
  const lxe::reconcile::HostFiles files("/var/lib/lxe");
  fz::Expected pod;
  pod.lxd_name_prefix = "lxe";
  pod.id = kSandboxId;
  pod.infra_pid = 4242;
  CHECK(fz::check_profile(lxe::reconcile::sandbox_profile(sandbox(), pod_config(), files, {}), pod).empty());
  CHECK(fz::check_infra_instance(lxe::reconcile::infra_instance(sandbox(), pod_config(), files, {}), pod).empty());
  CHECK(fz::check_container_instance(good_instance(), expected_container()).empty());
  CHECK(fz::check_init_spec(
            lxe::reconcile::init_spec(container(), container_config(), sandbox(), pod_config()).dump(2))
            .empty());
  CHECK(fz::check_resolv_conf(lxe::reconcile::resolv_conf(pod_config())).empty());
  CHECK(fz::check_log_path(container().log_path, "/var/log/pods/shop_web").empty());
}

TEST_CASE("fuzz checks: LXD names", "[fuzz]") {
  const auto e = expected_container();
  CHECK(fz::check_lxd_name(good_instance().name, e).empty());
  CHECK(mentions(fz::check_lxd_name("lxe-Web-bbbbbbbbbbbb", e), "other than [a-z0-9-]"));
  CHECK(mentions(fz::check_lxd_name("lxe-web-" + std::string(60, 'x') + "-bbbbbbbbbbbb", e), "63"));
  CHECK(mentions(fz::check_lxd_name("other-web-bbbbbbbbbbbb", e), "prefix"));
  CHECK(mentions(fz::check_lxd_name("lxe-web-cccccccccccc", e), "ID's first 12"));
}

TEST_CASE("fuzz checks: raw.lxc holds exactly lxe's lines", "[fuzz]") {
  const auto e = expected_container();
  const std::string good =
      "lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web-0\n"
      "lxc.namespace.share.net = 4242\nlxc.namespace.share.user = 4242\n"
      "lxc.namespace.share.pid = 4242\nlxc.namespace.share.ipc = 4242\n";
  CHECK(fz::check_raw_lxc(good, e, false).empty());
  CHECK(mentions(fz::check_raw_lxc(good + "lxc.mount.entry = /etc etc none bind 0 0\n", e, false),
                 "lines, not 0"));
  CHECK(mentions(fz::check_raw_lxc(good + "lxc.cap.drop = sys_admin\n", e, false), "a key lxe does not write"));
  // A namespace line missing, or naming another process.
  CHECK(mentions(fz::check_raw_lxc("lxc.init.cmd = /.lxe/init run /.lxe/state/spec.json\nlxc.uts.name = web-0\n"
                                   "lxc.namespace.share.net = 4242\nlxc.namespace.share.user = 4242\n",
                                   e, false),
                 "lacks 'lxc.namespace.share.pid = 4242'"));
  auto host = e;
  host.host_pidns = "/proc/1/ns/pid";
  host.pid_from_holder = false;
  CHECK(mentions(fz::check_raw_lxc(good, host, false), "lacks 'lxc.mount.entry = /proc proc"));
  CHECK(mentions(fz::check_raw_lxc(good + "lxc.uts.name = other\n", e, false), "2 lxc.uts.name lines"));
  CHECK(mentions(fz::check_raw_lxc("lxc.uts.name = web\r0\n", e, false), "control character"));
  CHECK(mentions(fz::check_raw_lxc("lxc.uts.name = web 0\n", e, false), "not a valid hostname"));
  CHECK(mentions(fz::check_raw_lxc("lxc.uts.name = web-0", e, false), "does not end with a line break"));
  CHECK(mentions(fz::check_raw_lxc("lxc.uts.name = web-0\n", e, false), "0 lxc.init.cmd lines, not 1"));
  auto system = e;
  system.runs_lxe_init = false;
  system.infra_pid = 0;
  CHECK(fz::check_raw_lxc("lxc.uts.name = web-0\n", system, false).empty());
  CHECK(fz::check_raw_lxc("lxc.init.cmd = /.lxe/init pause\nlxc.uts.name = web-0\n", system, true).empty());
  CHECK(mentions(fz::check_raw_lxc("lxc.init.cmd = /bin/sh\nlxc.uts.name = web-0\n", system, true), "runs '/bin/sh'"));
}

TEST_CASE("fuzz checks: a container instance's config and devices", "[fuzz]") {
  const auto e = expected_container();
  SECTION("a line break in an environment variable's name: the bug that mounted the host's /etc") {
    auto spec = good_instance();
    spec.config["environment.A\nlxc.mount.entry = /etc mnt none bind 0 0"] = "x";
    CHECK(mentions(fz::check_container_instance(spec, e), "control character"));
  }
  SECTION("an environment key that is not one of the config's variables") {
    auto spec = good_instance();
    spec.config["environment.OTHER"] = "x";
    CHECK(mentions(fz::check_container_instance(spec, e), "environment.<one of the config's variable names>"));
  }
  SECTION("a line break in a value") {
    auto spec = good_instance();
    spec.config["environment.GREETING"] = "x\nlxc.apparmor.profile = unconfined";
    CHECK(mentions(fz::check_container_instance(spec, e), "control character"));
  }
  SECTION("a key lxe never sets") {
    auto spec = good_instance();
    spec.config["security.privileged"] = "true";
    CHECK(mentions(fz::check_container_instance(spec, e), "not one lxe sets"));
  }
  SECTION("a malformed limit") {
    auto spec = good_instance();
    spec.config["limits.cpu"] = "0-9999999999";
    CHECK(mentions(fz::check_container_instance(spec, e), "limits.cpu"));
  }
  SECTION("a mount over lxe's own files, at the root, or twice at one place") {
    auto spec = good_instance();
    spec.devices["mount1"] = {{"type", "disk"}, {"source", "/srv/x"}, {"path", "/.lxe/"}};
    spec.devices["mount2"] = {{"type", "disk"}, {"source", "/srv/y"}, {"path", "//"}};
    spec.devices["mount3"] = {{"type", "disk"}, {"source", "/srv/z"}, {"path", "/data/./"}};
    const auto v = fz::check_container_instance(spec, e);
    CHECK(mentions(v, "mount1 is mounted over lxe's own"));
    CHECK(mentions(v, "mount2 is mounted at the container's root"));
    CHECK(mentions(v, "mount0 and mount3 are both mounted at '/data'"));
  }
  SECTION("a device property or source LXD reads differently") {
    auto spec = good_instance();
    spec.devices["mount0"]["source"] = "ceph:pool/volume";
    spec.devices["mount0"]["shift"] = "true";
    const auto v = fz::check_container_instance(spec, e);
    CHECK(mentions(v, "is not absolute"));
    CHECK(mentions(v, "has the property 'shift'"));
  }
}

TEST_CASE("fuzz checks: limits as LXD parses them", "[fuzz]") {
  CHECK(fz::check_limits({{"limits.memory", "268435456"},
                          {"limits.cpu.allowance", "50ms/100ms"},
                          {"limits.cpu", "0-1,3-3"}})
            .empty());
  CHECK(fz::check_limits({{"limits.memory", "9223372036854775807"}, {"limits.cpu.allowance", "100%"}}).empty());
  CHECK(fz::check_limits({{"limits.memory", ""}, {"limits.cpu", ""}}).empty());  // cleared
  CHECK_FALSE(fz::check_limits({{"limits.memory", "0"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.memory", "9223372036854775808"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.cpu.allowance", "0%"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.cpu.allowance", "101%"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.cpu.allowance", "-5ms/100ms"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.cpu", "3"}}).empty());  // LXD reads a CPU count
  CHECK_FALSE(fz::check_limits({{"limits.cpu", "-"}}).empty());
  CHECK_FALSE(fz::check_limits({{"limits.cpu.priority", "10"}}).empty());
}

TEST_CASE("fuzz checks: spec.json, resolv.conf and the log path", "[fuzz]") {
  CHECK(mentions(fz::check_init_spec("not json"), "not a JSON object"));
  CHECK(mentions(fz::check_init_spec(R"({"args": ["a\u0000b"], "env": ["A=1"], "cwd": "/", "log_path": "",
                                         "exit_path": "/.lxe/state/exit.json", "hostname": "web"})"),
                 "NUL byte"));
  CHECK(mentions(fz::check_init_spec(R"({"args": [], "env": ["=x"], "cwd": "/", "log_path": "/.lxe/log/",
                                         "exit_path": "/.lxe/state/exit.json", "hostname": "web"})"),
                 "not a file in /.lxe/log"));
  // The process security fields.
  const std::string base = R"("args": ["sleep"], "env": ["A=1"], "cwd": "/", "log_path": "",
                              "exit_path": "/.lxe/state/exit.json", "hostname": "web")";
  const auto spec = [&](const std::string& security) { return "{" + base + ", " + security + "}"; };
  const std::string fine = R"("capabilities": ["CAP_CHOWN"], "privileged": false, "no_new_privs": false,
                              "supplemental_groups": [], "supplemental_groups_policy": "Merge")";
  CHECK(fz::check_init_spec(spec(fine)).empty());
  CHECK(mentions(fz::check_init_spec("{" + base + "}"), "capabilities is not an array"));
  CHECK(mentions(fz::check_init_spec(spec(R"("capabilities": ["CAP_CHOWN\nx"], "privileged": false, "no_new_privs": false,
      "supplemental_groups": [], "supplemental_groups_policy": "Merge")")), "not a CAP_ name"));
  CHECK(mentions(fz::check_init_spec(spec(R"("capabilities": [], "privileged": true, "no_new_privs": false,
      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []},
      "supplemental_groups": [], "supplemental_groups_policy": "Merge")")), "privileged container"));
  CHECK(mentions(fz::check_init_spec(spec(R"("capabilities": [], "privileged": false, "no_new_privs": false,
      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]},
      "supplemental_groups": [-1], "supplemental_groups_policy": "Lax")")), "did not resolve"));
  CHECK(mentions(fz::check_init_spec(spec(R"("capabilities": [], "privileged": false, "no_new_privs": false,
      "supplemental_groups": [-1], "supplemental_groups_policy": "Lax")")), "not a group ID"));
  CHECK(mentions(fz::check_init_spec(spec(R"("capabilities": [], "privileged": false, "no_new_privs": false,
      "supplemental_groups": [], "supplemental_groups_policy": "Lax")")), "neither Merge nor Strict"));
  CHECK(mentions(fz::check_resolv_conf("nameserver 1.1.1.1 6.6.6.6\n"), "nameserver|search|options"));
  CHECK(mentions(fz::check_resolv_conf("search a  b\n"), "nameserver|search|options"));
  CHECK(mentions(fz::check_resolv_conf("nameserver 1.1.1.1\nlxc.x = y\n"), "nameserver|search|options"));
  CHECK(mentions(fz::check_log_path("/var/log/pods/p/app/", "/var/log/pods/p"), "names no file"));
  CHECK(mentions(fz::check_log_path("/var/log/other/0.log", "/var/log/pods/p"), "not inside"));
}

TEST_CASE("fuzz mutator: valid_utf8 drops exactly the bytes that are not UTF-8", "[fuzz]") {
  CHECK(fz::valid_utf8("plain ünïcödé ☃ \xf0\x9f\x98\x80") == "plain ünïcödé ☃ \xf0\x9f\x98\x80");
  CHECK(fz::valid_utf8("a\xff" "b") == "ab");
  CHECK(fz::valid_utf8("\xc0\xaf") == "");          // overlong '/'
  CHECK(fz::valid_utf8("x\xed\xa0\x80y") == "xy");  // a UTF-16 surrogate
  CHECK(fz::valid_utf8("\xe2\x82") == "");          // cut short
  CHECK(fz::valid_utf8(std::string("\0", 1)) == std::string("\0", 1));
}

TEST_CASE("fuzz mutator: every mutant is a well-formed message, and mutants differ", "[fuzz]") {
  // A stand-in for libFuzzer's byte mutation: appends a byte that is never UTF-8.
  const fz::ByteMutator append_ff = [](uint8_t* data, size_t size, size_t max_size) {
    if (size < max_size) data[size++] = 0xff;
    return size;
  };
  v1::CreateContainerRequest original;
  original.set_pod_sandbox_id("5a1b");
  *original.mutable_config() = container_config();
  fz::ProtoMutator mutator(append_ff, 42);
  v1::CreateContainerRequest m = original;
  int changed = 0;
  for (int i = 0; i < 500; ++i) {
    const v1::CreateContainerRequest before = m;
    mutator.mutate(m);
    changed += google::protobuf::util::MessageDifferencer::Equals(before, m) ? 0 : 1;
    v1::CreateContainerRequest parsed;
    REQUIRE(parsed.ParseFromString(m.SerializeAsString()));  // string fields stayed UTF-8
  }
  CHECK(changed > 400);
  CHECK_FALSE(google::protobuf::util::MessageDifferencer::Equals(original, m));
}

TEST_CASE("fuzz checks: LXD's seccomp denylist is off exactly for an unconfined container", "[fuzz]") {
  auto instance = good_instance();
  auto confined = expected_container();
  confined.unconfined_seccomp = false;
  CHECK(mentions(fz::check_container_instance(instance, confined), "security.syscalls.deny_default"));
  instance.config.erase("security.syscalls.deny_default");
  CHECK(fz::check_container_instance(instance, confined).empty());
  CHECK(mentions(fz::check_container_instance(instance, expected_container()), "keeps LXD's default seccomp denylist"));
  instance.config["security.syscalls.deny_default"] = "true";
  CHECK(mentions(fz::check_container_instance(instance, expected_container()), "not 'false'"));
}
