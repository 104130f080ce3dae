#include "lxd/client.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <exception>
#include <string_view>
#include <utility>

#include "lxd/json_codec.h"

namespace lxe::lxd {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// One wait request asks LXD to hold it at most this long; longer bounds loop.
constexpr seconds kMaxWaitChunk{30};
// How much longer than the `timeout` it gave LXD a wait request may take before we give up on it.
constexpr milliseconds kWaitGrace{5000};
// How much longer than its own shutdown timeout a graceful stop may take before we force it.
constexpr milliseconds kGracefulStopGrace{15000};

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when asked).
std::string url_encode(std::string_view s, bool keep_slash = false) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string instance_path(const std::string& name) { return "/1.0/instances/" + url_encode(name); }
std::string profile_path(const std::string& name) { return "/1.0/profiles/" + url_encode(name); }

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string excerpt(const std::string& body) {
  constexpr size_t kMax = 200;
  std::string s = body.size() > kMax ? body.substr(0, kMax) + "..." : body;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// LXD 5.0 reports a name that is taken as 500 "... The profile already exists", or as a failed
// create operation ("... This \"instances\" entry already exists"), not as the 409 its docs
// promise. Both are Conflict here.
bool says_already_exists(std::string_view text) {
  return text.find("already exists") != std::string_view::npos;
}

ErrorKind kind_for(int http_status, std::string_view text) {
  const ErrorKind kind = kind_for_http_status(http_status);
  if (kind == ErrorKind::Server && says_already_exists(text)) return ErrorKind::Conflict;
  return kind;
}

// httplib (0.11) writes with plain send(): a peer that closed first raises SIGPIPE, which kills
// the process unless it is ignored. Rather than changing the process's disposition, a request
// blocks SIGPIPE in its own thread and discards one raised meanwhile; the write then just fails
// with EPIPE.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_mask_);
    was_pending_ = pending();
  }
  ~SigpipeBlock() {
    if (!was_pending_ && pending()) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  static bool pending() {
    sigset_t set;
    sigemptyset(&set);
    return sigpending(&set) == 0 && sigismember(&set, SIGPIPE) == 1;
  }

  sigset_t pipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// Turns one HTTP answer into a Response, or into the Error it stands for.
Response decode(const std::string& where, const httplib::Response& res) {
  const int status = res.status;
  json doc;
  bool is_json = false;
  try {
    doc = json::parse(res.body);
    is_json = doc.is_object();
  } catch (const json::exception&) {
  }

  if (status < 200 || status >= 300) {
    std::string text;
    if (is_json) {
      auto it = doc.find("error");
      if (it != doc.end() && it->is_string()) text = it->get<std::string>();
    }
    if (text.empty()) text = res.body.empty() ? "HTTP " + std::to_string(status) : excerpt(res.body);
    throw Error(kind_for(status, text), where + ": " + text, status);
  }
  if (!is_json) {
    throw Error(ErrorKind::Protocol, where + ": answer is not a JSON object: " + excerpt(res.body),
                status);
  }

  try {
    Response out;
    out.http_status = status;
    out.etag = res.get_header_value("ETag");
    auto type = doc.find("type");
    if (type == doc.end() || !type->is_string()) {
      throw Error(ErrorKind::Protocol, where + ": answer has no response type", status);
    }
    out.type = type->get<std::string>();
    if (out.type == "error") {
      // An error envelope with a 2xx status: trust the envelope.
      const int code = doc.value("error_code", 0);
      const std::string text = doc.value("error", std::string("error"));
      throw Error(kind_for(code, text), where + ": " + text, code);
    }
    if (out.type != "sync" && out.type != "async") {
      throw Error(ErrorKind::Protocol, where + ": unknown response type \"" + out.type + "\"", status);
    }
    out.status_code = doc.value("status_code", 0);
    if (auto m = doc.find("metadata"); m != doc.end()) out.metadata = *m;
    if (auto op = doc.find("operation"); op != doc.end() && op->is_string()) {
      out.operation = op->get<std::string>();
    }
    if (out.type == "async" && out.operation.empty()) {
      throw Error(ErrorKind::Protocol, where + ": async answer names no operation", status);
    }
    return out;
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Protocol, where + ": malformed answer: " + e.what(), status);
  }
}

// "The instance is already stopped" comes as a failed operation from LXD 5.0 (and as a plain 400
// from some other versions).
bool is_already_stopped(const Error& e) {
  if (e.kind() != ErrorKind::OperationFailed && e.kind() != ErrorKind::BadRequest) return false;
  return std::string_view(e.what()).find("already stopped") != std::string_view::npos;
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Response Client::request(const std::string& method, const std::string& path,
                         const std::optional<json>& body, const std::string& if_match,
                         std::optional<milliseconds> timeout) const {
  const milliseconds io_timeout = timeout.value_or(options_.request_timeout);
  const std::string where = method + " " + path;

  httplib::Request req;
  req.method = method;
  req.path = path;
  // LXD rejects the Host httplib would derive from the socket path.
  req.headers.emplace("Host", "lxd");
  req.headers.emplace("Accept", "application/json");
  if (!if_match.empty()) req.headers.emplace("If-Match", if_match);
  if (body) {
    try {
      req.body = body->dump();
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Protocol, where + ": cannot encode the request body: " + e.what());
    }
    req.headers.emplace("Content-Type", "application/json");
  }

  auto send = [&]() -> httplib::Result {
    const SigpipeBlock no_sigpipe;
    httplib::Client cli(options_.socket_path);
    cli.set_address_family(AF_UNIX);
    cli.set_keep_alive(false);
    cli.set_connection_timeout(options_.connect_timeout);
    cli.set_read_timeout(io_timeout);
    cli.set_write_timeout(io_timeout);
    return cli.send(req);
  };

  const auto start = Clock::now();
  httplib::Result result{nullptr, httplib::Error::Unknown};
  try {
    result = send();
    // LXD answers some requests (a stop of a missing instance: 404) before it reads their body
    // and closes; httplib, still writing the body, then fails with a write error and drops the
    // answer. LXD did not read the body, so it acted on nothing: sending again once is safe.
    if (!result && result.error() == httplib::Error::Write && !req.body.empty() &&
        ms_since(start) + 50.0 < static_cast<double>(io_timeout.count())) {
      spdlog::debug("lxd {} -> write error after {:.1f} ms; sending again", where, ms_since(start));
      result = send();
    }
  } catch (const std::exception& e) {
    spdlog::debug("lxd {} -> exception after {:.1f} ms: {}", where, ms_since(start), e.what());
    throw Error(ErrorKind::Transport, where + ": " + e.what());
  }
  const double elapsed_ms = ms_since(start);

  if (!result) {
    const httplib::Error err = result.error();
    spdlog::debug("lxd {} -> {} after {:.1f} ms", where, httplib::to_string(err), elapsed_ms);
    // httplib reports a read that timed out as a plain read error: the time spent tells them apart.
    const bool timed_out =
        err == httplib::Error::ConnectionTimeout ||
        ((err == httplib::Error::Read || err == httplib::Error::Write) &&
         elapsed_ms + 50.0 >= static_cast<double>(io_timeout.count()));
    if (timed_out) {
      throw Error(ErrorKind::Timeout, where + ": no answer from LXD within " +
                                          std::to_string(io_timeout.count()) + " ms");
    }
    throw Error(ErrorKind::Transport, where + ": " + httplib::to_string(err) + " (socket " +
                                          options_.socket_path + ")");
  }

  spdlog::debug("lxd {} -> {} ({:.1f} ms)", where, result->status, elapsed_ms);
  return decode(where, *result);
}

Operation Client::wait_operation(const std::string& operation_path,
                                 std::optional<milliseconds> timeout) const {
  const milliseconds bound = timeout.value_or(options_.operation_timeout);
  const auto deadline = Clock::now() + bound;
  const std::string path = operation_path.find('/') == std::string::npos
                               ? "/1.0/operations/" + url_encode(operation_path)
                               : operation_path;
  for (;;) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    // LXD takes whole seconds; always ask for at least one, so a spent bound still polls once.
    seconds chunk = std::chrono::duration_cast<seconds>(remaining + milliseconds(999));
    chunk = std::clamp(chunk, seconds(1), kMaxWaitChunk);

    const Response resp = request("GET", path + "/wait?timeout=" + std::to_string(chunk.count()),
                                  std::nullopt, "", chunk + kWaitGrace);
    Operation op = operation_from_json(resp.metadata);
    if (op.done()) {
      if (op.succeeded()) return op;
      std::string what = "operation";
      if (auto d = op.raw.find("description"); d != op.raw.end() && d->is_string()) what = *d;
      throw Error(says_already_exists(op.err) ? ErrorKind::Conflict : ErrorKind::OperationFailed,
                  what + " (" + path + ") " + (op.status.empty() ? "failed" : op.status) + ": " +
                      (op.err.empty() ? "no error text" : op.err));
    }
    if (Clock::now() >= deadline) {
      throw Error(ErrorKind::Timeout, "operation " + path + " still " + op.status + " after " +
                                          std::to_string(bound.count()) + " ms");
    }
  }
}

Operation Client::run_operation(const Response& async_response) const {
  if (async_response.type != "async") {
    // Nothing to wait for: LXD did the work before answering.
    Operation done;
    done.status = "Success";
    done.status_code = 200;
    done.metadata = async_response.metadata;
    return done;
  }
  return wait_operation(async_response.operation);
}

ServerInfo Client::server_info() const {
  return server_info_from_json(request("GET", "/1.0").metadata);
}

// ---- profiles -------------------------------------------------------------------------------

std::vector<Profile> Client::list_profiles() const {
  const Response resp = request("GET", "/1.0/profiles?recursion=1");
  if (!resp.metadata.is_array()) {
    throw Error(ErrorKind::Protocol, "GET /1.0/profiles: metadata is not a list");
  }
  std::vector<Profile> out;
  for (const auto& p : resp.metadata) out.push_back(profile_from_json(p));
  return out;
}

Profile Client::get_profile(const std::string& name) const {
  const Response resp = request("GET", profile_path(name));
  Profile p = profile_from_json(resp.metadata);
  p.etag = resp.etag;
  return p;
}

void Client::create_profile(const ProfileSpec& spec) const {
  run_operation(request("POST", "/1.0/profiles", profile_spec_to_json(spec, true)));
}

void Client::update_profile(const ProfileSpec& spec, const std::string& if_match) const {
  run_operation(request("PUT", profile_path(spec.name), profile_spec_to_json(spec, false), if_match));
}

void Client::patch_profile(const std::string& name, const json& patch,
                           const std::string& if_match) const {
  run_operation(request("PATCH", profile_path(name), patch, if_match));
}

void Client::delete_profile(const std::string& name) const {
  run_operation(request("DELETE", profile_path(name)));
}

// ---- instances ------------------------------------------------------------------------------

std::vector<Instance> Client::list_instances(const std::string& filter, bool with_state) const {
  // LXD 5.0's filter parser takes unquoted values only (`config.user.k eq v`); a quoted value
  // is rejected as "unterminated quote".
  std::string path = std::string("/1.0/instances?recursion=") + (with_state ? "2" : "1");
  if (!filter.empty()) path += "&filter=" + url_encode(filter);
  const Response resp = request("GET", path);
  if (!resp.metadata.is_array()) {
    throw Error(ErrorKind::Protocol, "GET /1.0/instances: metadata is not a list");
  }
  std::vector<Instance> out;
  out.reserve(resp.metadata.size());
  for (const auto& i : resp.metadata) out.push_back(instance_from_json(i));
  return out;
}

Instance Client::get_instance(const std::string& name) const {
  const Response resp = request("GET", instance_path(name));
  Instance i = instance_from_json(resp.metadata);
  i.etag = resp.etag;
  return i;
}

InstanceState Client::get_instance_state(const std::string& name) const {
  return instance_state_from_json(request("GET", instance_path(name) + "/state").metadata);
}

void Client::create_instance(const InstanceSpec& spec) const {
  run_operation(request("POST", "/1.0/instances", instance_spec_to_json(spec)));
}

// Note for callers: send `limits.cpu` in a PATCH of its own. Combined with other keys, LXD 5.0
// often left the container's cpuset stale.
void Client::patch_instance(const std::string& name, const json& patch,
                            const std::string& if_match) const {
  run_operation(request("PATCH", instance_path(name), patch, if_match));
}

void Client::delete_instance(const std::string& name) const {
  run_operation(request("DELETE", instance_path(name)));
}

void Client::start_instance(const std::string& name) const {
  run_operation(request("PUT", instance_path(name) + "/state", json{{"action", "start"}}));
}

void Client::stop_instance(const std::string& name, StopMode mode,
                           seconds graceful_timeout) const {
  const std::string path = instance_path(name) + "/state";
  // LXD: force, or timeout 0, is a hard stop; timeout > 0 asks init for a clean shutdown and fails
  // the operation when the instance is still running at the timeout. Stopping a stopped instance
  // fails with "The instance is already stopped", which counts as success here.
  // Returns the operation to wait for, or nothing when there is nothing left to do.
  auto put_stop = [&](bool force, seconds lxd_timeout) -> std::optional<std::string> {
    const json body{
        {"action", "stop"}, {"timeout", force ? 0 : lxd_timeout.count()}, {"force", force}};
    try {
      const Response resp = request("PUT", path, body);
      if (resp.type != "async") return std::nullopt;
      return resp.operation;
    } catch (const Error& e) {
      if (!is_already_stopped(e)) throw;
      spdlog::debug("lxd stop {}: already stopped", name);
      return std::nullopt;
    }
  };
  auto wait = [&](const std::string& operation, milliseconds bound) {
    try {
      wait_operation(operation, bound);
    } catch (const Error& e) {
      if (!is_already_stopped(e)) throw;
      spdlog::debug("lxd stop {}: already stopped", name);
    }
  };

  if (mode == StopMode::Graceful && graceful_timeout.count() > 0) {
    // Errors of the request itself (LXD unreachable, no such instance) propagate: forcing would
    // meet them again.
    const auto operation = put_stop(false, graceful_timeout);
    if (!operation) return;
    try {
      wait(*operation, graceful_timeout + kGracefulStopGrace);
      return;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Transport) throw;
      // The shutdown failed or outlived its bound: stop by force.
      spdlog::debug("lxd stop {}: clean shutdown did not finish ({}); forcing", name, e.what());
    }
  }
  if (const auto operation = put_stop(true, seconds(0))) wait(*operation, options_.operation_timeout);
}

// ---- images ---------------------------------------------------------------------------------

std::vector<Image> Client::list_images() const {
  const Response resp = request("GET", "/1.0/images?recursion=1");
  if (!resp.metadata.is_array()) {
    throw Error(ErrorKind::Protocol, "GET /1.0/images: metadata is not a list");
  }
  std::vector<Image> out;
  for (const auto& i : resp.metadata) out.push_back(image_from_json(i));
  return out;
}

Image Client::get_image(const std::string& fingerprint) const {
  return image_from_json(request("GET", "/1.0/images/" + url_encode(fingerprint)).metadata);
}

ImageAlias Client::get_image_alias(const std::string& name) const {
  // Alias names may contain '/', which LXD's route takes as part of the name.
  return image_alias_from_json(
      request("GET", "/1.0/images/aliases/" + url_encode(name, /*keep_slash=*/true)).metadata);
}

}  // namespace lxe::lxd
