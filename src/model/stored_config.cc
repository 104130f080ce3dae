#include "model/stored_config.h"

#include <google/protobuf/util/json_util.h>

#include <stdexcept>

namespace lxe::model {

namespace {

template <typename Message>
Message parse_json(const std::string& json, const char* what) {
  Message m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &m, options);
  if (!status.ok()) throw std::runtime_error(std::string("stored ") + what + " is malformed: " + status.ToString());
  return m;
}

}  // namespace

runtime::v1::PodSandboxConfig parse_sandbox_config(const std::string& json) {
  return parse_json<runtime::v1::PodSandboxConfig>(json, "PodSandboxConfig");
}

runtime::v1::ContainerConfig parse_container_config(const std::string& json) {
  return parse_json<runtime::v1::ContainerConfig>(json, "ContainerConfig");
}

std::string to_json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace lxe::model
