// A spec.json for lxe-init in a test folder, as lxe writes one: the log and the run records next to
// it, a plain PATH, and any extra fields.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace lxe::test {

// Writes <dir>/spec.json for `args` with `extra` merged in; returns its path.
inline std::string write_init_spec(const TempDir& dir, const std::vector<std::string>& args,
                                   const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json spec = {{"args", args},
                         {"env", {"PATH=/usr/local/bin:/usr/bin:/bin"}},
                         {"log_path", dir.file("container.log")},
                         {"exit_path", dir.file("exit.json")}};
  spec.update(extra);
  write_file(dir.file("spec.json"), spec.dump());
  return dir.file("spec.json");
}

}  // namespace lxe::test
