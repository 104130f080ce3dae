// The one exception type of the store layer.
#pragma once

#include <stdexcept>
#include <string>

namespace lxe::store {

class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    NotFound,       // no record with that ID
    AlreadyExists,  // a record with that ID or that unique identity exists
    NewerSchema,    // the database was written by a newer lxe; it was left untouched
    OlderSchema,    // read-only open of a database that still needs migrating
    Open,           // the database cannot be opened or created
    Busy,           // locked by another writer for longer than the busy timeout
    Sql,            // any other SQLite failure
  };

  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace lxe::store
