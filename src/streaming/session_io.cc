#include "streaming/session_io.h"

#include <algorithm>
#include <utility>

namespace lxe::streaming {

bool InboundPipe::push(std::string_view bytes) {
  std::unique_lock lock(mutex_);
  while (!bytes.empty()) {
    writable_.wait(lock, [&] { return aborted_ || buffer_.size() < limit_; });
    if (aborted_) return false;
    const size_t room = std::min(bytes.size(), limit_ - buffer_.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<long>(room));
    bytes.remove_prefix(room);
    readable_.notify_all();
  }
  return !aborted_;
}

void InboundPipe::finish() {
  std::lock_guard lock(mutex_);
  finished_ = true;
  readable_.notify_all();
}

void InboundPipe::abort() {
  std::lock_guard lock(mutex_);
  aborted_ = true;
  buffer_.clear();
  readable_.notify_all();
  writable_.notify_all();
}

size_t InboundPipe::take(char* out, size_t max) {
  const size_t n = std::min(max, buffer_.size());
  std::copy_n(buffer_.begin(), n, out);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(n));
  writable_.notify_all();
  return n;
}

size_t InboundPipe::read(char* out, size_t max) {
  std::unique_lock lock(mutex_);
  readable_.wait(lock, [&] { return aborted_ || finished_ || !buffer_.empty(); });
  if (aborted_) return 0;
  return take(out, max);
}

std::optional<size_t> InboundPipe::read_for(char* out, size_t max, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!readable_.wait_for(lock, timeout, [&] { return aborted_ || finished_ || !buffer_.empty(); }))
    return std::nullopt;
  if (aborted_) return 0;
  return take(out, max);
}

bool InboundPipe::ended() const {
  std::lock_guard lock(mutex_);
  return aborted_ || (finished_ && buffer_.empty());
}

void ResizeQueue::push(TerminalSize size) {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  pending_ = size;
  changed_.notify_all();
}

void ResizeQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

std::optional<TerminalSize> ResizeQueue::pop() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return closed_ || pending_.has_value(); });
  if (closed_) return std::nullopt;
  return std::exchange(pending_, std::nullopt);
}

void Cancellation::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool Cancellation::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return cancelled_; });
}

}  // namespace lxe::streaming
