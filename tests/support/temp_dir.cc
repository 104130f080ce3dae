#include "support/temp_dir.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "reconcile/idmapped_mount.h"

namespace lxe::test {

TempDir::TempDir() {
  // Short paths: unix socket paths must stay under 108 bytes.
  std::string pattern = "/tmp/lxe-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  // A test that failed, or an lxe killed on purpose, may leave lxe's staged volumes mounted in
  // here: remove_all would walk into them and delete the host folders they show.
  try {
    lxe::reconcile::unmount_all_under(std::filesystem::weakly_canonical(path_).string());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "TempDir %s: %s; not removing it\n", path_.c_str(), e.what());
    return;
  }
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace lxe::test

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace lxe::test {

void make_dead_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot bind " + path);
}

}  // namespace lxe::test
