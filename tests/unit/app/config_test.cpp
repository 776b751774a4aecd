#include "app/config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace barbossa {
namespace {

std::string write_toml(const std::string& text) {
  std::string path = ::testing::TempDir() + "/barbossa_config_test.toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAndDerivedPaths) {
  Config c = Config::defaults_only();
  EXPECT_EQ(c.get("PORT"), "8080");
  EXPECT_EQ(c.get("DATABASE_URL"), "sqlite://./data/barbossa.db");
  EXPECT_EQ(c.get("LIBRARY_DIR"), "./data/library");
}

TEST(ConfigTest, PrecedenceFileEnvFlags) {
  std::string file = write_toml("port = 9000\nheartbeat_seconds = 5\ntoken_hours = 2\ndata_dir = \"/srv/b\"\n");
  std::string e1 = "BARBOSSA_HEARTBEAT_SECONDS=7", e2 = "BARBOSSA_TOKEN_HOURS=3", e3 = "BARBOSSA_BIN=/ignored";
  char* env[] = {e1.data(), e2.data(), e3.data(), nullptr};
  Config c = Config::load(file, {{"TOKEN_HOURS", "4"}}, env);
  EXPECT_EQ(c.get_int("PORT", 0, 65535), 9000);             // file over default
  EXPECT_EQ(c.get_int("HEARTBEAT_SECONDS", 1, 99), 7);      // env over file
  EXPECT_EQ(c.get_int("TOKEN_HOURS", 1, 99), 4);            // flag over env
  EXPECT_EQ(c.get("LIBRARY_DIR"), "/srv/b/library");        // derived from the file's DATA_DIR
}

TEST(ConfigTest, BadValuesNameTheKey) {
  Config c = Config::load("", {{"PORT", "abc"}, {"WS_DEFLATE", "maybe"}}, nullptr);
  try {
    c.get_int("PORT", 0, 65535);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("PORT"), std::string::npos);
  }
  EXPECT_THROW(c.get_bool("WS_DEFLATE"), ConfigError);
  Config d = Config::load("", {{"PORT", "70000"}}, nullptr);
  EXPECT_THROW(d.get_int("PORT", 0, 65535), ConfigError);
}

TEST(ConfigTest, UnknownKeysInFileOrFlagsAreErrors) {
  EXPECT_THROW(Config::load(write_toml("prot = 1\n"), {}, nullptr), ConfigError);
  EXPECT_THROW(Config::load("", {{"NOPE", "1"}}, nullptr), ConfigError);
  EXPECT_THROW(Config::load(write_toml("port = [1,2]\n"), {}, nullptr), ConfigError);
  EXPECT_THROW(Config::load(write_toml("port = \n"), {}, nullptr), ConfigError);
}

// An empty root would serve files relative to the working directory.
TEST(ConfigTest, EmptyWebDirIsRefusedAtValidation) {
  EXPECT_NO_THROW(Config::load("", {}, nullptr).validate());
  for (const char* empty : {"", "  "}) {
    Config c = Config::load("", {{"WEB_DIR", empty}}, nullptr);
    try {
      c.validate();
      FAIL() << "empty WEB_DIR accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("WEB_DIR"), std::string::npos);
    }
  }
}

TEST(ConfigTest, SecretsMaskedInDescription) {
  Config c = Config::load("", {{"JWT_SECRET", "s3cr3t"}, {"PLEX_TOKEN", "tok"}}, nullptr);
  for (auto& [k, v] : c.describe()) {
    EXPECT_NE(v, "s3cr3t");
    EXPECT_NE(v, "tok");
  }
}

}  // namespace
}  // namespace barbossa
