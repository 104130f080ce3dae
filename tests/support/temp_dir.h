// A temporary directory removed with everything in it when the test ends; whatever is mounted in
// it (lxe's staged volumes) is unmounted first, never walked into.
#pragma once

#include <string>

namespace lxe::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path`, replacing it.
void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

}  // namespace lxe::test

namespace lxe::test {

// Creates a unix socket file at `path` that nothing listens on: connecting to it is refused, as
// with the socket a crashed LXD leaves behind.
void make_dead_socket(const std::string& path);

}  // namespace lxe::test
