#include "reconcile/host_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace lxe::reconcile {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<nlohmann::json> read_json(const std::string& path) {
  const auto text = slurp(path);
  if (!text) return std::nullopt;
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
}

void change_owner(const std::string& path, int64_t uid, int64_t gid) {
  if (::chown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
    throw std::runtime_error("cannot chown " + path + ": " + std::strerror(errno));
}

void HostFiles::install_init_binary(const std::string& source) const {
  const auto wanted = slurp(source);
  if (!wanted) throw std::runtime_error("cannot read lxe-init at " + source);
  make_dirs(root_);
  if (slurp(init_binary()) == wanted) return;
  write_file_atomic(init_binary(), *wanted, 0755);
}

std::optional<int64_t> HostFiles::read_started_at(const std::string& container_id) const {
  const auto json = read_json(container_dir(container_id) + "/started.json");
  if (!json || !json->contains("started_at") || !(*json)["started_at"].is_number_integer()) return std::nullopt;
  return (*json)["started_at"].get<int64_t>();
}

std::optional<ExitRecord> HostFiles::read_exit(const std::string& container_id) const {
  const auto json = read_json(container_dir(container_id) + "/exit.json");
  if (!json) return std::nullopt;
  ExitRecord record;
  record.exit_code = json->value("exit_code", 0);
  record.signal = json->value("signal", 0);
  record.oom_killed = json->value("oom_killed", false);
  record.finished_at = json->value("finished_at", int64_t{0});
  return record;
}

void HostFiles::remove_sandbox_dir(const std::string& id) const {
  std::error_code ec;
  fs::remove_all(sandbox_dir(id), ec);
}

void HostFiles::remove_container_dir(const std::string& id) const {
  std::error_code ec;
  fs::remove_all(container_dir(id), ec);
}

void HostFiles::clear_run_records(const std::string& container_id) const {
  std::error_code ec;
  fs::remove(container_dir(container_id) + "/started.json", ec);
  fs::remove(container_dir(container_id) + "/exit.json", ec);
}

}  // namespace lxe::reconcile
