#include "reconcile/host_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "common/attach_protocol.h"

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

namespace {

// Whether two files hold the same bytes, read in chunks: lxe-init is several MB, and reading it
// whole (twice, at every start) was the peak of lxe's memory use.
bool same_contents(const std::string& a, const std::string& b) {
  std::error_code ec_a, ec_b;
  const auto size_a = fs::file_size(a, ec_a), size_b = fs::file_size(b, ec_b);
  if (ec_a || ec_b || size_a != size_b) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  if (!in_a || !in_b) return false;
  std::vector<char> buf_a(64 * 1024), buf_b(64 * 1024);
  while (in_a && in_b) {
    in_a.read(buf_a.data(), static_cast<std::streamsize>(buf_a.size()));
    in_b.read(buf_b.data(), static_cast<std::streamsize>(buf_b.size()));
    if (in_a.gcount() != in_b.gcount() ||
        !std::equal(buf_a.begin(), buf_a.begin() + in_a.gcount(), buf_b.begin()))
      return false;
  }
  return in_a.eof() && in_b.eof();
}

// write_file_atomic for a file copied in chunks.
void copy_file_atomic(const std::string& source, const std::string& path, unsigned mode) {
  std::ifstream in(source, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + source);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::vector<char> buf(64 * 1024);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    size_t written = 0;
    const auto n = static_cast<size_t>(in.gcount());
    while (written < n) {
      const ssize_t w = ::write(fd, buf.data() + written, n - written);
      if (w < 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
      }
      written += static_cast<size_t>(w);
    }
  }
  if (in.bad()) {
    ::close(fd);
    throw std::runtime_error("cannot read " + source);
  }
  ::fchmod(fd, mode);
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
}

}  // namespace

void HostFiles::install_init_binary(const std::string& source) const {
  if (!std::ifstream(source, std::ios::binary)) throw std::runtime_error("cannot read lxe-init at " + source);
  make_dirs(root_);
  if (same_contents(source, init_binary())) return;
  copy_file_atomic(source, init_binary(), 0755);
}

std::optional<int64_t> HostFiles::read_started_at(const std::string& container_id) const {
  const auto json = read_json(container_dir(container_id) + "/started.json");
  if (!json || !json->contains("started_at") || !(*json)["started_at"].is_number_integer()) return std::nullopt;
  return (*json)["started_at"].get<int64_t>();
}

std::string HostFiles::read_started_user(const std::string& container_id) const {
  const auto json = read_json(container_dir(container_id) + "/started.json");
  if (!json || !json->contains("user")) return "";
  const auto& user = (*json)["user"];
  // Only what ContainerStatus reports, checked: lxe-init's file is the container's to tamper with.
  if (!user.is_object() || !user.contains("uid") || !user["uid"].is_number_unsigned() || !user.contains("gid") ||
      !user["gid"].is_number_unsigned() || !user.contains("groups") || !user["groups"].is_array())
    return "";
  nlohmann::json out = {{"uid", user["uid"]}, {"gid", user["gid"]}, {"groups", nlohmann::json::array()}};
  for (const auto& g : user["groups"]) {
    if (!g.is_number_unsigned()) return "";
    out["groups"].push_back(g);
  }
  return out.dump();
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

std::string HostFiles::attach_socket(const std::string& id) const {
  return container_dir(id) + "/" + attach::kSocketName;
}

void HostFiles::clear_run_records(const std::string& container_id) const {
  std::error_code ec;
  fs::remove(container_dir(container_id) + "/started.json", ec);
  fs::remove(container_dir(container_id) + "/exit.json", ec);
  // Left by an lxe-init that was killed: it would look like one that listens.
  fs::remove(attach_socket(container_id), ec);
}

}  // namespace lxe::reconcile
