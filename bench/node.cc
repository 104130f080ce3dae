#include "node.h"

namespace lxe::bench {

int Node::containers() const {
  int n = 0;
  for (const auto& p : pods) n += static_cast<int>(p.running.size() + p.created.size());
  return n;
}

std::string Node::population() const {
  int running = 0, created = 0;
  for (const auto& p : pods) {
    running += static_cast<int>(p.running.size());
    created += static_cast<int>(p.created.size());
  }
  if (running + created == 0) return "none";
  std::string out = std::to_string(running) + " running";
  if (created > 0) out += ", " + std::to_string(created) + " created (not started)";
  return out + ", in " + std::to_string(pods.size()) + " pods";
}

}  // namespace lxe::bench
