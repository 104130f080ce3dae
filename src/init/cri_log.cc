#include "init/cri_log.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include "init/sys.h"

namespace lxe::init {

std::string rfc3339_nano(int64_t ns) {
  const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  const long fraction = static_cast<long>(ns % 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", fraction);
  return buf;
}

std::string cri_record(int64_t ns, std::string_view stream, char tag, std::string_view content) {
  std::string record = rfc3339_nano(ns);
  record.reserve(record.size() + stream.size() + content.size() + 5);
  record.push_back(' ');
  record.append(stream);
  record.push_back(' ');
  record.push_back(tag);
  // kubelet's parser needs the space after the tag even when the content is empty.
  record.push_back(' ');
  record.append(content);
  record.push_back('\n');
  return record;
}

void LineSplitter::feed(std::string_view data, const Sink& sink) {
  pending_.append(data);
  const std::string_view buf = pending_;
  size_t start = 0;
  while (true) {
    const size_t newline = buf.find('\n', start);
    const size_t line_end = newline == std::string_view::npos ? buf.size() : newline;
    // Only cut a P chunk when more content follows it, so that a line of exactly 16 KiB is one F
    // record and an F record is never empty unless the line is.
    while (line_end - start > kMaxContent) {
      sink('P', buf.substr(start, kMaxContent));
      start += kMaxContent;
    }
    if (newline == std::string_view::npos) break;
    sink('F', buf.substr(start, newline - start));
    start = newline + 1;
  }
  pending_.erase(0, start);
}

void LineSplitter::finish(const Sink& sink) {
  if (!pending_.empty()) sink('F', pending_);
  pending_.clear();
}

namespace {

Fd open_log(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) throw std::system_error(errno, std::generic_category(), "cannot open log " + path);
  return fd;
}

}  // namespace

LogFile::LogFile(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) fd_ = open_log(path_);
}

void LogFile::reopen() {
  if (!path_.empty()) fd_ = open_log(path_);
}

void LogFile::write(std::string_view record) {
  if (fd_.valid()) write_all(fd_.get(), record);
}

}  // namespace lxe::init
