#include "core/channels.h"

#include <gtest/gtest.h>

namespace barbossa {
namespace {

TEST(ChannelsTest, ParseKnownAndUnknown) {
  EXPECT_EQ(parse_channel("activity"), Channel::kActivity);
  EXPECT_EQ(parse_channel("review"), Channel::kReview);
  EXPECT_FALSE(parse_channel("nope").has_value());
  EXPECT_FALSE(parse_channel("").has_value());
  EXPECT_EQ(channel_name(Channel::kSystem), "system");
}

TEST(ChannelsTest, AdminOnlyChannels) {
  EXPECT_FALSE(channel_visible(Channel::kReview, false));
  EXPECT_FALSE(channel_visible(Channel::kSystem, false));
  EXPECT_TRUE(channel_visible(Channel::kReview, true));
  EXPECT_TRUE(channel_visible(Channel::kDownloads, false));
}

TEST(ChannelsTest, DefaultSubscriptionsAreEverythingVisible) {
  ChannelMask user = default_channels(false);
  EXPECT_TRUE(user & channel_bit(Channel::kActivity));
  EXPECT_TRUE(user & channel_bit(Channel::kLibrary));
  EXPECT_TRUE(user & channel_bit(Channel::kDownloads));
  EXPECT_FALSE(user & channel_bit(Channel::kReview));
  EXPECT_FALSE(user & channel_bit(Channel::kSystem));
  ChannelMask admin = default_channels(true);
  EXPECT_TRUE(admin & channel_bit(Channel::kReview));
  EXPECT_TRUE(admin & channel_bit(Channel::kSystem));
}

}  // namespace
}  // namespace barbossa
