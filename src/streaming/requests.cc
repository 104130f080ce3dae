#include "streaming/requests.h"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace lxe::streaming {

const char* path_of(const Request& request) {
  if (std::holds_alternative<ExecRequest>(request)) return "exec";
  if (std::holds_alternative<AttachRequest>(request)) return "attach";
  return "portforward";
}

std::string new_token() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (const unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0xf]);
  }
  return token;
}

RequestCache::RequestCache(std::chrono::milliseconds ttl, size_t capacity, Clock clock)
    : ttl_(ttl), capacity_(capacity), clock_(std::move(clock)) {}

void RequestCache::drop_expired(std::chrono::steady_clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
}

std::optional<std::string> RequestCache::insert(Request request) {
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_) drop_expired(now);
  if (entries_.size() >= capacity_) return std::nullopt;
  std::string token = new_token();
  entries_.emplace(token, Entry{std::move(request), now + ttl_});
  return token;
}

std::optional<Request> RequestCache::consume(const std::string& token, const std::string& path) {
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  Entry entry = std::move(it->second);
  entries_.erase(it);
  if (entry.expires <= now || path != path_of(entry.request)) return std::nullopt;
  return std::move(entry.request);
}

size_t RequestCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace lxe::streaming
