// Fault injection points for tests (SQLite's discipline: the failure paths
// are exercised on purpose, not hoped for).
//
// A point is a name at a handler boundary ("ws_message", "http_handler",
// "job_handler", ...). In the shipped `barbossa` binary every point is inert:
// the definitions linked into it (testing/fault_off.cpp) ignore the
// environment. Only the test build, `barbossa-test` and the unit-test
// binaries (testing/fault_on.cpp), read BARBOSSA_FAULTS, a comma-separated
// list of points to arm, so no setting can make a household's server throw
// or kill itself on purpose.
#pragma once

#include <string_view>

namespace barbossa::fault {

// True in the test build only.
bool test_build();

// Whether `point` is armed (always false outside the test build).
bool armed(std::string_view point);

// Throws std::runtime_error("injected fault at <point>") when `point` is armed.
inline void maybe_throw(std::string_view point);

}  // namespace barbossa::fault

#include <stdexcept>
#include <string>

namespace barbossa::fault {
inline void maybe_throw(std::string_view point) {
  if (armed(point)) throw std::runtime_error("injected fault at " + std::string(point));
}
}  // namespace barbossa::fault
