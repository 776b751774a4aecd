// Each event is built in one place: its type, channel, audience and fields
// (SPEC §7; the integration tests check the same shapes on the wire).
#include "services/events.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace barbossa {
namespace {

const nlohmann::json& fields(const EventDraft& d) {
  return *d.payload;
}

TEST(EventsTest, LibraryUpdatedNamesTheEntityAndWhatHappened) {
  EventDraft d = library_updated_event("album", 7, "deleted");
  EXPECT_EQ(d.type, "library_updated");
  EXPECT_EQ(d.channel, Channel::kLibrary);
  EXPECT_TRUE(d.audience.everyone);
  EXPECT_EQ(fields(d),
            nlohmann::json({{"entity_type", "album"}, {"entity_id", 7}, {"action", "deleted"}}));
}

TEST(EventsTest, ImportCompleteCarriesTheAlbumAndItsStatus) {
  EventDraft d = import_complete_event({3, "Artist", "Record", 2001, "watch", "upgraded"});
  EXPECT_EQ(d.type, "import_complete");
  EXPECT_EQ(d.channel, Channel::kLibrary);
  EXPECT_EQ(fields(d), nlohmann::json({{"album_id", 3},
                                       {"artist", "Artist"},
                                       {"title", "Record"},
                                       {"year", 2001},
                                       {"source", "watch"},
                                       {"status", "upgraded"}}));
}

TEST(EventsTest, ImportReviewGoesToAdminsWithReasonsAndDuplicate) {
  ReviewItem item;
  item.id = 5;
  item.path_name = "Vague";
  item.suggested_artist = "A";
  item.suggested_album = "B";
  item.confidence = 0.5;
  item.reasons = {"low confidence"};
  EventDraft d = import_review_event(item);
  EXPECT_EQ(d.type, "import_review");
  EXPECT_EQ(d.channel, Channel::kReview);
  EXPECT_FALSE(d.audience.everyone);
  EXPECT_TRUE(d.audience.admins);
  EXPECT_EQ(fields(d)["path"], "Vague");
  EXPECT_EQ(fields(d)["reasons"], nlohmann::json::array({"low confidence"}));
  EXPECT_TRUE(fields(d)["duplicate_of"].is_null());
  item.duplicate_of = 9;
  EXPECT_EQ(fields(import_review_event(item))["duplicate_of"], 9);
}

TEST(EventsTest, ActivityCarriesTheRowAndItsActor) {
  Activity a;
  a.id = 11;
  a.user_id = 2;
  a.action = "delete";
  a.entity_type = "album";
  a.entity_id = 4;
  a.details_json = R"({"title":"Record"})";
  a.created_at = "2026-01-01T00:00:00Z";
  EventDraft d = activity_event(a, "admin");
  EXPECT_EQ(d.type, "activity");
  EXPECT_EQ(d.channel, Channel::kActivity);
  EXPECT_EQ(fields(d)["activity_id"], 11);
  EXPECT_EQ(fields(d)["username"], "admin");
  EXPECT_EQ(fields(d)["details"]["title"], "Record");

  a.user_id.reset();
  a.details_json = "not json";
  EventDraft system = activity_event(a, "");
  EXPECT_TRUE(fields(system)["user_id"].is_null());
  EXPECT_TRUE(fields(system)["username"].is_null());
  EXPECT_EQ(fields(system)["details"], nlohmann::json::object());
}

TEST(EventsTest, IntegrityReportGoesToAdmins) {
  EventDraft d = integrity_report_event(10, 1, 2, 30);
  EXPECT_EQ(d.type, "integrity_report");
  EXPECT_EQ(d.channel, Channel::kSystem);
  EXPECT_TRUE(d.audience.admins);
  EXPECT_EQ(
      fields(d),
      nlohmann::json({{"checked", 10}, {"missing", 1}, {"mismatched", 2}, {"duration_ms", 30}}));
}

TEST(EventsTest, DownloadEventsGoToTheOwnerAndAdminsOnTheDownloadsChannel) {
  Download d;
  d.id = 9;
  d.user_id = 4;
  d.source = "http";
  d.url = "https://example.org/a.zip";
  EventDraft queued = download_queued_event(d);
  EXPECT_EQ(queued.type, "download_queued");
  EXPECT_EQ(queued.channel, Channel::kDownloads);
  EXPECT_TRUE(queued.audience.admits(4, false));
  EXPECT_TRUE(queued.audience.admits(1, true));
  EXPECT_FALSE(queued.audience.admits(5, false));
  EXPECT_EQ(fields(queued), nlohmann::json({{"download_id", 9},
                                            {"user_id", 4},
                                            {"source", "http"},
                                            {"url", "https://example.org/a.zip"},
                                            {"status", "pending"}}));
  EventDraft cancelled = download_cancelled_event(d);
  EXPECT_EQ(cancelled.type, "download_cancelled");
  EXPECT_EQ(cancelled.channel, Channel::kDownloads);
  EXPECT_FALSE(cancelled.audience.admits(5, false));
  EXPECT_TRUE(cancelled.audience.admits(4, false));
  EXPECT_EQ(fields(cancelled), nlohmann::json({{"download_id", 9}}));
}

}  // namespace
}  // namespace barbossa
