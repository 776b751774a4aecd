// ImportService with a real SQLite store, real files (made by sox and flac)
// and an in-memory bus: what gets recorded and what gets published.
#include "importer/import_service.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "services/library_service.h"
#include "unit/temp_dir.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

void run(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// One FLAC track with the given tags.
void make_flac(const fs::path& wav, const fs::path& out, const std::vector<std::string>& tags) {
  fs::create_directories(out.parent_path());
  std::string cmd = "flac -s -f -0 -o '" + out.string() + "'";
  for (const auto& t : tags) cmd += " --tag='" + t + "'";
  run(cmd + " '" + wav.string() + "'");
}

class ImportServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    wav_ = root_ / "tone.wav";
    run("sox -R -n -r 44100 -b 16 -c 2 '" + wav_.string() + "' synth 0.5 sine 440 vol 0.3");
    for (const char* d :
         {"library", "users", "import/review", "import/rejected", "trash", "journal"}) {
      fs::create_directories(root_ / d);
    }
    store_ = open_store((root_ / "db.sqlite").string());
    store_->migrate();
    // User 1, the reviewer of the review tests.
    store_->write([](StoreSession& s) { s.users().create("admin", "hash", true); });
    SeqPersistence none{[] { return uint64_t{0}; }, [](uint64_t) {}};
    bus_ = make_memory_event_bus(1000, none);
    bus_->subscribe([this](const EventPtr& e) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(e);
    });
    activity_ = std::make_unique<ActivityService>(*store_, *bus_);
    links_ = std::make_unique<UserLinks>(root_ / "library", root_ / "users");
    mover_ = std::make_unique<AlbumMover>(root_ / "journal");
    identifier_ = make_tag_identifier();
    importer_ = std::make_unique<ImportService>(
        *store_, *bus_, *activity_, *links_, *mover_, *identifier_,
        ImportPaths{root_ / "library", root_ / "import", root_ / "trash"}, ImportOptions{});
  }

  fs::path album(const std::string& folder, const std::string& artist, const std::string& title,
                 int tracks, bool generic = false) {
    fs::path dir = root_ / "inbox" / folder;
    for (int n = 1; n <= tracks; ++n) {
      std::string name = generic ? "Track 0" + std::to_string(n) : "Song " + std::to_string(n);
      make_flac(wav_, dir / (std::to_string(n) + ".flac"),
                {"ARTIST=" + artist, "ALBUMARTIST=" + artist, "ALBUM=" + title, "TITLE=" + name,
                 "TRACKNUMBER=" + std::to_string(n), "DATE=2001"});
    }
    return dir;
  }

  std::vector<nlohmann::json> events_of(const std::string& type) {
    std::lock_guard lock(events_mutex_);
    std::vector<nlohmann::json> out;
    for (const auto& e : events_) {
      if (e->type == type) out.push_back(nlohmann::json::parse(*e->json));
    }
    return out;
  }

  TempDir tmp_;
  fs::path root_;
  fs::path wav_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventBus> bus_;
  std::mutex events_mutex_;
  std::vector<EventPtr> events_;
  std::unique_ptr<ActivityService> activity_;
  std::unique_ptr<UserLinks> links_;
  std::unique_ptr<AlbumMover> mover_;
  std::unique_ptr<Identifier> identifier_;
  std::unique_ptr<ImportService> importer_;
};

TEST_F(ImportServiceTest, CleanAlbumIsRecordedInOneGoAndAnnounced) {
  ImportRequest req;
  req.folder = album("a", "Artist", "Record", 2);
  ImportOutcome out = importer_->import_folder(req);
  ASSERT_EQ(out.kind, DecisionKind::kImport);
  EXPECT_TRUE(out.reasons.empty());

  auto tracks =
      store_->read([&](StoreSession& s) { return s.library().album_tracks(out.album_id); });
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].path, "Artist/Record (2001)/01 - Song 1.flac");
  EXPECT_TRUE(fs::is_regular_file(root_ / "library" / tracks[0].path));
  EXPECT_FALSE(fs::exists(req.folder)) << "the emptied source folder is removed";
  EXPECT_TRUE(fs::is_empty(root_ / "journal"));

  auto done = events_of("import_complete");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["album_id"], out.album_id);
  EXPECT_EQ(done[0]["artist"], "Artist");
  EXPECT_EQ(done[0]["title"], "Record");
  EXPECT_EQ(done[0]["year"], 2001);
  ASSERT_EQ(events_of("library_updated").size(), 1u);
  EXPECT_EQ(events_of("library_updated")[0]["action"], "created");
  auto acts = events_of("activity");
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0]["action"], "new_album");
  EXPECT_EQ(acts[0]["details"]["artist"], "Artist");
}

TEST_F(ImportServiceTest, ReviewIsAnnouncedToAdminsWithItsReasons) {
  ImportRequest req;
  req.folder = album("generic", "Artist", "Vague", 2, /*generic=*/true);
  ImportOutcome out = importer_->import_folder(req);
  ASSERT_EQ(out.kind, DecisionKind::kReview);
  EXPECT_TRUE(fs::is_directory(root_ / "import" / "review" / "generic"));

  std::lock_guard lock(events_mutex_);
  const EventPtr* review = nullptr;
  for (const auto& e : events_) {
    if (e->type == "import_review") review = &e;
  }
  ASSERT_NE(review, nullptr);
  EXPECT_EQ((*review)->channel, Channel::kReview);
  EXPECT_TRUE((*review)->audience.admits(1, true));
  EXPECT_FALSE((*review)->audience.admits(2, false));
  auto j = nlohmann::json::parse(*(*review)->json);
  EXPECT_EQ(j["review_id"], out.review_id);
  EXPECT_EQ(j["path"], "generic");
  EXPECT_EQ(j["suggested_artist"], "Artist");
  EXPECT_EQ(j["suggested_album"], "Vague");
  EXPECT_LT(j["confidence"].get<double>(), 0.95);
  ASSERT_FALSE(j["reasons"].empty());
}

TEST_F(ImportServiceTest, SecondReviewOfTheSameFolderNameDoesNotCollide) {
  ImportRequest one;
  one.folder = album("x/same", "Artist", "Vague", 1, true);
  ImportRequest two;
  two.folder = album("y/same", "Artist", "Vague Too", 1, true);
  auto a = importer_->import_folder(one);
  auto b = importer_->import_folder(two);
  ASSERT_EQ(a.kind, DecisionKind::kReview);
  ASSERT_EQ(b.kind, DecisionKind::kReview);
  auto ia = importer_->find_review(a.review_id);
  auto ib = importer_->find_review(b.review_id);
  EXPECT_NE(ia->path, ib->path);
  EXPECT_TRUE(fs::is_directory(ia->path));
  EXPECT_TRUE(fs::is_directory(ib->path));
}

TEST_F(ImportServiceTest, ApprovingADuplicateIsAConflictAndTheItemStaysPending) {
  ImportRequest first;
  first.folder = album("orig", "Artist", "Dup", 2);
  auto imported = importer_->import_folder(first);
  ASSERT_EQ(imported.kind, DecisionKind::kImport);
  ImportRequest again;
  again.folder = album("again", "Artist", "Dup", 2);
  auto dup = importer_->import_folder(again);
  ASSERT_EQ(dup.kind, DecisionKind::kDuplicate);
  ASSERT_FALSE(dup.reasons.empty());
  EXPECT_EQ(dup.reasons.back().rfind("duplicate of album " + std::to_string(imported.album_id), 0),
            0u)
      << dup.reasons.back();
  try {
    importer_->approve(dup.review_id, 1, "admin", ReviewOverrides{});
    FAIL() << "approve of a duplicate must fail";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 409);
  }
  EXPECT_EQ(importer_->find_review(dup.review_id)->status, ReviewStatus::kPending);
}

// The store as it is, except that `before_durable_write` runs once, just
// before the next durable write session opens: what another process (an
// album delete) commits between a decision and the transaction that
// records it.
class InterposingStore final : public Store {
 public:
  explicit InterposingStore(Store& inner) : inner_(inner) {}
  int migrate() override { return inner_.migrate(); }
  int schema_version() override { return inner_.schema_version(); }
  int latest_schema_version() const override { return inner_.latest_schema_version(); }
  bool ping() override { return inner_.ping(); }
  void backup_to(const fs::path& destination) override { inner_.backup_to(destination); }
  std::unique_ptr<StoreSession> open_session(bool write, bool durable) override {
    if (write && durable && before_durable_write) std::exchange(before_durable_write, {})();
    return inner_.open_session(write, durable);
  }
  std::function<void()> before_durable_write;

 private:
  Store& inner_;
};

// Crash loop, seed 3: an import decided "duplicate of album N", an album
// delete removed N (and its artist) while the folder moved into review, and
// the review row's duplicate_of then failed the foreign key: the import job
// failed and its folder was rolled back. Now the item goes to review.
TEST_F(ImportServiceTest, DuplicateWhoseOriginalIsDeletedMeanwhileStillGoesToReview) {
  ImportRequest first;
  first.folder = album("orig", "Artist", "Gone", 2);
  const ImportOutcome imported = importer_->import_folder(first);
  ASSERT_EQ(imported.kind, DecisionKind::kImport);

  InterposingStore racing(*store_);
  racing.before_durable_write = [&] {
    store_->write([&](StoreSession& s) {
      auto album = s.library().find_album(imported.album_id);
      ASSERT_TRUE(album.has_value());
      s.library().delete_album(album->id);
      s.library().delete_artist_if_empty(album->artist_id);
    });
  };
  ImportService importer(racing, *bus_, *activity_, *links_, *mover_, *identifier_,
                         ImportPaths{root_ / "library", root_ / "import", root_ / "trash"},
                         ImportOptions{});
  ImportRequest again;
  again.folder = album("again", "Artist", "Gone", 2);
  const ImportOutcome dup = importer.import_folder(again);
  ASSERT_EQ(dup.kind, DecisionKind::kDuplicate);
  EXPECT_FALSE(racing.before_durable_write) << "the delete ran in the window";
  auto item = importer_->find_review(dup.review_id);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->status, ReviewStatus::kPending);
  EXPECT_FALSE(item->duplicate_of.has_value()) << "it points at no deleted album";
  EXPECT_TRUE(fs::is_directory(item->path)) << "the folder is in review with its item";
  EXPECT_FALSE(fs::exists(again.folder));
  EXPECT_TRUE(fs::is_empty(root_ / "journal"));
}

// Imports run concurrently (the CLI imports several folders at once); the
// second of two identical albums must still see the first, even while the
// first is being moved.
TEST_F(ImportServiceTest, ConcurrentImportsOfOneAlbumYieldOneAlbumAndOneDuplicate) {
  for (int round = 0; round < 3; ++round) {
    const std::string title = "Twin " + std::to_string(round);
    std::vector<fs::path> folders = {album("t" + std::to_string(round) + "a", "Artist", title, 3),
                                     album("t" + std::to_string(round) + "b", "Artist", title, 3)};
    std::vector<ImportOutcome> outcomes(2);
    {
      std::vector<std::jthread> threads;
      for (size_t i = 0; i < 2; ++i) {
        threads.emplace_back([&, i] {
          ImportRequest req;
          req.folder = folders[i];
          outcomes[i] = importer_->import_folder(req);
        });
      }
    }
    int imported = 0, duplicates = 0;
    for (const auto& o : outcomes) {
      imported += o.kind == DecisionKind::kImport;
      duplicates += o.kind == DecisionKind::kDuplicate;
    }
    EXPECT_EQ(imported, 1) << title;
    EXPECT_EQ(duplicates, 1) << title;
  }
  auto albums = store_->read([&](StoreSession& s) {
    return s.library().list_albums(0, "", Page{100, 0}).total;
  });
  EXPECT_EQ(albums, 3);
}

// ---- files never vanish outside the journal (issue 9, item 5)

int reject_status(ImportService& importer, int64_t id, bool delete_files) {
  try {
    importer.reject(id, 1, "admin", delete_files);
    return 200;
  } catch (const ApiError& e) {
    return e.status();
  }
}

std::vector<fs::path> files_below(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path());
  }
  return out;
}

TEST_F(ImportServiceTest, RejectWithDeleteFilesMovesTheFolderToTheTrashThroughTheJournal) {
  ImportRequest req;
  req.folder = album("g", "Artist", "Generic", 2, /*generic=*/true);
  ImportOutcome out = importer_->import_folder(req);
  ASSERT_EQ(out.kind, DecisionKind::kReview);
  const fs::path folder = importer_->find_review(out.review_id)->path;
  ASSERT_EQ(files_below(folder).size(), 2u);

  importer_->reject(out.review_id, 1, "admin", /*delete_files=*/true);
  EXPECT_FALSE(fs::exists(folder));
  auto trashed = files_below(root_ / "trash");
  ASSERT_EQ(trashed.size(), 2u);  // kept for TRASH_DAYS, not deleted outright
  EXPECT_NE(trashed[0].string().find("-review-" + std::to_string(out.review_id)),
            std::string::npos);
  EXPECT_TRUE(fs::is_empty(root_ / "journal"));
  auto item = importer_->find_review(out.review_id);
  EXPECT_EQ(item->status, ReviewStatus::kRejected);
  EXPECT_EQ(item->path, "");
}

TEST_F(ImportServiceTest, ADecidedReviewItemCannotBeDecidedAgain) {
  ImportRequest req;
  req.folder = album("d", "Artist", "Decided", 1, /*generic=*/true);
  ImportOutcome out = importer_->import_folder(req);
  ASSERT_EQ(out.kind, DecisionKind::kReview);
  ASSERT_EQ(reject_status(*importer_, out.review_id, false), 200);
  EXPECT_EQ(reject_status(*importer_, out.review_id, true), 409);
  try {
    importer_->approve(out.review_id, 1, "admin", ReviewOverrides{});
    FAIL() << "approving a rejected item must fail";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 409);
  }
  // The folder stayed where the first decision put it.
  EXPECT_EQ(files_below(root_ / "import" / "rejected").size(), 1u);
  EXPECT_TRUE(files_below(root_ / "trash").empty());
}

// The race made deterministic: while one decision holds the item's folder
// (an approve still moving it), another gets 409 and moves nothing.
TEST_F(ImportServiceTest, ReviewDecisionWhileAnotherIsInFlightIsAConflict) {
  ImportRequest req;
  req.folder = album("r", "Artist", "Racing", 2, /*generic=*/true);
  ImportOutcome out = importer_->import_folder(req);
  ASSERT_EQ(out.kind, DecisionKind::kReview);
  const fs::path folder = importer_->find_review(out.review_id)->path;
  {
    FolderLease in_flight = mover_->lease_folder(folder, false);
    ASSERT_TRUE(in_flight.held());
    EXPECT_EQ(reject_status(*importer_, out.review_id, true), 409);
    ReviewOverrides names;
    names.artist = "Artist";
    names.album = "Racing";
    EXPECT_THROW(importer_->approve(out.review_id, 1, "admin", names), ApiError);
    EXPECT_EQ(files_below(folder).size(), 2u);
    EXPECT_EQ(importer_->find_review(out.review_id)->status, ReviewStatus::kPending);
  }
  EXPECT_EQ(reject_status(*importer_, out.review_id, false), 200);
}

TEST_F(ImportServiceTest, ConcurrentApproveAndRejectOfOneItemHaveExactlyOneWinner) {
  for (int round = 0; round < 4; ++round) {
    const std::string title = "Both " + std::to_string(round);
    ImportRequest req;
    req.folder = album("b" + std::to_string(round), "Artist", title, 2, /*generic=*/true);
    ImportOutcome out = importer_->import_folder(req);
    ASSERT_EQ(out.kind, DecisionKind::kReview);
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    {
      std::jthread approve([&] {
        try {
          ReviewOverrides names;
          names.artist = "Artist";
          names.album = title;
          importer_->approve(out.review_id, 1, "admin", names);
          ++wins;
        } catch (const ApiError& e) {
          if (e.status() == 409) ++conflicts;
        }
      });
      std::jthread reject([&] {
        int status = reject_status(*importer_, out.review_id, round % 2 == 0);
        if (status == 200) ++wins;
        if (status == 409) ++conflicts;
      });
    }
    EXPECT_EQ(wins.load(), 1) << title;
    EXPECT_EQ(conflicts.load(), 1) << title;
    EXPECT_NE(importer_->find_review(out.review_id)->status, ReviewStatus::kPending) << title;
    EXPECT_TRUE(fs::is_empty(root_ / "journal"));
  }
  // Every album's files are in exactly one place: 4 rounds x 2 files.
  const size_t total =
      files_below(root_ / "library").size() + files_below(root_ / "import" / "rejected").size() +
      files_below(root_ / "trash").size() + files_below(root_ / "import" / "review").size();
  EXPECT_EQ(total, 8u);
  EXPECT_TRUE(files_below(root_ / "import" / "review").empty());
}

// Never two movers on one folder: an upgrade waits for the album's folder
// while a delete holds it, and a delete is refused (409) while an upgrade
// holds it.
TEST_F(ImportServiceTest, DeleteOfAnAlbumBeingUpgradedIsRefusedAndUpgradeWaitsForDelete) {
  ImportRequest first;
  first.folder = album("low", "Artist", "Upgraded", 2);
  ImportOutcome imported = importer_->import_folder(first);
  ASSERT_EQ(imported.kind, DecisionKind::kImport);
  const fs::path album_dir = root_ / "library" / "Artist" / "Upgraded (2001)";
  ASSERT_TRUE(fs::is_directory(album_dir));

  LibraryService library(
      *store_, *bus_, *activity_,
      LibraryFiles{root_ / "library", root_ / "trash", links_.get(), mover_.get()});
  AuthUser admin{1, "admin", true, 0};
  {
    FolderLease upgrade_in_flight = mover_->lease_folder(album_dir, false);
    ASSERT_TRUE(upgrade_in_flight.held());
    try {
      library.delete_album(admin, imported.album_id);
      FAIL() << "delete while the folder is leased must fail";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 409);
    }
    EXPECT_EQ(files_below(album_dir).size(), 2u);
  }

  // A better copy (24-bit) waits while the delete holds the folder...
  const fs::path hires = root_ / "hires.wav";
  run("sox -R -n -r 96000 -b 24 -c 2 '" + hires.string() + "' synth 0.5 sine 440 vol 0.3");
  const fs::path better = root_ / "inbox" / "high";
  for (int n = 1; n <= 2; ++n) {
    make_flac(hires, better / (std::to_string(n) + ".flac"),
              {"ARTIST=Artist", "ALBUMARTIST=Artist", "ALBUM=Upgraded",
               "TITLE=Song " + std::to_string(n), "TRACKNUMBER=" + std::to_string(n), "DATE=2001"});
  }
  std::atomic<bool> done{false};
  std::string error;
  std::optional<FolderLease> delete_in_flight = mover_->lease_folder(album_dir, false);
  ASSERT_TRUE(delete_in_flight->held());
  std::jthread upgrade([&] {
    try {
      ImportRequest req;
      req.folder = better;
      importer_->import_folder(req);
    } catch (const std::exception& e) {
      error = e.what();
    }
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(done.load());
  EXPECT_EQ(files_below(better).size(), 2u);  // nothing moved while it waited
  // ...and, the album deleted meanwhile (what the delete holding the lease
  // commits), fails cleanly instead of reviving it.
  store_->write([&](StoreSession& s) { s.library().delete_album(imported.album_id); });
  fs::rename(album_dir, root_ / "trash" / "deleted");
  delete_in_flight.reset();
  upgrade.join();
  EXPECT_FALSE(error.empty()) << "the upgrade of a deleted album must not commit";
  EXPECT_EQ(files_below(better).size(), 2u);
  EXPECT_TRUE(fs::is_empty(root_ / "journal"));
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.library().find_album(imported.album_id); }));
}

// A `barbossa import` killed in the middle of an upgrade (old files half in
// the trash, new ones half in the album folder) beside a running server: a
// delete of that album must not list the half-moved folder. It settles the
// dead mover's journal first, so the album's old files go to the trash, the
// new ones are back in the inbox, and no later recovery revives the folder.
TEST_F(ImportServiceTest, DeleteAfterAnUpgradeDiedMidMoveSettlesItsJournalFirst) {
  ImportRequest first;
  first.folder = album("low", "Artist", "Half", 2);
  const ImportOutcome imported = importer_->import_folder(first);
  ASSERT_EQ(imported.kind, DecisionKind::kImport);
  const fs::path album_dir = root_ / "library" / "Artist" / "Half (2001)";
  const fs::path hires = root_ / "hires.wav";
  run("sox -R -n -r 96000 -b 24 -c 2 '" + hires.string() + "' synth 0.5 sine 440 vol 0.3");
  const fs::path better = root_ / "inbox" / "high";
  for (int n = 1; n <= 2; ++n) {
    make_flac(hires, better / (std::to_string(n) + ".flac"),
              {"ARTIST=Artist", "ALBUMARTIST=Artist", "ALBUM=Half",
               "TITLE=Song " + std::to_string(n), "TRACKNUMBER=" + std::to_string(n), "DATE=2001"});
  }

  // The other process's upgrade, every step applied, nothing committed; then
  // it dies: its mover goes, and with it the lock on the journal.
  {
    AlbumMover dead(root_ / "journal");
    AlbumMove move;
    move.id = "upgrade-dead";
    move.source_root = better;
    const std::vector<fs::path> old_files = files_below(album_dir);
    ASSERT_EQ(old_files.size(), 2u);
    for (const fs::path& f : old_files) {
      move.steps.push_back({f, root_ / "trash" / "replaced" / f.filename(), false});
    }
    for (int n = 1; n <= 2; ++n) {
      move.steps.push_back({better / (std::to_string(n) + ".flac"), old_files[n - 1], false});
    }
    dead.begin(move);
    dead.apply(move);
  }
  ASSERT_EQ(files_below(better).size(), 0u);
  ASSERT_EQ(files_below(album_dir).size(), 2u) << "the new files in, the old ones in the trash";

  LibraryService library(
      *store_, *bus_, *activity_,
      LibraryFiles{root_ / "library", root_ / "trash", links_.get(), mover_.get()});
  library.delete_album(AuthUser{1, "admin", true, 0}, imported.album_id);
  EXPECT_TRUE(fs::is_empty(root_ / "journal"));
  EXPECT_EQ(files_below(better).size(), 2u) << "the dead upgrade's files are back in the inbox";
  EXPECT_EQ(files_below(root_ / "trash").size(), 2u) << "the album's own files, once";
  // What the next start's recovery would do changes nothing now.
  EXPECT_EQ(importer_->recover(), 0u);
  EXPECT_TRUE(files_below(root_ / "library").empty());
  EXPECT_FALSE(
      store_->read([&](StoreSession& s) { return s.library().find_album(imported.album_id); }));
}

// Is some thread or process blocked in flock() on `file`? /proc/locks marks
// a waiter with "->" before the lock it waits behind.
bool someone_waits_for(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return false;
  const std::string suffix = ":" + std::to_string(st.st_ino);
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    if (line.find("->") == std::string::npos) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w.size() > suffix.size() &&
          w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    }
  }
  return false;
}

// An upgrade decided before it got the album's folder lease must decide
// again when another process upgraded the album meanwhile: else it sends the
// other run's new files to the trash and a worse copy replaces a better one.
TEST_F(ImportServiceTest, UpgradeThatWaitedForTheFolderDecidesAgainOnTheAlbumAsItIsNow) {
  ImportRequest first;
  first.folder = album("low", "Artist", "Raced", 2);
  const ImportOutcome imported = importer_->import_folder(first);
  ASSERT_EQ(imported.kind, DecisionKind::kImport);
  const fs::path album_dir = root_ / "library" / "Artist" / "Raced (2001)";
  auto copy_at = [&](const std::string& name, int rate) {
    const fs::path wav = root_ / (name + ".wav");
    run("sox -R -n -r " + std::to_string(rate) + " -b 24 -c 2 '" + wav.string() +
        "' synth 0.5 sine 440 vol 0.3");
    const fs::path dir = root_ / "inbox" / name;
    for (int n = 1; n <= 2; ++n) {
      make_flac(
          wav, dir / (std::to_string(n) + ".flac"),
          {"ARTIST=Artist", "ALBUMARTIST=Artist", "ALBUM=Raced", "TITLE=Song " + std::to_string(n),
           "TRACKNUMBER=" + std::to_string(n), "DATE=2001"});
    }
    return dir;
  };
  const fs::path mid = copy_at("mid", 48000);
  const fs::path high = copy_at("high", 96000);

  // The other process: its own mover (so its lease is not the one this test
  // holds on its behalf), the same library and database.
  AlbumMover other_mover(root_ / "journal-other");
  ImportService other(*store_, *bus_, *activity_, *links_, other_mover, *identifier_,
                      ImportPaths{root_ / "library", root_ / "import", root_ / "trash"},
                      ImportOptions{});

  std::optional<FolderLease> other_holds = mover_->lease_folder(album_dir, false);
  ASSERT_TRUE(other_holds->held());
  std::optional<ImportOutcome> waited;
  std::string error;
  std::jthread upgrade([&] {
    try {
      ImportRequest req;
      req.folder = mid;
      waited = importer_->import_folder(req);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  // Decided (an upgrade of the 16-bit copy) and waiting for the folder.
  fs::path lease_file;
  for (const auto& e : fs::directory_iterator(root_ / "journal")) {
    if (e.path().extension() == ".lease") lease_file = e.path();
  }
  ASSERT_FALSE(lease_file.empty());
  for (int i = 0; i < 2000 && !someone_waits_for(lease_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(someone_waits_for(lease_file));

  ImportRequest better;
  better.folder = high;
  ASSERT_EQ(other.import_folder(better).kind, DecisionKind::kUpgrade);
  other_holds.reset();
  upgrade.join();

  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->kind, DecisionKind::kDuplicate) << "48 kHz is not better than 96 kHz";
  const std::vector<Track> tracks =
      store_->read([&](StoreSession& s) { return s.library().album_tracks(imported.album_id); });
  ASSERT_EQ(tracks.size(), 2u);
  for (const Track& t : tracks) {
    EXPECT_EQ(t.sample_rate, 96000) << t.path;
    EXPECT_TRUE(fs::is_regular_file(root_ / "library" / t.path)) << t.path;
  }
  EXPECT_EQ(files_below(album_dir).size(), 2u);
  EXPECT_EQ(files_below(root_ / "import" / "review").size(), 2u) << "the 48 kHz copy, for review";
  EXPECT_EQ(files_below(root_ / "trash").size(), 2u) << "only the 16-bit copy was replaced";
}

}  // namespace
}  // namespace barbossa
