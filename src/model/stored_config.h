// How a record's CRI config is kept in the store: protobuf JSON with proto field names. One
// codec for every reader (the facade, the reconciler, lxe-ctl, lxe-bench, the fuzzer), so a
// config written by one is read the same way by all.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "runtime/v1/api.pb.h"

namespace lxe::model {

// Parse a stored config; throws std::runtime_error naming the message type on a malformed one.
// Unknown fields are ignored, so a record written by a newer lxe still reads.
runtime::v1::PodSandboxConfig parse_sandbox_config(const std::string& json);
runtime::v1::ContainerConfig parse_container_config(const std::string& json);

// The stored form of any CRI message (a config, or the resources in force).
std::string to_json(const google::protobuf::Message& message);

}  // namespace lxe::model
