// How a pull fails, as the images layer reports it (errors are values here): the CRI facade maps
// the kind to a status code, the message goes to kubelet as it is.
#pragma once

#include <string>
#include <string_view>

namespace lxe::images {

struct PullError {
  enum class Kind {
    InvalidReference,  // INVALID_ARGUMENT
    NotFound,          // the registry has no such repository, tag or digest: NOT_FOUND
    Unauthorized,      // the registry refused the credentials (or wants some): UNAUTHENTICATED
    Unavailable,       // the registry did not answer: UNAVAILABLE
    DeadlineExceeded,  // the caller's deadline passed first: DEADLINE_EXCEEDED
    Failed,            // anything else (a malformed image, LXD refusing it...): INTERNAL
  };
  Kind kind = Kind::Failed;
  std::string message;
};

// Classifies what skopeo printed when it failed, by the phrases of containers/image and Go's net
// package: "manifest unknown", "unauthorized", "connection refused"...
PullError::Kind classify_skopeo_failure(std::string_view said);

// The message in what skopeo printed: the text of its logrus line (`time="..." level=fatal
// msg="..."`, quotes unescaped), without the "Error parsing image name ..." and "initializing
// source ..." prefixes that only repeat the reference; the text as it is otherwise.
std::string skopeo_message(std::string_view stderr_text);

}  // namespace lxe::images
