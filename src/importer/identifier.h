// Identifier: turns a scanned album into a candidate with a confidence. The
// tag-based one is always there; MusicBrainz (a later issue) implements the
// same interface and falls back to tags when the service is unreachable.
#pragma once

#include <memory>

#include "core/identify.h"
#include "importer/scanner.h"

namespace barbossa {

class Identifier {
 public:
  virtual ~Identifier() = default;
  virtual Identification identify(const AlbumCandidate& candidate) = 0;
};

std::unique_ptr<Identifier> make_tag_identifier();

}  // namespace barbossa
