#include "core/channels.h"

namespace barbossa {

std::optional<Channel> parse_channel(std::string_view name) {
  if (name == "activity") return Channel::kActivity;
  if (name == "library") return Channel::kLibrary;
  if (name == "downloads") return Channel::kDownloads;
  if (name == "review") return Channel::kReview;
  if (name == "system") return Channel::kSystem;
  return std::nullopt;
}

std::string_view channel_name(Channel c) {
  switch (c) {
    case Channel::kActivity: return "activity";
    case Channel::kLibrary: return "library";
    case Channel::kDownloads: return "downloads";
    case Channel::kReview: return "review";
    case Channel::kSystem: return "system";
    case Channel::kNone: return "";
  }
  return "";
}

bool channel_visible(Channel c, bool is_admin) {
  switch (c) {
    case Channel::kActivity:
    case Channel::kLibrary:
    case Channel::kDownloads:
    case Channel::kNone: return true;
    case Channel::kReview:
    case Channel::kSystem: return is_admin;
  }
  return false;
}

ChannelMask default_channels(bool is_admin) {
  ChannelMask m = channel_bit(Channel::kActivity) | channel_bit(Channel::kLibrary) |
                  channel_bit(Channel::kDownloads);
  if (is_admin) m |= channel_bit(Channel::kReview) | channel_bit(Channel::kSystem);
  return m;
}

}  // namespace barbossa
