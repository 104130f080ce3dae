// What lxe's log says about where its time went: each LXD request it made (at debug level it logs
// "... debug lxd GET /1.0/x -> 200 (1.9 ms)" when the request has returned), its adoption pass
// after a restart, and its start-up. Pure functions of the log's text.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lxe::bench {

using SysTime = std::chrono::system_clock::time_point;

// The time of a log line of lxe ("2026-11-22T10:40:52.658+00:00 debug ..."), on the system clock.
std::optional<SysTime> log_time(const std::string& line);

struct LxdRequest {
  SysTime end;
  double ms = 0;
  std::string method, path;
  // The health check (GET /1.0), the resync's list and the event stream run beside the calls.
  bool background() const;
};

std::vector<LxdRequest> lxd_requests_in_log(const std::string& log_text);

// lxe's LXD requests during one CRI call (from `start` to `end`, `call_ms` long): how many, and
// how long LXD was busy with them. The reconciler's workers may overlap requests, so that is the
// union of their intervals, not their sum. The log has millisecond times: 1 ms of slack.
struct CallSplit {
  double in_lxd_ms = 0;
  int requests = 0;
};
CallSplit split_call(const std::vector<LxdRequest>& requests, SysTime start, SysTime end, double call_ms);

// A restarted lxe's adoption pass, from its log. `objects` are the LXD objects it must look at
// ("/1.0/instances/<name>", "/1.0/profiles/<name>").
struct AdoptionLog {
  std::optional<SysTime> queued_at;            // the "adoption: ... queued" line
  std::optional<SysTime> last_object_request;  // the last request about one of `objects`
  std::map<std::string, SysTime> first_read;   // object -> its first request
  // The list calls before the line: "GET /1.0/instances?recursion=1… 327.0 ms".
  std::vector<std::string> list_calls;

  // lxe has looked at everything: the line is there, or every object was read.
  bool looked(size_t objects) const { return queued_at || first_read.size() >= objects; }
  // When adoption was done: the line (or the last first read), or a later per-object request.
  std::optional<SysTime> done(size_t objects) const;
};
AdoptionLog read_adoption(const std::string& log_text, const std::set<std::string>& objects);

// The start-up: lxe's first log line (the store is open) and the line it writes once gRPC listens.
struct StartupLog {
  std::optional<SysTime> first, serving;
};
StartupLog read_startup(const std::string& log_text);

}  // namespace lxe::bench
