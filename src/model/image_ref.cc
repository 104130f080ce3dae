#include "model/image_ref.h"

#include <algorithm>
#include <cctype>

namespace lxe::model {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool hex(char c) { return (c >= '0' && c <= 'f' && (c <= '9' || c >= 'a')); }

// path-component: lower-case alphanumerics, separated by one '.', one or two '_', or any number
// of '-'; it starts and ends with an alphanumeric.
bool path_component(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (lower_alnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !lower_alnum(s[j])) ++j;
    const std::string_view separator = s.substr(i, j - i);
    const bool ok = separator == "." || separator == "_" || separator == "__" ||
                    std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain: host names of alphanumerics and inner '-', joined by '.', or a bracketed IPv6
// address; then an optional ":port".
bool domain_valid(std::string_view d) {
  std::string_view host = d;
  const bool bracketed = !d.empty() && d.front() == '[';
  if (bracketed) {
    const size_t close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (const char c : d.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    host = {};
    d.remove_prefix(close + 1);
    if (d.empty()) return true;
    if (d.front() != ':') return false;
  } else if (const size_t colon = d.rfind(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    d.remove_prefix(colon);
  } else {
    d = {};
  }
  if (!d.empty()) {  // ":port"
    const std::string_view port = d.substr(1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
  }
  if (bracketed) return true;
  if (host.empty()) return false;
  size_t start = 0;
  while (start <= host.size()) {
    const size_t dot = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || !alnum(label.front()) || !alnum(label.back())) return false;
    for (const char c : label)
      if (!alnum(c) && c != '-') return false;
    start = dot + 1;
  }
  return true;
}

bool tag_valid(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  if (!alnum(t.front()) && t.front() != '_') return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// algorithm ":" encoded; sha256 must be 64 lower-case hex digits.
std::string digest_problem(std::string_view d) {
  const size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == d.size())
    return "digest '" + std::string(d) + "' is not <algorithm>:<hex>";
  const std::string_view algorithm = d.substr(0, colon), encoded = d.substr(colon + 1);
  if (!std::isalpha(static_cast<unsigned char>(algorithm.front())) ||
      !std::all_of(algorithm.begin(), algorithm.end(),
                   [](char c) { return alnum(c) || c == '+' || c == '.' || c == '_' || c == '-'; }))
    return "digest algorithm '" + std::string(algorithm) + "' is not valid";
  if (algorithm == "sha256" && (encoded.size() != 64 || !std::all_of(encoded.begin(), encoded.end(), hex)))
    return "a sha256 digest has 64 lower-case hex digits";
  if (encoded.size() < 32 || !std::all_of(encoded.begin(), encoded.end(), [](char c) {
        return alnum(c) || c == '=' || c == '_' || c == '-';
      }))
    return "digest '" + std::string(d) + "' is not valid";
  return "";
}

}  // namespace

std::string ImageRef::repository() const { return domain + "/" + path; }

std::string ImageRef::to_string() const {
  std::string out = repository();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string ImageRef::familiar() const {
  std::string out = domain == kDefaultDomain ? path : repository();
  if (domain == kDefaultDomain && out.rfind("library/", 0) == 0 && out.find('/', 8) == std::string::npos)
    out.erase(0, 8);
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::variant<ImageRef, std::string> parse_image_ref(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return std::string("the image reference is empty");
  if (text.size() == 64 && std::all_of(text.begin(), text.end(), hex))
    return quoted + " is an image ID (64 hex digits), not a reference";
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return quoted + " contains whitespace or a control character";

  ImageRef ref;
  std::string_view rest = text;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (auto problem = digest_problem(ref.digest); !problem.empty()) return quoted + ": " + problem;
    rest = rest.substr(0, at);
  }
  // A tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
  const size_t slash = rest.rfind('/');
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos &&
                                            (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!tag_valid(ref.tag)) return quoted + ": tag '" + ref.tag + "' is not valid";
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return quoted + " names no repository";
  if (rest.size() > kMaxNameLength) return quoted + ": the repository name is longer than 255 characters";

  const size_t first = rest.find('/');
  const std::string_view head = rest.substr(0, first);
  const bool has_domain = first != std::string_view::npos &&
                          (head.find_first_of(".:") != std::string_view::npos || head == "localhost" ||
                           std::any_of(head.begin(), head.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
  std::string_view path = rest;
  if (has_domain) {
    if (!domain_valid(head)) return quoted + ": registry '" + std::string(head) + "' is not a host name with an optional port";
    ref.domain = std::string(head);
    path = rest.substr(first + 1);
  } else {
    ref.domain = std::string(kDefaultDomain);
  }
  if (ref.domain == kLegacyDefaultDomain) ref.domain = std::string(kDefaultDomain);
  if (std::any_of(path.begin(), path.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); }))
    return quoted + ": repository names must be lower case";
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (!path_component(path.substr(start, end - start)))
      return quoted + ": '" + std::string(path.substr(start, end - start)) +
             "' is not a repository name part (lower-case letters and digits, joined by '.', '_', '__' or '-')";
    start = end + 1;
  }
  ref.path = std::string(path);
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos) ref.path = "library/" + ref.path;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace lxe::model
