#include "importer/identifier.h"

#include "files/fs_util.h"
#include "importer/track_tags.h"

namespace barbossa {
namespace {

class TagIdentifier final : public Identifier {
 public:
  Identification identify(const AlbumCandidate& candidate) override {
    std::vector<TrackTags> tags;
    tags.reserve(candidate.tracks.size());
    for (const auto& t : candidate.tracks) tags.push_back(track_tags(t));
    // The folder name is the fallback album title: a Latin-1 name reads right.
    return identify_from_tags(tags, display_path(candidate.root.filename()));
  }
};

}  // namespace

std::unique_ptr<Identifier> make_tag_identifier() {
  return std::make_unique<TagIdentifier>();
}

}  // namespace barbossa
