#include "auth/password.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(PasswordTest, HashVerifiesOnlyTheRightPassword) {
  std::string h = hash_password("correct horse");
  EXPECT_TRUE(h.rfind("$argon2id$", 0) == 0) << h;
  EXPECT_TRUE(verify_password("correct horse", h));
  EXPECT_FALSE(verify_password("correct horsE", h));
  EXPECT_FALSE(verify_password("", h));
}

TEST(PasswordTest, SaltMakesHashesDiffer) {
  EXPECT_NE(hash_password("same"), hash_password("same"));
}

TEST(PasswordTest, GarbageHashNeverVerifies) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "not-a-hash"));
  EXPECT_FALSE(verify_password("x", std::string(500, 'a')));
}

TEST(PasswordTest, Rules) {
  EXPECT_FALSE(password_problem("short").empty());
  EXPECT_TRUE(password_problem("long enough").empty());
  EXPECT_FALSE(password_problem(std::string(2000, 'a')).empty());
}

TEST(PasswordTest, RandomTokensAreUrlSafeAndUnique) {
  std::string a = random_token(24), b = random_token(24);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 32u);
  for (char c : a) EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
}

}  // namespace
}  // namespace barbossa
