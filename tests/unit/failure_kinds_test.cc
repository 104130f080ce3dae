// Failure kinds end to end without LXD: what the reconciler records for each exception of the
// layers below (reconcile::failure_of), and the status the facade answers for each kind
// (cri::status_from). The kind is decided by types, never by reading a message.
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

#include "cri/errors.h"
#include "lxd/error.h"
#include "reconcile/errors.h"

using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::reconcile::failure_of;
using lxe::store::FailureKind;

TEST_CASE("failure kinds: the LXD client's typed errors and host failures", "[errors]") {
  CHECK(failure_of(Error(ErrorKind::Transport, "socket gone")).kind == FailureKind::Unavailable);
  CHECK(failure_of(Error(ErrorKind::Timeout, "slow")).kind == FailureKind::Unavailable);
  CHECK(failure_of(Error(ErrorKind::Busy, "x")).kind == FailureKind::Busy);
  for (auto kind : {ErrorKind::BadRequest, ErrorKind::Forbidden, ErrorKind::NotFound, ErrorKind::Conflict,
                    ErrorKind::PreconditionFailed, ErrorKind::Server, ErrorKind::OperationFailed,
                    ErrorKind::Protocol})
    CHECK(failure_of(Error(kind, "x")).kind == FailureKind::Refused);
  // A message that merely mentions "busy" or "unavailable" is still what its type says.
  CHECK(failure_of(Error(ErrorKind::BadRequest, "LXD unavailable: Instance is busy running")).kind ==
        FailureKind::Refused);
  CHECK(failure_of(std::runtime_error("LXD unavailable: writing spec.json: No space left on device")).kind ==
        FailureKind::Host);
  CHECK(failure_of(std::filesystem::filesystem_error("mkdir", std::make_error_code(std::errc::permission_denied)))
            .kind == FailureKind::Host);
  CHECK(failure_of(Error(ErrorKind::Server, "the words")).message == "the words");
}

TEST_CASE("failure kinds: the status each kind answers", "[errors]") {
  using lxe::cri::status_from;
  const struct {
    FailureKind kind;
    grpc::StatusCode code;
  } cases[] = {{FailureKind::Unavailable, grpc::StatusCode::UNAVAILABLE},
               {FailureKind::Busy, grpc::StatusCode::UNAVAILABLE},
               {FailureKind::Refused, grpc::StatusCode::UNKNOWN},
               {FailureKind::Host, grpc::StatusCode::INTERNAL}};
  for (const auto& c : cases) {
    const auto status = status_from("StartContainer", lxe::reconcile::Failure{c.kind, "start-instance: why"});
    CHECK(status.error_code() == c.code);
    CHECK_THAT(status.error_message(), Catch::StartsWith("StartContainer: ") && Catch::Contains("start-instance: why"));
  }
}
