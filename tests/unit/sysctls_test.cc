// A pod's sysctls: only namespaced ones, names LXC can take, values that cannot start an LXC line.
#include <catch2/catch.hpp>

#include "model/sysctls.h"

using lxe::model::dotted_sysctl;
using lxe::model::sysctl_problem;
using Catch::Matchers::Contains;

TEST_CASE("sysctls: '/' names become dotted, unless a part has a dot", "[sysctls]") {
  CHECK(dotted_sysctl("net.ipv4.ip_forward") == "net.ipv4.ip_forward");
  CHECK(dotted_sysctl("net/ipv4/ip_forward") == "net.ipv4.ip_forward");
  CHECK(dotted_sysctl("net/ipv4/conf/eth0.100/forwarding").empty());
}

TEST_CASE("sysctls: the namespaced ones Kubernetes allows are accepted", "[sysctls]") {
  for (const char* key : {"kernel.shm_rmid_forced", "kernel.shmmax", "kernel.msgmax", "kernel.sem", "fs.mqueue.msg_max",
                          "net.ipv4.ip_local_port_range", "net/ipv4/ping_group_range", "net.core.somaxconn"}) {
    INFO(key);
    CHECK(sysctl_problem(key, "1", false).empty());
  }
  CHECK(sysctl_problem("kernel.sem", "250 32000 32 128", false).empty());
  // Found by the request fuzzer: a tab is a control character in an LXC line.
  CHECK_THAT(sysctl_problem("kernel.sem", "250\t32000\t32\t128", false), Contains("a tab"));
  CHECK(sysctl_problem("net.ipv4.ip_local_port_range", "1024 65000", false).empty());
  // The IPC ones stay the pod's own in the host's network.
  CHECK(sysctl_problem("kernel.shm_rmid_forced", "1", true).empty());
}

TEST_CASE("sysctls: each refusal says why", "[sysctls]") {
  CHECK_THAT(sysctl_problem("", "1", false), Contains("empty name"));
  CHECK_THAT(sysctl_problem("kernel.panic", "1", false), Contains("not namespaced"));
  CHECK_THAT(sysctl_problem("vm.swappiness", "1", false), Contains("not namespaced"));
  CHECK_THAT(sysctl_problem("kernel.semx", "1", false), Contains("not namespaced"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn", "1", true), Contains("node's own network settings"));
  CHECK_THAT(sysctl_problem("net/ipv4/conf/eth0.100/forwarding", "1", false), Contains("mixes '/' and '.'"));
  CHECK_THAT(sysctl_problem("net..core", "1", false), Contains("empty part"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn = 1\nlxc.x", "1", false), Contains("character other than"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn", "", false), Contains("empty value"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn", "1\nlxc.mount.entry = /etc x", false), Contains("line break"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn", " 1", false), Contains("whitespace"));
  // Found by the request fuzzer: "1 =" made the line read as a key set to nothing.
  CHECK_THAT(sysctl_problem("net.core.somaxconn", "1 =", false), Contains("a character other than"));
  CHECK_THAT(sysctl_problem("net.core.somaxconn", "1 # x", false), Contains("a character other than"));
  CHECK(sysctl_problem("net.ipv4.ip_local_reserved_ports", "8080,9148", false).empty());
  CHECK(sysctl_problem("net.ipv4.tcp_congestion_control", "cubic", false).empty());
  CHECK_THAT(sysctl_problem(std::string(300, 'n'), "1", false), Contains("longer than 256"));
}

TEST_CASE("sysctls: raw.lxc lines, sorted and dotted", "[sysctls]") {
  runtime::v1::PodSandboxConfig config;
  CHECK(lxe::model::sysctl_raw_lxc(config).empty());
  (*config.mutable_linux()->mutable_sysctls())["net/ipv4/ip_forward"] = "1";
  (*config.mutable_linux()->mutable_sysctls())["fs.mqueue.msg_max"] = "100";
  CHECK(lxe::model::sysctl_raw_lxc(config) ==
        "lxc.sysctl.fs.mqueue.msg_max = 100\nlxc.sysctl.net.ipv4.ip_forward = 1\n");
}
