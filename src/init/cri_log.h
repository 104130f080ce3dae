// The CRI container log format kubelet reads (`kubectl logs`), one record per line:
//   <RFC3339Nano UTC timestamp> <stdout|stderr> <F|P> <content>\n
// F is a full line (without its newline); P a chunk of a line too long for one record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "init/fd.h"

namespace lxe::init {

// 2026-11-22T10:11:12.123456789Z: always nine fraction digits, so that records sort as text.
std::string rfc3339_nano(int64_t ns);

std::string cri_record(int64_t ns, std::string_view stream, char tag, std::string_view content);

// Cuts one stream's bytes into records. containerd's limit: a line longer than 16 KiB becomes
// P records of 16 KiB and a final F record with the rest.
class LineSplitter {
 public:
  static constexpr size_t kMaxContent = 16 * 1024;
  using Sink = std::function<void(char tag, std::string_view content)>;

  void feed(std::string_view data, const Sink& sink);
  // End of the stream: a last line without its newline is still a full line.
  void finish(const Sink& sink);

 private:
  std::string pending_;  // bytes of a line whose newline has not come yet
};

// The kubelet log file, or nowhere when the path is empty.
class LogFile {
 public:
  // Throws std::system_error when the file cannot be opened.
  explicit LogFile(std::string path);

  // kubelet rotates a log by renaming it and asking the runtime to reopen: later records go to a
  // new file at the same path. On failure the old file stays in use (better a rotated file than no
  // log) and std::system_error is thrown.
  void reopen();

  // One write() per record, so that records of stdout and stderr never mix. Errors (disk full) are
  // dropped: the workload must not stop because its log cannot be written.
  void write(std::string_view record);

 private:
  std::string path_;
  Fd fd_;
};

}  // namespace lxe::init
