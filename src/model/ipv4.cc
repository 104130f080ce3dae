#include "model/ipv4.h"

#include <charconv>

namespace lxe::model {

bool Ipv4Subnet::overlaps(const Ipv4Subnet& other) const {
  // Two prefixes overlap exactly when the shorter one contains the other's network.
  const Ipv4Subnet& wider = prefix <= other.prefix ? *this : other;
  const Ipv4Subnet& narrower = prefix <= other.prefix ? other : *this;
  return wider.contains(narrower.network);
}

std::string Ipv4Subnet::to_string() const { return ipv4_to_string(network) + "/" + std::to_string(prefix); }

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t address = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    // At most three digits, no sign, no leading zero (it reads as octal elsewhere).
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9') return std::nullopt;
    unsigned value = 0;
    const auto [next, ec] = std::from_chars(p, std::min(end, p + 3), value);
    if (ec != std::errc() || value > 255) return std::nullopt;
    p = next;
    address = (address << 8) | value;
  }
  if (p != end) return std::nullopt;
  return address;
}

std::string ipv4_to_string(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

namespace {

std::optional<int> parse_prefix(std::string_view text) {
  int prefix = -1;
  const auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), prefix);
  if (ec != std::errc() || next != text.data() + text.size() || text.size() > 2) return std::nullopt;
  return prefix;
}

}  // namespace

SubnetOrError parse_pod_subnet(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return {std::nullopt,
            "'" + std::string(text) + "' is not a subnet: write it as ADDRESS/PREFIX, e.g. 10.233.0.0/16"};
  const auto address = parse_ipv4(text.substr(0, slash));
  if (!address)
    return {std::nullopt, "'" + std::string(text.substr(0, slash)) + "' is not an IPv4 address (a.b.c.d)"};
  const auto prefix = parse_prefix(text.substr(slash + 1));
  if (!prefix || *prefix < 8 || *prefix > 30)
    return {std::nullopt, "'" + std::string(text) + "': the prefix length must be 8 to 30 (a /30 holds one pod)"};
  Ipv4Subnet subnet{*address, *prefix};
  if ((*address & subnet.mask()) != *address)
    return {std::nullopt, "'" + std::string(text) + "' has host bits set; the subnet is " +
                              Ipv4Subnet{*address & subnet.mask(), *prefix}.to_string()};
  return {subnet, ""};
}

std::optional<uint32_t> first_free_address(const Ipv4Subnet& subnet, const std::set<uint32_t>& taken) {
  // Lowest first: addresses are reused soon after a pod goes, which keeps them in the small range
  // an operator reads, and a freed address is never handed out while its pod still holds it.
  auto candidate = subnet.gateway() + 1;
  for (auto it = taken.lower_bound(candidate); candidate < subnet.broadcast(); ++candidate, ++it) {
    if (it == taken.end() || *it != candidate) return candidate;
  }
  return std::nullopt;
}

std::string pod_address(uint32_t address, const Ipv4Subnet& subnet) {
  return ipv4_to_string(address) + "/" + std::to_string(subnet.prefix);
}

std::optional<PodAddress> parse_pod_address(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto address = parse_ipv4(text.substr(0, slash));
  const auto prefix = parse_prefix(text.substr(slash + 1));
  if (!address || !prefix || *prefix < 8 || *prefix > 30) return std::nullopt;
  Ipv4Subnet subnet{0, *prefix};
  subnet.network = *address & subnet.mask();
  return PodAddress{*address, subnet};
}

std::string address_part(std::string_view pod_ip) { return std::string(pod_ip.substr(0, pod_ip.find('/'))); }

}  // namespace lxe::model
