#include "host.h"

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "stats.h"

namespace lxe::bench {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

std::string loadavg() {
  std::istringstream in(read_file("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " / " + b + " / " + c;
}

std::string cpu_model() {
  std::istringstream in(read_file("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return trim(line.substr(line.find(':') + 1));
  return "unknown";
}

std::string mem_total() {
  std::istringstream in(read_file("/proc/meminfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("MemTotal:", 0) == 0) return num(std::stod(line.substr(9)) / 1024.0 / 1024.0, 1) + " GiB";
  return "?";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string kib(int64_t bytes) { return num(static_cast<double>(bytes) / 1024.0, 0) + " KiB"; }
std::string mib_of_kb(int64_t kb) { return num(static_cast<double>(kb) / 1024.0, 1) + " MiB"; }

std::string random_hex(int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[random() & 0xf]);
  return out;
}

}  // namespace lxe::bench
