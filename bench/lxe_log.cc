#include "lxe_log.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <regex>
#include <sstream>

namespace lxe::bench {
namespace {

using namespace std::chrono_literals;

const std::regex& request_re() {
  static const std::regex re(R"( debug lxd (\S+) (\S+) -> \d+ \(([0-9.]+) ms\))");
  return re;
}

}  // namespace

std::optional<SysTime> log_time(const std::string& line) {
  int y, mo, d, h, mi, s, ms;
  char sign = 0;
  int consumed = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%n", &y, &mo, &d, &h, &mi, &s, &ms, &sign,
                  &consumed) != 8)
    return std::nullopt;
  int oh = 0, om = 0;
  const char* rest = line.c_str() + consumed;
  if (std::sscanf(rest, "%2d:%2d", &oh, &om) != 2 && std::sscanf(rest, "%2d%2d", &oh, &om) != 2) return std::nullopt;
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  std::time_t tt = timegm(&t);
  const int offset = oh * 3600 + om * 60;
  tt += sign == '+' ? -offset : offset;
  return std::chrono::system_clock::from_time_t(tt) + std::chrono::milliseconds(ms);
}

bool LxdRequest::background() const {
  return path == "/1.0" || path.rfind("/1.0/instances?", 0) == 0 || path.rfind("/1.0/events", 0) == 0;
}

std::vector<LxdRequest> lxd_requests_in_log(const std::string& log_text) {
  std::vector<LxdRequest> out;
  std::istringstream log(log_text);
  std::string line;
  std::smatch m;
  while (std::getline(log, line)) {
    if (line.find(" debug lxd ") == std::string::npos || !std::regex_search(line, m, request_re())) continue;
    const auto t = log_time(line);
    if (!t) continue;
    out.push_back(LxdRequest{*t, std::stod(m[3].str()), m[1].str(), m[2].str()});
  }
  return out;
}

CallSplit split_call(const std::vector<LxdRequest>& requests, SysTime start, SysTime end, double call_ms) {
  using Ms = std::chrono::duration<double, std::milli>;
  CallSplit out;
  std::vector<std::pair<double, double>> spans;  // ms since the call's start
  for (const auto& r : requests) {
    if (r.background() || r.end + 1ms < start || r.end > end + 1ms) continue;
    const double span_end = std::min(Ms(r.end - start).count(), call_ms);
    spans.push_back({std::max(0.0, span_end - r.ms), span_end});
    ++out.requests;
  }
  std::sort(spans.begin(), spans.end());
  double cur_start = -1, cur_end = -1;
  for (const auto& [a, b] : spans) {
    if (a > cur_end) {
      if (cur_end > cur_start) out.in_lxd_ms += cur_end - cur_start;
      cur_start = a;
      cur_end = b;
    } else {
      cur_end = std::max(cur_end, b);
    }
  }
  if (cur_end > cur_start) out.in_lxd_ms += cur_end - cur_start;
  return out;
}

std::optional<SysTime> AdoptionLog::done(size_t objects) const {
  std::optional<SysTime> at = queued_at;
  if (!at && first_read.size() >= objects)
    for (const auto& [o, t] : first_read) at = at ? std::max(*at, t) : t;
  if (at && last_object_request && *last_object_request > *at) at = last_object_request;
  return at;
}

AdoptionLog read_adoption(const std::string& log_text, const std::set<std::string>& objects) {
  // The object a request is about: "/1.0/instances/<name>" of ".../instances/<name>/state?..."
  auto object_of = [&](const std::string& path) -> std::string {
    for (const std::string kind : {"/1.0/instances/", "/1.0/profiles/"}) {
      if (path.rfind(kind, 0) != 0) continue;
      const std::string object = path.substr(0, path.find_first_of("/?", kind.size()));
      return objects.count(object) ? object : "";
    }
    return "";
  };
  AdoptionLog out;
  std::istringstream log(log_text);
  std::string line;
  std::smatch m;
  while (std::getline(log, line)) {
    const auto t = log_time(line);
    if (!t) continue;
    if (!out.queued_at && line.find(" adoption: ") != std::string::npos && line.find(" queued") != std::string::npos) {
      out.queued_at = t;
      continue;
    }
    if (line.find(" debug lxd ") == std::string::npos || !std::regex_search(line, m, request_re())) continue;
    const std::string path = m[2].str();
    if (!out.queued_at && (path.rfind("/1.0/instances?", 0) == 0 || path.rfind("/1.0/profiles?", 0) == 0))
      out.list_calls.push_back(m[1].str() + " " + path.substr(0, path.find('?') + 12) + "… " + m[3].str() + " ms");
    const std::string object = object_of(path);
    if (object.empty()) continue;
    out.first_read.emplace(object, *t);
    out.last_object_request = t;
  }
  return out;
}

StartupLog read_startup(const std::string& log_text) {
  StartupLog out;
  std::istringstream log(log_text);
  std::string line;
  while (std::getline(log, line)) {
    const auto t = log_time(line);
    if (!t) continue;
    if (!out.first) out.first = t;
    if (line.find(" serving CRI ") != std::string::npos) {
      out.serving = t;
      break;
    }
  }
  return out;
}

}  // namespace lxe::bench
