// The import job's own rules: payload checks, "seen" signatures of a copy
// inbox, and the gathering of loose files into one job per album.
#include "importer/import_job.h"

#include <nlohmann/json.hpp>

#include <map>

#include "unit/importer/stage_fixture.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using test::StageTest;
using test::write_file;

TEST(ImportJobPayloadTest, RoundTripsEvenALatin1Path) {
  ImportJobPayload p;
  p.path = fs::path("/in/pending/Caf\xe9");
  p.inbox = "/in/pending";
  p.loose = false;
  p.source = "watch";
  ImportJobPayload back = parse_import_payload(import_payload_json(p));
  EXPECT_EQ(back.path, p.path);
  EXPECT_EQ(back.inbox, p.inbox);
  EXPECT_FALSE(back.loose);
  EXPECT_EQ(back.source, "watch");
  EXPECT_FALSE(nlohmann::json::parse(import_payload_json(ImportJobPayload{})).contains("source"));
}

TEST(ImportJobPayloadTest, UnreadablePayloadsAreFinal) {
  for (const char* text : {"not json", R"({"path": 5})", R"({"path": {"hex": "zz"}})"}) {
    try {
      parse_import_payload(text);
      FAIL() << text;
    } catch (const FinalImportError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("bad payload: ", 0), 0u) << e.what();
    }
  }
}

TEST(ImportJobPayloadTest, OnlyEntriesOfAConfiguredInboxAreImported) {
  const std::vector<ImportInbox> inboxes = {{"/in/pending", false, "watch"},
                                            {"/seed", true, "qobuz"}};
  auto inbox_for = [&](const char* path, const char* inbox, bool loose) {
    ImportJobPayload p;
    p.path = path;
    p.inbox = inbox;
    p.loose = loose;
    return &inbox_of_entry(inboxes, p);
  };
  EXPECT_EQ(inbox_for("/seed/album", "/seed", false), &inboxes[1]);
  EXPECT_EQ(inbox_for("/in/pending", "/in/pending", true), &inboxes[0]);
  EXPECT_THROW(inbox_for("/elsewhere/album", "/seed", false), FinalImportError);
  EXPECT_THROW(inbox_for("/seed/album", "/not-an-inbox", false), FinalImportError);
  EXPECT_THROW(inbox_for("/seed", "/seed", false), FinalImportError);  // the root is no entry
  EXPECT_THROW(inbox_for("", "/seed", true), FinalImportError);
}

class ImportJobTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    links_ = std::make_unique<UserLinks>(root_ / "library", root_ / "users");
    mover_ = std::make_unique<AlbumMover>(root_ / "journal");
    identifier_ = make_tag_identifier();
    importer_ = std::make_unique<ImportService>(*store_, *bus_, *activity_, *links_, *mover_,
                                                *identifier_, paths_, ImportOptions{});
    pending_ = root_ / "pending";
    seed_ = root_ / "seed";
    fs::create_directories(pending_);
    fs::create_directories(seed_);
  }

  ImportJob job() {
    ImportJobPorts ports;
    ports.loose_files = [](const fs::path& root) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(root)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      return files;
    };
    ports.entry_signature = [this](const fs::path& p) { return signatures_[p]; };
    ports.queue_import = [this](const ImportJobPayload& p) {
      queued_.push_back(p);
      return static_cast<int64_t>(queued_.size());
    };
    return ImportJob(*store_, *importer_, {{pending_, false, "watch"}, {seed_, true, "seed"}},
                     std::move(ports));
  }

  fs::path pending_;
  fs::path seed_;
  std::map<fs::path, std::string> signatures_;
  std::vector<ImportJobPayload> queued_;
  std::unique_ptr<UserLinks> links_;
  std::unique_ptr<AlbumMover> mover_;
  std::unique_ptr<Identifier> identifier_;
  std::unique_ptr<ImportService> importer_;
};

TEST_F(ImportJobTest, SeenSignaturesRememberWhatAnEntryLookedLike) {
  SeenEntries seen(*store_);
  EXPECT_FALSE(seen.unchanged(seed_ / "a", "1"));
  seen.remember(seed_ / "a", "1");
  EXPECT_TRUE(seen.unchanged(seed_ / "a", "1"));
  EXPECT_FALSE(seen.unchanged(seed_ / "a", "2"));

  write_file(seed_ / "loose.mp3", "abc");
  const std::string sig = file_signature(seed_ / "loose.mp3");
  EXPECT_EQ(sig.rfind("3:", 0), 0u) << sig;
  write_file(seed_ / "loose.mp3", "abcdef");
  EXPECT_NE(file_signature(seed_ / "loose.mp3"), sig);
}

TEST_F(ImportJobTest, AnUnchangedEntryOfACopyInboxIsNotImportedAgain) {
  ImportJob j = job();
  const ImportInbox copy{seed_, true, "seed"};
  const ImportInbox moved{pending_, false, "watch"};
  signatures_[seed_ / "album"] = "42";
  EXPECT_FALSE(j.unchanged_since_import(copy, seed_ / "album", false));
  SeenEntries(*store_).remember(seed_ / "album", "42");
  EXPECT_TRUE(j.unchanged_since_import(copy, seed_ / "album", false));
  EXPECT_FALSE(j.unchanged_since_import(moved, seed_ / "album", false));  // only copy inboxes

  write_file(seed_ / "a.mp3");
  EXPECT_FALSE(j.unchanged_since_import(copy, seed_, true));
  SeenEntries(*store_).remember(seed_ / "a.mp3", file_signature(seed_ / "a.mp3"));
  EXPECT_TRUE(j.unchanged_since_import(copy, seed_, true));
}

TEST_F(ImportJobTest, LooseFilesAreGatheredIntoAHiddenFolderAndQueued) {
  write_file(seed_ / "a.mp3");  // untagged: one group, bound for review
  write_file(seed_ / "b.mp3");
  ImportJob j = job();
  ImportJobPayload p;
  p.path = seed_;
  p.inbox = seed_;
  p.loose = true;
  j.run(1, import_payload_json(p), [] { return false; });

  ASSERT_EQ(queued_.size(), 1u);
  EXPECT_EQ(queued_[0].inbox, pending_);
  EXPECT_EQ(queued_[0].source, "seed");
  EXPECT_FALSE(queued_[0].loose);
  const fs::path staging = queued_[0].path;
  EXPECT_EQ(staging.parent_path(), pending_);
  EXPECT_EQ(staging.filename().string().rfind(kLoosePrefix, 0), 0u);
  EXPECT_TRUE(fs::exists(staging / "a.mp3"));
  EXPECT_TRUE(fs::exists(seed_ / "a.mp3")) << "a copy inbox keeps its files";

  // Seen now: a second run gathers nothing.
  j.run(2, import_payload_json(p), [] { return false; });
  EXPECT_EQ(queued_.size(), 1u);
}

TEST_F(ImportJobTest, AGatheringLeftByACrashIsQueuedAgainAtStart) {
  write_file(pending_ / ".barbossa-gathering-abc" / "a.mp3");
  write_file(pending_ / ".barbossa-loose-def" / "b.mp3");
  job().resume_gathered_files();
  ASSERT_EQ(queued_.size(), 2u);
  EXPECT_FALSE(fs::exists(pending_ / ".barbossa-gathering-abc"));
  EXPECT_TRUE(fs::exists(pending_ / ".barbossa-loose-abc" / "a.mp3"));
  for (const auto& q : queued_) EXPECT_EQ(q.source, "watch");
}

TEST_F(ImportJobTest, AReviewOutcomeIsFinalAndAGoneFolderIsNothingToDo) {
  ImportJob j = job();
  ImportJobPayload gone;
  gone.path = pending_ / "gone";
  gone.inbox = pending_;
  EXPECT_NO_THROW(j.run(1, import_payload_json(gone), [] { return false; }));

  write_file(pending_ / "vague" / "readme.txt");  // no audio at all: review
  ImportJobPayload vague = gone;
  vague.path = pending_ / "vague";
  try {
    j.run(2, import_payload_json(vague), [] { return false; });
    FAIL() << "a review outcome must be final";
  } catch (const FinalImportError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("review: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace barbossa
