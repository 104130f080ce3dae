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
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>
#include <utility>

#include "common/sigpipe_block.h"
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

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
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

// LXD 5.0 refuses a change of an instance while another operation holds its lock ("Instance is
// busy running a "stop" operation", or "A matching non-reusable operation has now succeeded" when
// an identical one just ran) with a plain 400/500 and no code of its own. This is the one place
// lxe reads LXD's wording for it; everything above the client sees ErrorKind::Busy.
bool says_busy(std::string_view text) {
  return text.find("is busy running") != std::string_view::npos ||
         text.find("matching non-reusable operation") != std::string_view::npos;
}

ErrorKind kind_for(int http_status, std::string_view text) {
  const ErrorKind kind = kind_for_http_status(http_status);
  if (says_busy(text)) return ErrorKind::Busy;
  if (kind == ErrorKind::Server && says_already_exists(text)) return ErrorKind::Conflict;
  return kind;
}

// httplib (0.11) writes with plain send(): a peer that closed first raises SIGPIPE, which kills
// the process unless it is ignored; each request holds a SigpipeBlock.

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
// from some other versions). An instance whose init exits while the stop is under way makes
// liblxc fail the operation with `container is not running: "<name>"` instead (critest's short-lived
// commands hit it): stopped all the same.
bool is_already_stopped(const Error& e) {
  if (e.kind() != ErrorKind::OperationFailed && e.kind() != ErrorKind::BadRequest) return false;
  const std::string_view what(e.what());
  return what.find("already stopped") != std::string_view::npos ||
         what.find("container is not running") != std::string_view::npos;
}

// Sends one request on a connection of its own and returns LXD's HTTP answer, whatever its status.
// Throws Error{Timeout} or Error{Transport} when no answer came.
httplib::Response send_request(const ClientOptions& options, const httplib::Request& req,
                               milliseconds io_timeout, const std::string& where) {
  auto send = [&]() -> httplib::Result {
    const SigpipeBlock no_sigpipe;
    httplib::Client cli(options.socket_path);
    cli.set_address_family(AF_UNIX);
    // Not for reuse (the connection closes with `cli`): without "Connection: close", LXD's Go
    // server reads and discards a body it did not need before it answers (a 404 for a stop of a
    // missing instance). With it, LXD closed at once and httplib, still writing the body, lost the
    // answer to a write error (and SIGPIPE) in about one request in ten.
    cli.set_keep_alive(true);
    cli.set_connection_timeout(options.connect_timeout);
    cli.set_read_timeout(io_timeout);
    cli.set_write_timeout(io_timeout);
    return cli.send(req);
  };

  const auto start = Clock::now();
  httplib::Result result{nullptr, httplib::Error::Unknown};
  try {
    result = send();
    // A write error means LXD stopped reading before it had the whole request (see keep-alive
    // above): it acted on nothing that needed the body, so sending it again once is safe.
    if (!result && result.error() == httplib::Error::Write && !req.body.empty() &&
        ms_since(start) + 50.0 < static_cast<double>(io_timeout.count())) {
      spdlog::debug("lxd {} -> write error after {:.1f} ms; sending again", where, ms_since(start));
      result = send();
    }
  } catch (const std::exception& e) {
    spdlog::debug("lxd {} -> exception after {:.1f} ms: {}", where, ms_since(start), e.what());
    if (options.observer)
      options.observer->on_lxd_request(req.method, endpoint_of(req.path), 0,
                                       std::chrono::duration<double, std::milli>(ms_since(start)));
    throw Error(ErrorKind::Transport, where + ": " + e.what());
  }
  const double elapsed_ms = ms_since(start);
  if (options.observer)
    options.observer->on_lxd_request(req.method, endpoint_of(req.path), result ? result->status : 0,
                                     std::chrono::duration<double, std::milli>(elapsed_ms));

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
                                          options.socket_path + ")");
  }

  spdlog::debug("lxd {} -> {} ({:.1f} ms)", where, result->status, elapsed_ms);
  return std::move(*result);
}

httplib::Request new_request(const std::string& method, const std::string& path) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  // LXD rejects the Host httplib would derive from the socket path.
  req.headers.emplace("Host", "lxd");
  req.headers.emplace("Accept", "application/json");
  return req;
}

// The error a failed or cancelled operation stands for.
Error operation_error(const Operation& op, const std::string& path) {
  std::string what = "operation";
  if (auto d = op.raw.find("description"); d != op.raw.end() && d->is_string()) what = *d;
  return Error(says_busy(op.err)             ? ErrorKind::Busy
               : says_already_exists(op.err) ? ErrorKind::Conflict
                                             : ErrorKind::OperationFailed,
               what + " (" + path + ") " + (op.status.empty() ? "failed" : op.status) + ": " +
                   (op.err.empty() ? "no error text" : op.err));
}

std::string operation_path_of(const std::string& operation) {
  return operation.find('/') == std::string::npos ? "/1.0/operations/" + url_encode(operation)
                                                  : operation;
}

std::string image_path(const std::string& fingerprint) {
  return "/1.0/images/" + url_encode(fingerprint);
}

// Deletes the log files an exec recorded its output in when it goes out of scope, whether reading
// them worked or not: LXD keeps them until the instance is deleted, and a long-lived container
// that is probed every few seconds would collect thousands. Best effort: a log that cannot be
// deleted costs a few bytes of disk and must not fail the exec.
class ExecLogsRemover {
 public:
  ExecLogsRemover(const Client& client, std::vector<std::string> paths)
      : client_(client), paths_(std::move(paths)) {}
  ~ExecLogsRemover() {
    for (const auto& path : paths_) {
      if (path.empty()) continue;
      try {
        client_.request("DELETE", path);
      } catch (const std::exception& e) {
        spdlog::debug("lxd exec: cannot delete output log {}: {}", path, e.what());
      }
    }
  }
  ExecLogsRemover(const ExecLogsRemover&) = delete;
  ExecLogsRemover& operator=(const ExecLogsRemover&) = delete;

 private:
  const Client& client_;
  std::vector<std::string> paths_;
};

// Deletes an image that import_image uploaded unless the import completed (dismiss()), so that a
// failed import leaves no unnamed image behind. Best effort, like any cleanup on a failure path.
class ImageRollback {
 public:
  ImageRollback(const Client& client, std::string fingerprint)
      : client_(client), fingerprint_(std::move(fingerprint)) {}
  ~ImageRollback() {
    if (fingerprint_.empty()) return;
    try {
      client_.delete_image(fingerprint_);
    } catch (const std::exception& e) {
      spdlog::warn("lxd image import failed, and the uploaded image {} could not be deleted: {}",
                   fingerprint_, e.what());
    }
  }
  void dismiss() { fingerprint_.clear(); }
  ImageRollback(const ImageRollback&) = delete;
  ImageRollback& operator=(const ImageRollback&) = delete;

 private:
  const Client& client_;
  std::string fingerprint_;
};

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Response Client::request(const std::string& method, const std::string& path,
                         const std::optional<json>& body, const std::string& if_match,
                         std::optional<milliseconds> timeout) const {
  const milliseconds io_timeout = timeout.value_or(options_.request_timeout);
  const std::string where = method + " " + path;

  httplib::Request req = new_request(method, path);
  if (!if_match.empty()) req.headers.emplace("If-Match", if_match);
  if (body) {
    try {
      req.body = body->dump();
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Protocol, where + ": cannot encode the request body: " + e.what());
    }
    req.headers.emplace("Content-Type", "application/json");
  }
  return decode(where, send_request(options_, req, io_timeout, where));
}

Operation Client::await_operation(const std::string& operation_path,
                                  std::optional<milliseconds> timeout) const {
  const milliseconds bound = timeout.value_or(options_.operation_timeout);
  const auto deadline = Clock::now() + bound;
  const std::string path = operation_path_of(operation_path);
  for (;;) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    // LXD takes whole seconds; always ask for at least one, so a spent bound still polls once.
    seconds chunk = std::chrono::duration_cast<seconds>(remaining + milliseconds(999));
    chunk = std::clamp(chunk, seconds(1), kMaxWaitChunk);

    const Response resp = request("GET", path + "/wait?timeout=" + std::to_string(chunk.count()),
                                  std::nullopt, "", chunk + kWaitGrace);
    Operation op = operation_from_json(resp.metadata);
    if (op.done()) return op;
    if (Clock::now() >= deadline) {
      throw Error(ErrorKind::Timeout, "operation " + path + " still " + op.status + " after " +
                                          std::to_string(bound.count()) + " ms");
    }
  }
}

Operation Client::wait_operation(const std::string& operation_path,
                                 std::optional<milliseconds> timeout) const {
  Operation op = await_operation(operation_path, timeout);
  if (!op.succeeded()) throw operation_error(op, operation_path_of(operation_path));
  return op;
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

StoragePool Client::get_storage_pool(const std::string& name) const {
  return storage_pool_from_json(request("GET", "/1.0/storage-pools/" + url_encode(name)).metadata);
}

// ---- networks -------------------------------------------------------------------------------

std::vector<Network> Client::list_networks() const {
  const Response resp = request("GET", "/1.0/networks?recursion=1");
  if (!resp.metadata.is_array()) throw Error(ErrorKind::Protocol, "GET /1.0/networks: metadata is not a list");
  std::vector<Network> out;
  for (const auto& n : resp.metadata) out.push_back(network_from_json(n));
  return out;
}

Network Client::get_network(const std::string& name) const {
  return network_from_json(request("GET", "/1.0/networks/" + url_encode(name)).metadata);
}

void Client::create_network(const NetworkSpec& spec) const {
  run_operation(request("POST", "/1.0/networks", network_spec_to_json(spec)));
}

void Client::delete_network(const std::string& name) const {
  run_operation(request("DELETE", "/1.0/networks/" + url_encode(name)));
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
  Response resp = request("GET", path);
  if (!resp.metadata.is_array()) {
    throw Error(ErrorKind::Protocol, "GET /1.0/instances: metadata is not a list");
  }
  std::vector<Instance> out;
  out.reserve(resp.metadata.size());
  for (auto& i : resp.metadata) out.push_back(instance_from_json(std::move(i)));
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

void Client::rename_instance(const std::string& name, const std::string& new_name) const {
  run_operation(request("POST", instance_path(name), json{{"name", new_name}}));
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

ExecResult Client::exec(const std::string& instance, const std::vector<std::string>& command,
                        const Config& environment, const std::string& cwd,
                        std::optional<milliseconds> timeout) const {
  // record-output makes LXD run the command as a plain task and keep its output in log files: no
  // websockets. LXD refuses it together with wait-for-websocket or interactive.
  json body{{"command", command},
            {"environment", config_to_json(environment)},
            {"wait-for-websocket", false},
            {"interactive", false},
            {"record-output", true}};
  // LXD 5.0 runs the command in / when cwd does not exist, without a word.
  if (!cwd.empty()) body["cwd"] = cwd;
  const std::string path = instance_path(instance) + "/exec";
  const Response resp = request("POST", path, body);
  if (resp.type != "async") {
    throw Error(ErrorKind::Protocol, "POST " + path + ": exec answered " + resp.type +
                                         ", not with an operation");
  }
  // A Timeout here leaves the output logs behind: LXD names them only once the command ends.
  const Operation op = await_operation(resp.operation, timeout);
  const ExecRecord rec = exec_record_from_json(op.metadata);
  const ExecLogsRemover remove_logs(*this, {rec.stdout_log, rec.stderr_log});
  // LXD 5.0 reports any command that exits 127 or 126 as a failed operation ("Command not found",
  // "Command not executable"), with its exit code and logs; this is the one place that reads
  // LXD's wording for it. A shell that could not run a program exits so, and that is its answer.
  const bool not_found = !op.succeeded() && op.err.find("Command not found") != std::string::npos;
  const bool not_executable = !op.succeeded() && op.err.find("Command not executable") != std::string::npos;
  if (!op.succeeded() && !not_found && !not_executable) throw operation_error(op, operation_path_of(resp.operation));
  if (op.succeeded() && (!rec.exit_code || rec.stdout_log.empty() || rec.stderr_log.empty())) {
    throw Error(ErrorKind::Protocol, "exec " + operation_path_of(resp.operation) +
                                         ": the finished operation lacks the exit code or the "
                                         "output logs: " + op.metadata.dump());
  }

  // The logs are the raw bytes the command wrote, not LXD's JSON (errors still come as JSON).
  auto read_log = [&](const std::string& log_path) -> std::string {
    if (log_path.empty()) return {};
    const std::string where = "GET " + log_path;
    httplib::Request req = new_request("GET", log_path);
    httplib::Response res = send_request(options_, req, options_.request_timeout, where);
    if (res.status < 200 || res.status >= 300) decode(where, res);  // throws LXD's error
    return std::move(res.body);
  };
  ExecResult result;
  result.exit_code = rec.exit_code.value_or(not_found ? 127 : 126);
  result.command_not_found = not_found;
  result.stdout_data = read_log(rec.stdout_log);
  result.stderr_data = read_log(rec.stderr_log);
  return result;
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
  return image_from_json(request("GET", image_path(fingerprint)).metadata);
}

ImageAlias Client::get_image_alias(const std::string& name) const {
  // Alias names may contain '/' (image references do). They are percent-encoded like any other
  // name (LXD unescapes the route's name), so no '.' or '..' segment in a name reaches LXD's router.
  return image_alias_from_json(request("GET", "/1.0/images/aliases/" + url_encode(name)).metadata);
}

namespace {

httplib::Request image_upload_request() {
  httplib::Request req = new_request("POST", "/1.0/images");
  // Anything that is not JSON is an upload to LXD; the content type says so explicitly.
  req.headers.emplace("Content-Type", "application/octet-stream");
  req.headers.emplace("X-LXD-public", "false");
  return req;
}

}  // namespace

std::string Client::import_image(const std::string& tarball, const std::string& alias,
                                 const std::map<std::string, std::string>& properties) const {
  httplib::Request req = image_upload_request();
  req.body = tarball;
  return upload_image(std::move(req), alias, properties);
}

std::string Client::import_image_file(const std::string& path, const std::string& alias,
                                      const std::map<std::string, std::string>& properties) const {
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!*file || ec) throw Error(ErrorKind::Transport, "image upload: cannot read " + path);
  httplib::Request req = image_upload_request();
  req.content_length_ = static_cast<size_t>(size);
  req.content_provider_ = [file](size_t offset, size_t length, httplib::DataSink& sink) {
    std::vector<char> buffer(std::min<size_t>(length, 1 << 20));
    file->seekg(static_cast<std::streamoff>(offset));
    file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = file->gcount();
    if (got <= 0) return false;
    return sink.write(buffer.data(), static_cast<size_t>(got));
  };
  return upload_image(std::move(req), alias, properties);
}

std::string Client::upload_image(httplib::Request&& req, const std::string& alias,
                                 const std::map<std::string, std::string>& properties) const {
  const std::string where = "POST /1.0/images";
  // LXD stores the whole body on disk before it answers: allow an upload of some MB more time
  // than an ordinary request.
  const milliseconds upload_timeout = std::max(options_.request_timeout, options_.operation_timeout);
  const Response resp = decode(where, send_request(options_, req, upload_timeout, where));
  if (resp.type != "async") {
    throw Error(ErrorKind::Protocol, where + ": answered " + resp.type + ", not with an operation");
  }

  const Operation op = await_operation(resp.operation, std::nullopt);
  // LXD reports the fingerprint even when the upload failed.
  const std::string fingerprint = image_fingerprint_from_json(op.metadata);
  bool uploaded_now = op.succeeded();
  if (!op.succeeded()) {
    // The same bytes were uploaded before (by an earlier import whose alias was lost, say): the
    // image is there, which is all this needs.
    const bool same_image_exists =
        op.err.find("same fingerprint already exists") != std::string::npos && !fingerprint.empty();
    if (!same_image_exists) throw operation_error(op, operation_path_of(resp.operation));
    spdlog::debug("lxd image import: image {} is already there", fingerprint);
  }
  if (fingerprint.empty()) {
    throw Error(ErrorKind::Protocol, where + ": the upload operation reports no fingerprint: " +
                                         op.metadata.dump());
  }

  ImageRollback rollback(*this, uploaded_now ? fingerprint : std::string());
  if (!properties.empty()) {
    // Not with the X-LXD-properties header on the upload: LXD 5.0 writes those into the property
    // map from the image's metadata.yaml, and when that file has no `properties` the map is nil and
    // the LXD daemon panics. A PATCH merges them into whatever the image has.
    json props = json::object();
    for (const auto& [k, v] : properties) props[k] = v;
    request("PATCH", image_path(fingerprint), json{{"properties", std::move(props)}});
  }
  ensure_image_alias(alias, fingerprint);
  rollback.dismiss();
  return fingerprint;
}

void Client::ensure_image_alias(const std::string& alias, const std::string& fingerprint) const {
  try {
    request("POST", "/1.0/images/aliases",
            json{{"name", alias}, {"description", ""}, {"target", fingerprint}});
    return;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Conflict) throw;
  }
  // Taken (LXD 5.0: 409 'Alias "x" already exists'): fine when it already names this image.
  const ImageAlias existing = get_image_alias(alias);
  if (existing.target != fingerprint) {
    throw Error(ErrorKind::Conflict, "image alias \"" + alias + "\" already points at image " +
                                         existing.target + ", not at " + fingerprint);
  }
}

std::string Client::pull_remote_image(const RemoteImageSource& source, std::chrono::milliseconds timeout) const {
  json src = {{"type", "image"}, {"mode", "pull"}, {"server", source.server}, {"protocol", source.protocol}};
  if (!source.alias.empty()) src["alias"] = source.alias;
  if (!source.fingerprint.empty()) src["fingerprint"] = source.fingerprint;
  if (!source.certificate.empty()) src["certificate"] = source.certificate;
  const Response resp = request("POST", "/1.0/images", json{{"source", src}});
  if (resp.type != "async") throw Error(ErrorKind::Protocol, "POST /1.0/images: answered " + resp.type + ", not with an operation");
  const Operation op = await_operation(resp.operation, timeout);
  if (!op.succeeded()) throw operation_error(op, operation_path_of(resp.operation));
  const std::string fingerprint = image_fingerprint_from_json(op.metadata);
  if (fingerprint.empty())
    throw Error(ErrorKind::Protocol, "POST /1.0/images: the download reports no fingerprint: " + op.metadata.dump());
  return fingerprint;
}

void Client::tag_image(const std::string& fingerprint, const std::string& alias,
                       const std::map<std::string, std::string>& properties) const {
  if (!properties.empty()) {
    json props = json::object();
    for (const auto& [k, v] : properties) props[k] = v;
    request("PATCH", image_path(fingerprint), json{{"properties", std::move(props)}});
  }
  ensure_image_alias(alias, fingerprint);
}

void Client::delete_image(const std::string& fingerprint) const {
  run_operation(request("DELETE", image_path(fingerprint)));
}

}  // namespace lxe::lxd
