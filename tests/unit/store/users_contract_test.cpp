// UserRepository contract: accounts, unique names, token versions, ids
// never reused, and what removing a user takes with it.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class UsersContract : public StoreContractTest {
 protected:
  User create(const std::string& name, bool admin = false) { return make_user(name, admin); }
  std::optional<User> find(int64_t id) {
    return store_->read([&](StoreSession& s) { return s.users().find_by_id(id); });
  }
};

TEST_P(UsersContract, UserCrud) {
  User alice = make_user("Alice", true);
  EXPECT_GT(alice.id, 0);
  EXPECT_EQ(alice.username, "Alice");
  EXPECT_TRUE(alice.is_admin);
  EXPECT_TRUE(is_iso8601_ms_utc(alice.created_at)) << alice.created_at;
  User bob = make_user("bob");

  store_->read([&](StoreSession& s) {
    auto found = s.users().find_by_id(alice.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->password_hash, "hash");
    EXPECT_EQ(found->created_at, alice.created_at);
    auto by_name = s.users().find_by_name("ALICE");
    ASSERT_TRUE(by_name);
    EXPECT_EQ(by_name->id, alice.id);
    EXPECT_FALSE(s.users().find_by_id(9999));
    EXPECT_FALSE(s.users().find_by_name("carol"));
    EXPECT_EQ(s.users().count(), 2);
    EXPECT_EQ(s.users().count_admins(), 1);
    auto all = s.users().list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, alice.id);
    EXPECT_EQ(all[1].id, bob.id);
  });

  store_->write([&](StoreSession& s) {
    EXPECT_TRUE(s.users().update_password(bob.id, "new-hash"));
    EXPECT_TRUE(s.users().update_admin(bob.id, true));
    EXPECT_TRUE(s.users().update_username(bob.id, "Robert"));
    EXPECT_FALSE(s.users().update_password(9999, "x"));
    EXPECT_FALSE(s.users().update_admin(9999, true));
    EXPECT_FALSE(s.users().update_username(9999, "ghost"));
  });
  store_->read([&](StoreSession& s) {
    auto robert = s.users().find_by_id(bob.id);
    ASSERT_TRUE(robert);
    EXPECT_EQ(robert->username, "Robert");
    EXPECT_EQ(robert->password_hash, "new-hash");
    EXPECT_TRUE(robert->is_admin);
    EXPECT_EQ(s.users().count_admins(), 2);
  });

  store_->write([&](StoreSession& s) {
    EXPECT_TRUE(s.users().remove(bob.id));
    EXPECT_FALSE(s.users().remove(bob.id));
  });
  store_->read([&](StoreSession& s) { EXPECT_EQ(s.users().count(), 1); });
}

TEST_P(UsersContract, UsernamesAreUniqueCaseInsensitively) {
  User alice = make_user("alice");
  User bob = make_user("bob");
  EXPECT_EQ(error_status([&] { make_user("ALICE"); }), 409);
  try {
    make_user("Alice");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::kConflict);
  }
  EXPECT_EQ(error_status([&] {
              store_->write([&](StoreSession& s) { s.users().update_username(bob.id, "Alice"); });
            }),
            409);
  // Re-casing one's own name is not a clash.
  store_->write(
      [&](StoreSession& s) { EXPECT_TRUE(s.users().update_username(alice.id, "Alice")); });
  store_->read([&](StoreSession& s) { EXPECT_EQ(s.users().count(), 2); });
}

// A removed user's id must never name the next user: a token or link of the
// removed one would become theirs (and an admin's rights with it).
TEST_P(UsersContract, RemovedUserIdIsNeverReused) {
  User a = create("alice");
  User b = create("bob", true);
  store_->write([&](StoreSession& s) { s.users().remove(b.id); });
  User again = create("bob", true);
  EXPECT_GT(again.id, b.id);
  store_->write([&](StoreSession& s) { s.users().remove(again.id); });
  store_->write([&](StoreSession& s) { s.users().remove(a.id); });
  EXPECT_GT(create("carol").id, again.id);
}

TEST_P(UsersContract, PasswordAndRoleChangesBumpTokenVersion) {
  User u = create("alice");
  EXPECT_EQ(u.token_version, 1);  // new rows start at 1 (0 is "before versions")
  store_->write([&](StoreSession& s) { s.users().update_password(u.id, "other"); });
  EXPECT_EQ(find(u.id)->token_version, 2);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, true); });
  EXPECT_EQ(find(u.id)->token_version, 3);
  EXPECT_TRUE(find(u.id)->is_admin);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, true); });  // no change
  EXPECT_EQ(find(u.id)->token_version, 3);
  store_->write([&](StoreSession& s) { s.users().update_admin(u.id, false); });
  EXPECT_EQ(find(u.id)->token_version, 4);
  EXPECT_FALSE(find(u.id)->is_admin);
  store_->write([&](StoreSession& s) { s.users().update_username(u.id, "alicia"); });
  EXPECT_EQ(find(u.id)->token_version, 4);  // a rename revokes nothing
}

TEST_P(UsersContract, DeletingUserCascadesHeartsAndNullsActivity) {
  User u = make_user("gone");
  User stays = make_user("stays");
  Artist a = make_artist("A");
  Album al = make_album(a.id, "X");
  Track t = make_track(al.id, 1, "One");
  store_->write([&](StoreSession& s) {
    s.library().heart_album(u.id, al.id);
    s.library().heart_track(u.id, t.id);
    s.library().heart_album(stays.id, al.id);
    Activity act;
    act.user_id = u.id;
    act.action = "heart";
    act.entity_type = "album";
    act.entity_id = al.id;
    s.activity().insert(act);
  });

  store_->write([&](StoreSession& s) { EXPECT_TRUE(s.users().remove(u.id)); });

  store_->read([&](StoreSession& s) {
    EXPECT_FALSE(s.library().is_album_hearted(u.id, al.id));
    EXPECT_EQ(s.library().hearted_albums(u.id, Page{}).total, 0);
    EXPECT_EQ(s.library().hearted_tracks(u.id, Page{}).total, 0);
    EXPECT_TRUE(s.library().is_album_hearted(stays.id, al.id));
    auto acts = s.activity().list(10, 0);
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_FALSE(acts[0].user_id.has_value());
    EXPECT_EQ(acts[0].username, "");
    EXPECT_EQ(acts[0].action, "heart");
  });
}

BARBOSSA_STORE_CONTRACT(UsersContract);

}  // namespace
}  // namespace barbossa::test
