// Fixtures of the store tests. Contract tests (TEST_P on StoreContractTest)
// run once per backend: "sqlite" always, on a fresh database file in a temp
// dir; "postgresql" with the URL in BARBOSSA_TEST_POSTGRES_URL, skipped with
// a message while that is unset or the backend is not built. SQLite-only
// tests (pragmas, files, the statement cache, migrations, backup) use
// SqliteStoreTest.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <regex>
#include <string>

#include "core/normalize.h"
#include "store/store.h"
#include "unit/temp_dir.h"

namespace barbossa::test {

inline bool is_iso8601_ms_utc(const std::string& s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(s, re);
}

// Runs f and returns the HTTP status the layer above answers a StoreError
// with (409 conflict, 404 not found, 400 invalid argument), or 0 when none.
template <typename F>
int error_status(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    switch (e.kind()) {
      case StoreError::Kind::kConflict:
        return 409;
      case StoreError::Kind::kNotFound:
        return 404;
      case StoreError::Kind::kInvalidArgument:
        return 400;
    }
  }
  return 0;
}

// A store and the records most tests start from.
class StoreFixtureBase {
 protected:
  Artist make_artist(const std::string& name) {
    Artist a;
    a.name = name;
    a.sort_name = name;
    a.normalized_name = normalize_name(name);
    return store_->write([&](StoreSession& s) { return s.library().create_artist(a); });
  }

  Album make_album(int64_t artist_id, const std::string& title, const std::string& mbid = "") {
    Album a;
    a.artist_id = artist_id;
    a.title = title;
    a.normalized_title = normalize_name(title);
    a.year = 1999;
    a.musicbrainz_release_id = mbid;
    return store_->write([&](StoreSession& s) { return s.library().create_album(a); });
  }

  Track make_track(int64_t album_id, int number, const std::string& title, int disc = 1) {
    Track t;
    t.album_id = album_id;
    t.disc = disc;
    t.number = number;
    t.title = title;
    t.normalized_title = normalize_name(title);
    t.duration_ms = 180000;
    t.format = "flac";
    t.lossless = true;
    t.sample_rate = 44100;
    t.bit_depth = 16;
    t.channels = 2;
    return store_->write([&](StoreSession& s) { return s.library().create_track(t); });
  }

  User make_user(const std::string& name, bool admin = false) {
    return store_->write([&](StoreSession& s) { return s.users().create(name, "hash", admin); });
  }

  std::string sqlite_url() const {
    return "sqlite://" + (dir_.path() / "db" / "barbossa.db").string();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// The parameter is the backend's name.
class StoreContractTest : public ::testing::TestWithParam<std::string>, public StoreFixtureBase {
 protected:
  void SetUp() override {
    std::string url = sqlite_url();
    if (GetParam() == "postgresql") {
      // A real server would need a fresh database per test: the backend's
      // own fixture work, when it exists.
      const char* env = std::getenv("BARBOSSA_TEST_POSTGRES_URL");
      if (env == nullptr || *env == '\0') {
        GTEST_SKIP() << "BARBOSSA_TEST_POSTGRES_URL is not set: PostgreSQL contract tests skipped";
      }
      url = env;
    }
    try {
      store_ = open_store(url);
    } catch (const std::exception& e) {
      if (GetParam() == "sqlite") throw;
      GTEST_SKIP() << "the " << GetParam() << " backend is not built yet: " << e.what();
    }
    store_->migrate();
  }
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// Runs a contract suite (a class deriving from StoreContractTest) on every backend.
#define BARBOSSA_STORE_CONTRACT(Suite)                                                 \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::Values("sqlite", "postgresql"), \
                           ::barbossa::test::backend_name)

class SqliteStoreTest : public ::testing::Test, public StoreFixtureBase {
 protected:
  void SetUp() override {
    store_ = open_store(sqlite_url());
    store_->migrate();
  }
};

}  // namespace barbossa::test
