// WebSocket channels (SPEC §11) and who may see them. Pure rules: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace barbossa {

enum class Channel : uint8_t { kActivity, kLibrary, kDownloads, kReview, kSystem, kNone };

// Bit set of channels a connection is subscribed to.
using ChannelMask = uint8_t;
constexpr ChannelMask channel_bit(Channel c) { return static_cast<ChannelMask>(1u << static_cast<unsigned>(c)); }

std::optional<Channel> parse_channel(std::string_view name);
std::string_view channel_name(Channel c);

// activity, library, downloads: everyone (downloads are further filtered by
// audience); review and system: admins only.
bool channel_visible(Channel c, bool is_admin);
ChannelMask default_channels(bool is_admin);

}  // namespace barbossa
