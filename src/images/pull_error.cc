#include "images/pull_error.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace lxe::images {

namespace {

bool mentions(const std::string& lower, std::initializer_list<std::string_view> phrases) {
  return std::any_of(phrases.begin(), phrases.end(),
                     [&](std::string_view p) { return lower.find(p) != std::string::npos; });
}

}  // namespace

PullError::Kind classify_skopeo_failure(std::string_view said) {
  std::string lower(said);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // Credentials first: a registry may answer "unauthorized" for a repository that also does not exist.
  if (mentions(lower, {"unauthorized", "authentication required", "401 unauthorized", "denied: requested access",
                       "invalid username/password", "incorrect username or password"}))
    return PullError::Kind::Unauthorized;
  if (mentions(lower, {"manifest unknown", "name unknown", "not found", "no such image",
                       "no image found in manifest list", "choosing an image from manifest list"}))
    return PullError::Kind::NotFound;
  if (mentions(lower, {"connection refused", "no such host", "i/o timeout", "network is unreachable",
                       "connection reset", "tls handshake timeout", "context deadline exceeded",
                       "server misbehaving", "no route to host",
                       "timeout awaiting response", "service unavailable", "502 bad gateway",
                       "503 service unavailable", "unexpected eof"}))
    return PullError::Kind::Unavailable;
  return PullError::Kind::Failed;
}

std::string skopeo_message(std::string_view text) {
  std::string out(text);
  if (const auto msg = out.find("msg=\""); msg != std::string::npos) {
    std::string inner;
    for (size_t i = msg + 5; i < out.size(); ++i) {
      if (out[i] == '\\' && i + 1 < out.size()) {
        inner += out[++i];
      } else if (out[i] == '"') {
        break;
      } else {
        inner += out[i];
      }
    }
    out = inner;
  }
  // "Error parsing image name \"docker://x\": <why>" and "initializing source docker://x: <why>".
  for (const std::string_view prefix : {std::string_view("Error parsing image name \""), std::string_view("initializing source ")}) {
    if (out.rfind(prefix, 0) != 0) continue;
    const auto docker = out.find("docker://", prefix.size());
    const auto colon = docker == std::string::npos ? std::string::npos : out.find(": ", docker);
    if (colon != std::string::npos) out = out.substr(colon + 2);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace lxe::images
