#include "core/identify.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/identify_rules.h"
#include "core/identify_text.h"
#include "core/normalize.h"

namespace barbossa {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Takes a leading number with its separator ("03 - ", "3. ", "03_"); false
// when there is none or nothing would be left.
bool strip_leading_number(std::string_view& s, bool& bare_dash) {
  size_t n = 0;
  while (n < s.size() && n < 3 && is_digit(s[n])) ++n;
  if (n == 0 || (n < s.size() && is_digit(s[n]))) return false;
  size_t k = n;
  while (k < s.size() && (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '_')) ++k;
  if (k == n || k == s.size()) return false;
  bare_dash = k == n + 1 && s[n] == '-';
  s.remove_prefix(k);
  return true;
}

// The title a file name implies: "CD1/03 - Song.flac" -> "Song"; also
// "1-03 Song.flac" (disc-track).
std::string title_from_file_name(std::string_view file_name) {
  size_t slash = file_name.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  bool bare_dash = false;
  if (strip_leading_number(base, bare_dash) && bare_dash) {
    bool ignored = false;
    strip_leading_number(base, ignored);
  }
  return std::string(trim(base));
}

// What a folder called "Artist - Album (1999) [FLAC 24-96]" says.
struct FolderGuess {
  std::string artist;
  std::string album;  // with the artist prefix when there is one
  std::string album_without_artist;
  int year = 0;
};

int four_digit_year(std::string_view s) {
  if (s.size() != 4 || !std::all_of(s.begin(), s.end(), is_digit)) return 0;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  return y >= 1000 && y <= 2999 ? y : 0;
}

FolderGuess guess_from_folder(std::string_view folder) {
  FolderGuess guess;
  std::string_view s = trim(folder);
  // Trailing groups name the rip, not the album: "[FLAC]", "{WEB}", "(1999)".
  for (;;) {
    if (s.empty()) break;
    char close = s.back();
    char open = close == ']' ? '[' : close == '}' ? '{' : close == ')' ? '(' : '\0';
    if (open == '\0') break;
    size_t at = s.rfind(open);
    if (at == std::string_view::npos) break;
    std::string_view inner = s.substr(at + 1, s.size() - at - 2);
    int year = four_digit_year(inner);
    if (close == ')' && year == 0) break;  // "(What's the Story)" is the title
    if (year != 0 && guess.year == 0) guess.year = year;
    s = trim(s.substr(0, at));
  }
  while (!s.empty() && (s.back() == '-' || s.back() == ' ')) s.remove_suffix(1);
  guess.album = std::string(s);
  size_t dash = s.find(" - ");
  if (dash != std::string_view::npos && dash > 0) {
    guess.artist = std::string(trim(s.substr(0, dash)));
    std::string_view rest = trim(s.substr(dash + 3));
    // "Artist - 1999 - Album".
    if (rest.size() > 7 && four_digit_year(rest.substr(0, 4)) != 0 && rest.substr(4, 3) == " - ") {
      if (guess.year == 0) guess.year = four_digit_year(rest.substr(0, 4));
      rest = trim(rest.substr(7));
    }
    guess.album_without_artist = std::string(rest);
  }
  return guess;
}

Identification identify_nothing(const FolderGuess& folder) {
  Identification id;
  id.artist = folder.artist.empty() ? "Unknown Artist" : folder.artist;
  std::string album = folder.artist.empty() ? folder.album : folder.album_without_artist;
  id.album = album.empty() ? "Unknown Album" : album;
  id.year = folder.year;
  id.confidence = 0.0;
  id.reasons.push_back("no tracks");
  return id;
}

// Runs every rule: each defect found costs its penalty and adds its reason.
void score(const TagEvidence& evidence, Identification& id) {
  double confidence = 1.0;
  for (const IdentifyRule& rule : identify_rules()) {
    if (std::optional<Defect> defect = rule.check(evidence)) {
      confidence -= defect->penalty;
      id.reasons.push_back(std::move(defect->reason));
    }
  }
  id.confidence = std::clamp(confidence, 0.0, 1.0);
}

// Only an id every track agrees on identifies the album.
std::string agreed_release_id(const TagEvidence& evidence) {
  const auto& ids = evidence.release_ids;
  if (evidence.release_vote.spellings.size() > 1) return {};
  if (std::any_of(ids.begin(), ids.end(), [](const std::string& r) { return r.empty(); })) {
    return {};
  }
  return ids.front();
}

// The tags' majority, else the folder name, else "Unknown ...".
void name_album(const TagEvidence& evidence, const FolderGuess& folder, Identification& id) {
  id.artist = evidence.artist_vote.winner;
  bool folder_names_artist =
      !folder.artist.empty() &&
      (id.artist.empty() || normalize_name(folder.artist) == normalize_name(id.artist));
  if (id.artist.empty()) id.artist = folder.artist.empty() ? "Unknown Artist" : folder.artist;
  id.album = evidence.album_vote.winner;
  if (id.album.empty()) id.album = folder_names_artist ? folder.album_without_artist : folder.album;
  if (id.album.empty()) id.album = "Unknown Album";
}

// The year most tracks give (a tie keeps the earlier), else the folder's.
int voted_year(const std::vector<TrackTags>& tracks, int folder_year) {
  std::map<int, size_t> year_votes;
  for (const TrackTags& t : tracks) {
    if (t.year > 0) ++year_votes[t.year];
  }
  int year = folder_year;
  size_t best_votes = 0;
  for (const auto& [candidate, votes] : year_votes) {  // ascending
    if (votes > best_votes) {
      best_votes = votes;
      year = candidate;
    }
  }
  return year;
}

// Tagged numbers stay where they are unique on their disc; the rest follow
// the highest one in input order.
void number_tracks(const TagEvidence& evidence, std::vector<IdentifiedTrack>& out) {
  for (const auto& [disc, indexes] : evidence.on_disc) {
    std::set<int> used;
    std::vector<size_t> unplaced;
    for (size_t i : indexes) {
      out[i].disc = disc;
      const int tagged = evidence.tracks[i].track;
      if (tagged > 0 && used.insert(tagged).second) {
        out[i].number = tagged;
      } else {
        unplaced.push_back(i);
      }
    }
    int next = used.empty() ? 1 : *used.rbegin() + 1;
    for (size_t i : unplaced) out[i].number = next++;
  }
}

// The tag, else the file name's title, else "Track 07".
void title_tracks(const std::vector<TrackTags>& tracks, std::vector<IdentifiedTrack>& out) {
  for (size_t i = 0; i < tracks.size(); ++i) {
    std::string title(trim(tracks[i].title));
    if (title.empty()) title = title_from_file_name(tracks[i].file_name);
    if (title.empty()) {
      std::string number = std::to_string(out[i].number);
      title = "Track " + (number.size() < 2 ? "0" + number : number);
    }
    out[i].title = std::move(title);
  }
}

}  // namespace

Identification identify_from_tags(const std::vector<TrackTags>& tracks,
                                  std::string_view folder_name) {
  const FolderGuess folder = guess_from_folder(folder_name);
  if (tracks.empty()) return identify_nothing(folder);
  const TagEvidence evidence(tracks);
  Identification id;
  score(evidence, id);
  id.musicbrainz_release_id = agreed_release_id(evidence);
  id.disc_count = evidence.on_disc.rbegin()->first;
  name_album(evidence, folder, id);
  id.year = voted_year(tracks, folder.year);
  id.tracks.resize(tracks.size());
  number_tracks(evidence, id.tracks);
  title_tracks(tracks, id.tracks);
  return id;
}

}  // namespace barbossa
