// What lxe-bench reads in lxe's log (bench/lxe_log.h): times, LXD requests, the split of a call
// into LXD's time and lxe's own, adoption and start-up.
#include <catch2/catch.hpp>

#include "lxe_log.h"

using namespace lxe::bench;
using namespace std::chrono_literals;

namespace {

SysTime at(const std::string& line) {
  const auto t = log_time(line);
  REQUIRE(t);
  return *t;
}

double ms_between(SysTime a, SysTime b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

}  // namespace

TEST_CASE("bench log: the time of a line, with its UTC offset", "[bench]") {
  const SysTime utc = at("2026-11-22T10:40:52.658+00:00 info x");
  CHECK(ms_between(std::chrono::system_clock::from_time_t(1795344052), utc) == Approx(658));
  CHECK(at("2026-11-22T11:40:52.658+01:00 info x") == utc);
  CHECK(at("2026-11-22T09:40:52.658-0100 info x") == utc);
  CHECK_FALSE(log_time("not a log line"));
  CHECK_FALSE(log_time("2026-11-22 10:40:52 info"));
}

TEST_CASE("bench log: LXD requests, and which run beside the calls", "[bench]") {
  const std::string log =
      "2026-11-22T10:00:00.100+00:00 debug lxd POST /1.0/instances -> 202 (77.5 ms)\n"
      "2026-11-22T10:00:00.200+00:00 info something else\n"
      "2026-11-22T10:00:00.300+00:00 debug lxd GET /1.0 -> 200 (0.6 ms)\n"
      "2026-11-22T10:00:00.400+00:00 debug lxd GET /1.0/instances?recursion=1 -> 200 (3.0 ms)\n"
      "2026-11-22T10:00:00.500+00:00 debug lxd GET /1.0/events?type=lifecycle -> 101 (1.0 ms)\n";
  const auto requests = lxd_requests_in_log(log);
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/1.0/instances");
  CHECK(requests[0].ms == Approx(77.5));
  CHECK_FALSE(requests[0].background());
  CHECK(requests[1].background());  // health check
  CHECK(requests[2].background());  // resync list
  CHECK(requests[3].background());  // event stream
}

TEST_CASE("bench log: a call's LXD time is the union of its requests, within the call", "[bench]") {
  const SysTime start = at("2026-11-22T10:00:00.000+00:00 x");
  const SysTime end = start + 100ms;
  auto request = [&](int end_ms, double ms, const std::string& path = "/1.0/instances/a") {
    return LxdRequest{start + std::chrono::milliseconds(end_ms), ms, "GET", path};
  };
  // Two overlapping requests (10-40 and 30-50), one apart (60-70), one before the call, one
  // background, one after it.
  const std::vector<LxdRequest> requests = {request(40, 30), request(50, 20), request(70, 10), request(-10, 5),
                                            request(80, 5, "/1.0"), request(150, 5)};
  const CallSplit split = split_call(requests, start, end, 100);
  CHECK(split.requests == 3);
  CHECK(split.in_lxd_ms == Approx(50));
  // A request that began before the call counts from the call's start.
  CHECK(split_call({request(20, 50)}, start, end, 100).in_lxd_ms == Approx(20));
  CHECK(split_call({}, start, end, 100).in_lxd_ms == 0);
}

TEST_CASE("bench log: adoption after a restart", "[bench]") {
  const std::set<std::string> objects = {"/1.0/instances/lxebench-a-p1", "/1.0/profiles/lxebench-a-p1"};
  const std::string listed =
      "2026-11-22T10:00:00.100+00:00 debug lxd GET /1.0/profiles?recursion=1 -> 200 (7.1 ms)\n"
      "2026-11-22T10:00:00.200+00:00 debug lxd GET /1.0/instances?recursion=1 -> 200 (12.9 ms)\n"
      "2026-11-22T10:00:00.300+00:00 info adoption: 1 sandbox(es) and 0 container(s) queued\n"
      "2026-11-22T10:00:00.400+00:00 debug lxd GET /1.0/instances/lxebench-a-p1/state -> 200 (100.0 ms)\n"
      "2026-11-22T10:00:00.500+00:00 debug lxd GET /1.0/instances/other -> 200 (1.0 ms)\n";
  const AdoptionLog a = read_adoption(listed, objects);
  REQUIRE(a.queued_at);
  CHECK(a.looked(objects.size()));
  CHECK(a.list_calls ==
        std::vector<std::string>{"GET /1.0/profiles?recursion=1… 7.1 ms", "GET /1.0/instances?recursion=1… 12.9 ms"});
  CHECK(a.first_read.size() == 1);  // the state of our instance; "other" is not ours
  CHECK(a.done(objects.size()) == at("2026-11-22T10:00:00.400+00:00 x"));

  // An lxe without the line has looked once it has read every object.
  const std::string one_by_one =
      "2026-11-22T10:00:00.100+00:00 debug lxd GET /1.0/instances/lxebench-a-p1 -> 200 (3.0 ms)\n";
  CHECK_FALSE(read_adoption(one_by_one, objects).looked(objects.size()));
  const AdoptionLog b = read_adoption(
      one_by_one + "2026-11-22T10:00:00.200+00:00 debug lxd GET /1.0/profiles/lxebench-a-p1 -> 200 (3.0 ms)\n",
      objects);
  CHECK(b.looked(objects.size()));
  CHECK(b.done(objects.size()) == at("2026-11-22T10:00:00.200+00:00 x"));
}

TEST_CASE("bench log: start-up, from the first line to the gRPC server listening", "[bench]") {
  const StartupLog s = read_startup(
      "2026-11-22T10:00:00.016+00:00 info store open\n"
      "2026-11-22T10:00:00.020+00:00 info something\n"
      "2026-11-22T10:00:00.023+00:00 info serving CRI on /run/lxe.sock\n");
  REQUIRE(s.first);
  REQUIRE(s.serving);
  CHECK(ms_between(*s.first, *s.serving) == Approx(7));
  CHECK_FALSE(read_startup("2026-11-22T10:00:00.016+00:00 info store open\n").serving);
}
