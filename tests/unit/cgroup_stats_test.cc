// Container stats from cgroup files: v1 (one hierarchy per controller) and v2 (unified) layouts
// laid out in a temporary folder as the kernel shows them, kubelet's working set, and CPU rates.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "stats/cgroup_stats.h"
#include "support/temp_dir.h"

using lxe::stats::CgroupReader;
using lxe::test::write_file;

namespace {

void put(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file(path, text);
}

}  // namespace

TEST_CASE("cgroup stats: v1, one hierarchy per controller", "[stats]") {
  lxe::test::TempDir root;
  const std::string n = "lxc.payload.lxe-web-app-0123";
  put(root.file("memory/" + n + "/memory.usage_in_bytes"), "104857600\n");
  put(root.file("memory/" + n + "/memory.stat"),
      "cache 4096\nrss 1\ninactive_file 2\ntotal_cache 8192\ntotal_rss 90000000\ntotal_inactive_file 4857600\n"
      "total_pgfault 400\ntotal_pgmajfault 3\n");
  put(root.file("cpuacct/" + n + "/cpuacct.usage"), "9081750\n");
  put(root.file("pids/" + n + "/pids.current"), "7\n");
  put(root.file("unified/cgroup.controllers"), "");  // a hybrid host is v1
  const CgroupReader reader(root.path());
  CHECK_FALSE(reader.unified());
  const auto s = reader.read("lxe-web-app-0123");
  CHECK(s.present);
  CHECK(s.cpu_usage_ns == 9081750);
  CHECK(s.memory_usage == 104857600);
  CHECK(s.working_set == 100000000);  // usage minus total_inactive_file
  CHECK(s.rss == 90000000);
  CHECK(s.page_faults == 400);
  CHECK(s.major_page_faults == 3);
  CHECK(s.pids == 7);
  const auto absent = reader.read("not-running");
  CHECK_FALSE(absent.present);
  CHECK(absent.cpu_usage_ns == 0);
  CHECK(absent.working_set == 0);
}

TEST_CASE("cgroup stats: v2, unified", "[stats]") {
  lxe::test::TempDir root;
  const std::string n = "lxc.payload.c1";
  put(root.file("cgroup.controllers"), "cpuset cpu io memory pids\n");
  put(root.file(n + "/cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
  put(root.file(n + "/memory.current"), "5000\n");
  put(root.file(n + "/memory.stat"), "anon 3000\nfile 2000\ninactive_file 6000\npgfault 10\npgmajfault 1\n");
  put(root.file(n + "/pids.current"), "2\n");
  const CgroupReader reader(root.path());
  CHECK(reader.unified());
  const auto s = reader.read("c1");
  CHECK(s.present);
  CHECK(s.cpu_usage_ns == 2500000000ULL);
  CHECK(s.memory_usage == 5000);
  CHECK(s.working_set == 0);  // inactive file above usage: clamped, never wrapped around
  CHECK(s.rss == 3000);
  CHECK(s.page_faults == 10);
  CHECK(s.pids == 2);
}

TEST_CASE("cgroup stats: CPU rates from consecutive samples", "[stats]") {
  lxe::stats::CpuRates rates;
  CHECK_FALSE(rates.rate("a", 1'000'000'000, 10'000'000'000));  // first sample: no rate yet
  CHECK(rates.rate("a", 1'500'000'000, 11'000'000'000) == 500'000'000);  // half a core
  CHECK(rates.rate("a", 3'500'000'000, 12'000'000'000) == 2'000'000'000);  // two cores
  CHECK_FALSE(rates.rate("a", 100, 13'000'000'000));  // the counter restarted: start over
  CHECK(rates.rate("a", 1'000'000'100, 14'000'000'000) == 1'000'000'000);
  rates.forget("a");
  CHECK_FALSE(rates.rate("a", 2'000'000'000, 15'000'000'000));
}

TEST_CASE("cgroup stats: a namespace's interfaces from /proc/<pid>/net/dev", "[stats]") {
  const std::string text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:     560       8    0    0    0     0          0         0      560       8    0    0    0     0       0          0\n"
      "  eth0: 1234567     890    2    3    0     0          0         0   765432     650    1    4    0     0       0          0\n";
  const auto interfaces = lxe::stats::parse_net_dev(text);
  REQUIRE(interfaces.size() == 2);
  CHECK(interfaces[1].name == "eth0");
  CHECK(interfaces[1].rx_bytes == 1234567);
  CHECK(interfaces[1].rx_errors == 2);
  CHECK(interfaces[1].tx_bytes == 765432);
  CHECK(interfaces[1].tx_errors == 1);
  CHECK(interfaces[1].rx_packets == 890);
  CHECK(interfaces[1].rx_dropped == 3);
  CHECK(interfaces[1].tx_packets == 650);
  CHECK(interfaces[1].tx_dropped == 4);
  CHECK(lxe::stats::parse_net_dev("garbage\nx: 1 2\n").empty());
  // This test's own namespace has at least loopback.
  CHECK_FALSE(lxe::stats::read_net_dev(::getpid()).empty());
  CHECK(lxe::stats::read_net_dev(0).empty());
}
