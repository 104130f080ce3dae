#include "support/fake_lxd.h"

#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace lxe::test {

std::string FakeLxd::RecordedRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return {};
}

std::string FakeLxd::RecordedRequest::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

FakeLxd::FakeLxd() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lxe-fake-lxd-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("fake LXD: mkdtemp failed");
  dir_ = tmpl;
  socket_path_ = dir_ + "/unix.socket";
  start();
}

FakeLxd::~FakeLxd() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void FakeLxd::on(const std::string& method, const std::string& path, Handler handler) {
  std::lock_guard lock(mu_);
  handlers_[{method, path}] = std::move(handler);
}

std::vector<FakeLxd::RecordedRequest> FakeLxd::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<FakeLxd::RecordedRequest> FakeLxd::requests(const std::string& method,
                                                        const std::string& path) const {
  std::lock_guard lock(mu_);
  std::vector<RecordedRequest> out;
  for (const auto& r : requests_) {
    if (r.method == method && r.path == path) out.push_back(r);
  }
  return out;
}

void FakeLxd::start() {
  if (server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  auto server = std::make_unique<httplib::Server>();
  server->set_address_family(AF_UNIX);
  auto handle = [this](const httplib::Request& req, httplib::Response& res) { dispatch(req, res); };
  server->Get(".*", handle);
  server->Post(".*", handle);
  server->Put(".*", handle);
  server->Patch(".*", handle);
  server->Delete(".*", handle);
  ::unlink(socket_path_.c_str());
  // Bound before start() returns: a test's first request cannot race the listener.
  if (!server->bind_to_port(socket_path_, 80)) {
    throw std::runtime_error("fake LXD: cannot bind " + socket_path_);
  }
  server_ = std::move(server);
  thread_ = std::thread([srv = server_.get()] { srv->listen_after_bind(); });
}

void FakeLxd::stop() {
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  ::unlink(socket_path_.c_str());
}

bool FakeLxd::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

void FakeLxd::dispatch(const httplib::Request& req, httplib::Response& res) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(RecordedRequest{req.method, req.path, req.params, req.headers, req.body});
    auto it = handlers_.find({req.method, req.path});
    if (it != handlers_.end()) handler = it->second;
  }
  if (handler) {
    handler(req, res);
  } else {
    reply_error(res, 404, "not found");
  }
}

void FakeLxd::reply_sync(httplib::Response& res, const nlohmann::json& metadata,
                         const std::string& etag) {
  const nlohmann::json body{{"type", "sync"},        {"status", "Success"}, {"status_code", 200},
                            {"operation", ""},       {"error_code", 0},     {"error", ""},
                            {"metadata", metadata}};
  res.status = 200;
  if (!etag.empty()) res.set_header("ETag", etag);
  res.set_content(body.dump(), "application/json");
}

void FakeLxd::reply_error(httplib::Response& res, int http_status, const std::string& message) {
  const nlohmann::json body{{"type", "error"},      {"status", ""},         {"status_code", 0},
                            {"operation", ""},      {"error_code", http_status},
                            {"error", message},     {"metadata", nullptr}};
  res.status = http_status;
  res.set_content(body.dump(), "application/json");
}

void FakeLxd::reply_async(httplib::Response& res, const std::string& id,
                          const std::string& description) {
  const nlohmann::json body{{"type", "async"},
                            {"status", "Operation created"},
                            {"status_code", 100},
                            {"operation", "/1.0/operations/" + id},
                            {"error_code", 0},
                            {"error", ""},
                            {"metadata", operation(id, 103, "", description)}};
  res.status = 202;
  res.set_content(body.dump(), "application/json");
}

nlohmann::json FakeLxd::operation(const std::string& id, int status_code, const std::string& err,
                                  const std::string& description) {
  std::string status = "Running";
  if (status_code == 200) status = "Success";
  if (status_code == 400) status = "Failure";
  if (status_code == 401) status = "Cancelled";
  return nlohmann::json{{"id", id},          {"class", "task"},     {"description", description},
                        {"status", status},  {"status_code", status_code},
                        {"metadata", nullptr}, {"may_cancel", false}, {"err", err},
                        {"location", "none"}};
}

}  // namespace lxe::test
