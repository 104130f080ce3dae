#include "reconcile/pause_image.h"

#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace lxe::reconcile {
namespace {

constexpr size_t kBlock = 512;

// Writes `value` as zero-padded octal into a field of `width` bytes (NUL-terminated).
void octal(char* field, size_t width, unsigned long long value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), value);
}

void append_entry(std::string& tar, const std::string& name, char type, unsigned mode, const std::string& content) {
  char header[kBlock] = {};
  std::strncpy(header, name.c_str(), 99);
  octal(header + 100, 8, mode);
  octal(header + 108, 8, 0);  // uid
  octal(header + 116, 8, 0);  // gid
  octal(header + 124, 12, content.size());
  octal(header + 136, 12, static_cast<unsigned long long>(std::time(nullptr)));
  header[156] = type;
  std::memcpy(header + 257, "ustar", 6);
  std::memcpy(header + 263, "00", 2);
  std::memcpy(header + 148, "        ", 8);  // checksum is computed with its own field as spaces
  unsigned sum = 0;
  for (const unsigned char c : header) sum += c;
  std::snprintf(header + 148, 8, "%06o", sum);
  header[155] = ' ';
  tar.append(header, kBlock);
  tar.append(content);
  tar.append((kBlock - content.size() % kBlock) % kBlock, '\0');
}

}  // namespace

std::string make_pause_image_tarball() {
  utsname host{};
  ::uname(&host);
  const std::string metadata = std::string("architecture: ") + host.machine +
                               "\ncreation_date: " + std::to_string(std::time(nullptr)) +
                               "\nproperties:\n  description: lxe pod namespace holder\n  os: lxe\n"
                               "  release: pause\n";
  std::string tar;
  append_entry(tar, "metadata.yaml", '0', 0644, metadata);
  append_entry(tar, "rootfs/", '5', 0755, "");
  for (const char* dir : {"proc", "sys", "dev", "etc", "run", "root", "var", ".lxe"})
    append_entry(tar, std::string("rootfs/") + dir + "/", '5', 0755, "");
  append_entry(tar, "rootfs/tmp/", '5', 01777, "");
  append_entry(tar, "rootfs/etc/hostname", '0', 0644, "pause\n");
  tar.append(2 * kBlock, '\0');  // end of archive
  return tar;
}

}  // namespace lxe::reconcile
