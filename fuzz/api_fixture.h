// A whole API, as `barbossa serve` wires it, over a temporary data folder, for
// the fuzz targets that call the router (fuzz_json_bodies, fuzz_http_request).
// No sockets and no background threads: jobs are queued but never run.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "http/router.h"

namespace barbossa::fuzz {

class ApiFixture {
 public:
  ApiFixture();
  ~ApiFixture();
  ApiFixture(const ApiFixture&) = delete;
  ApiFixture& operator=(const ApiFixture&) = delete;

  // Router::handle; never throws (that is the property under test).
  HttpResponse handle(HttpRequest& request);

  // "Bearer <token>" of the admin and of a plain user, issued at start.
  const std::string& admin_authorization() const { return admin_; }
  const std::string& user_authorization() const { return user_; }

  // False once the input changed the accounts so that the admin token no
  // longer works (password, role or removal): the caller then starts afresh,
  // so one input cannot blind every later one.
  bool tokens_still_valid();

 private:
  struct Parts;
  std::filesystem::path dir_;
  std::unique_ptr<Parts> parts_;
  std::string admin_;
  std::string user_;
};

// The fixture for this process, rebuilt when an input spoiled it or after
// `max_uses` inputs (so the database stays small and runs stay comparable).
ApiFixture& shared_fixture(size_t max_uses = 20000);

}  // namespace barbossa::fuzz
