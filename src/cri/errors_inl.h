// Template part of errors.h.
#pragma once

#include <exception>

#include "lxd/error.h"
#include "store/error.h"

namespace lxe::cri {

template <typename Fn>
grpc::Status guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const store::StoreError& e) {
    return status_from(e);
  } catch (const lxd::Error& e) {
    return status_from(e);
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("lxe: ") + e.what());
  }
}

}  // namespace lxe::cri
