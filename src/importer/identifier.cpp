#include "importer/identifier.h"

#include "importer/import_service.h"

namespace barbossa {
namespace {

class TagIdentifier final : public Identifier {
 public:
  Identification identify(const AlbumCandidate& candidate) override {
    std::vector<TrackTags> tags;
    tags.reserve(candidate.tracks.size());
    for (const auto& t : candidate.tracks) tags.push_back(track_tags(t));
    return identify_from_tags(tags, candidate.root.filename().string());
  }
};

}  // namespace

std::unique_ptr<Identifier> make_tag_identifier() {
  return std::make_unique<TagIdentifier>();
}

}  // namespace barbossa
