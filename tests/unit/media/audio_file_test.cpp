#include "media/audio_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "media/sha256.h"
#include "media_test_util.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::quote;
using test::run;

// Encoders pad and round: a one-second sine reads back within this.
constexpr int64_t kDurationToleranceMs = 100;

// ---- hand-made tag blocks (no installed tool writes ID3v2.2 or APE) --------

std::string be24(size_t n) {
  return {static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 8) & 0xff),
          static_cast<char>(n & 0xff)};
}

std::string le32(uint32_t n) {
  return {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
          static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
}

std::string id3v22_text_frame(const std::string& id, const std::string& text) {
  const std::string data = std::string(1, '\0') + text;  // encoding 0: ISO-8859-1
  return id + be24(data.size()) + data;
}

std::string id3v22_wrap(const std::string& frames) {
  const size_t n = frames.size();  // syncsafe: 7 bits per byte
  const std::string size = {static_cast<char>((n >> 21) & 0x7f),
                            static_cast<char>((n >> 14) & 0x7f), static_cast<char>((n >> 7) & 0x7f),
                            static_cast<char>(n & 0x7f)};
  return std::string("ID3\x02\x00\x00", 6) + size + frames;
}

std::string id3v22_tag() {
  return id3v22_wrap(id3v22_text_frame("TT2", "Title 2.2") +
                     id3v22_text_frame("TP1", "Artist 2.2") +
                     id3v22_text_frame("TAL", "Album 2.2") + id3v22_text_frame("TRK", "4/9") +
                     id3v22_text_frame("TYE", "1999"));
}

std::string ape_item(const std::string& key, const std::string& value) {
  return le32(static_cast<uint32_t>(value.size())) + le32(0) + key + std::string(1, '\0') + value;
}

// APEv2 items plus footer (no header), as found before an ID3v1 tag.
std::string ape_wrap(const std::string& items) {
  const std::string footer = "APETAGEX" + le32(2000) +
                             le32(static_cast<uint32_t>(items.size() + 32)) + le32(3) + le32(0) +
                             std::string(8, '\0');
  return items + footer;
}

std::string ape_tag() {
  return ape_wrap(ape_item("Title", "APE Title") + ape_item("Artist", "APE Artist") +
                  ape_item("Track", "5/7"));
}

std::string fixed(const std::string& s, size_t n) {
  std::string out = s.substr(0, n);
  out.resize(n, '\0');
  return out;
}

std::string id3v1_tag() {
  // ID3v1.1: a zero byte before the track number in the comment field.
  return "TAG" + fixed("V1 Title", 30) + fixed("V1 Artist", 30) + fixed("V1 Album", 30) + "2003" +
         fixed("", 28) + std::string(1, '\0') + std::string(1, '\x06') + std::string(1, '\x08');
}

// ---- fixture: every format generated once ------------------------------------

class AudioFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_tools()) return;
    dir_ = std::make_unique<test::TempDir>();
    const test::TempDir& d = *dir_;
    auto gen = [&](const std::string& command) { ASSERT_TRUE(run(command, d.path())); };
    gen(test::sox_sine(d / "cd.wav"));
    gen(test::sox_sine(d / "hires.wav", 96000, 24));
    gen(test::sox_sine(d / "cd.aiff"));
    gen("flac -s -f --tag=ARTIST=Alpha --tag=ARTIST=Beta --tag=ALBUMARTIST='Various Artists'"
        " --tag=ALBUM='The Album' --tag=TITLE='First Song' --tag=TRACKNUMBER=2/10"
        " --tag=DISCNUMBER=1/2 --tag=DATE=2011-03-04 --tag=GENRE=Rock"
        " --tag=MUSICBRAINZ_ALBUMID=11111111-1111-1111-1111-111111111111"
        " --tag=MUSICBRAINZ_TRACKID=22222222-2222-2222-2222-222222222222"
        " --tag=MUSICBRAINZ_ARTISTID=33333333-3333-3333-3333-333333333333"
        " --tag=ISRC=GBAYE0000001 -o " +
        quote(d / "tagged.flac") + " " + quote(d / "cd.wav"));
    gen("flac -s -f --tag=TRACKNUMBER=3 --tag=TRACKTOTAL=12 --tag=DISCNUMBER=2"
        " --tag=TOTALDISCS=3 --tag=DATE=1999 -o " +
        quote(d / "hires.flac") + " " + quote(d / "hires.wav"));
    gen("lame --quiet --id3v2-only --ta 'MP3 Artist' --tl 'MP3 Album' --tt 'MP3 Title' --tn 2/10"
        " --ty 2011 --tg Rock " +
        quote(d / "cd.wav") + " " + quote(d / "id3v23.mp3"));
    gen("lame --quiet --id3v1-only --ta 'V1 Artist' --tl 'V1 Album' --tt 'V1 Title' --tn 7"
        " --ty 2004 " +
        quote(d / "cd.wav") + " " + quote(d / "id3v1.mp3"));
    gen("lame --quiet " + quote(d / "cd.wav") + " " + quote(d / "untagged.mp3"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -c:a libmp3lame -id3v2_version 4 -metadata artist='V4 Artist' -metadata title='V4 Title'"
        " -metadata track=3/11 -metadata date=2015-06-07 " +
        quote(d / "id3v24.mp3"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -c:a aac -b:a 128k -metadata artist='AAC Artist' -metadata album_artist='AAC AA'"
        " -metadata album='AAC Album' -metadata title='AAC Title' -metadata track=2/10"
        " -metadata disc=1/2 -metadata date=2012 " +
        quote(d / "aac.m4a"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "hires.wav") +
        " -c:a alac -metadata title='ALAC Title' " + quote(d / "alac.m4a"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -c:a libvorbis -metadata artist='Vorbis Artist' -metadata title='Vorbis Title'"
        " -metadata tracknumber=4/8 " +
        quote(d / "vorbis.ogg"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -c:a libopus -metadata title='Opus Title' -metadata artist='Opus Artist' " +
        quote(d / "opus.opus"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -c:a wavpack -metadata title='WV Title' -metadata artist='WV Artist' " +
        quote(d / "wavpack.wv"));
    gen("ffmpeg -nostdin -v error -y -i " + quote(d / "cd.wav") +
        " -metadata title='WAV Title' -metadata artist='WAV Artist' -c:a pcm_s16le " +
        quote(d / "tagged.wav"));
  }

  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "sox, flac, lame and ffmpeg are needed to generate audio";
  }

  static fs::path file(const std::string& name) { return *dir_ / name; }

  static AudioInfo read_ok(const std::string& name) {
    AudioReadResult r = read_audio_file(file(name));
    EXPECT_TRUE(r.info.has_value()) << name << ": " << r.error;
    EXPECT_EQ(r.error, "");
    return r.info.value_or(AudioInfo{});
  }

  static void expect_one_second(const AudioInfo& info) {
    EXPECT_NEAR(static_cast<double>(info.duration_ms), 1000.0, kDurationToleranceMs);
  }

  static inline std::unique_ptr<test::TempDir> dir_;
};

TEST(AudioPathTest, KnowsTheAudioExtensions) {
  for (const char* name : {"a.flac", "a.mp3", "a.m4a", "a.mp4", "a.aac", "a.ogg", "a.oga", "a.opus",
                           "a.wav", "a.aif", "a.aiff", "a.wv", "A.FLAC", "x/y/B.Mp3"}) {
    EXPECT_TRUE(is_audio_path(name)) << name;
  }
  for (const char* name : {"cover.jpg", "rip.log", "a.cue", "desktop.ini", ".DS_Store", "flac",
                           "a.flac.part", "a.m3u", ""}) {
    EXPECT_FALSE(is_audio_path(name)) << name;
  }
}

TEST_F(AudioFileTest, FlacPropertiesAndAllTags) {
  const AudioInfo info = read_ok("tagged.flac");
  EXPECT_EQ(info.format, "flac");
  EXPECT_EQ(info.codec, "FLAC");
  EXPECT_TRUE(info.lossless);
  EXPECT_EQ(info.bit_depth, 16);
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  EXPECT_GT(info.bitrate, 0);
  expect_one_second(info);
  EXPECT_EQ(info.file_size, static_cast<int64_t>(fs::file_size(file("tagged.flac"))));

  const AudioTags& t = info.tags;
  EXPECT_EQ(t.artists, (std::vector<std::string>{"Alpha", "Beta"}));
  EXPECT_EQ(t.artist, "Alpha; Beta");
  EXPECT_EQ(t.album_artist, "Various Artists");
  EXPECT_EQ(t.album, "The Album");
  EXPECT_EQ(t.title, "First Song");
  EXPECT_EQ(t.track, 2);
  EXPECT_EQ(t.track_total, 10);
  EXPECT_EQ(t.disc, 1);
  EXPECT_EQ(t.disc_total, 2);
  EXPECT_EQ(t.date, "2011-03-04");
  EXPECT_EQ(t.year, 2011);
  EXPECT_EQ(t.genre, "Rock");
  EXPECT_EQ(t.musicbrainz_album_id, "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(t.musicbrainz_recording_id, "22222222-2222-2222-2222-222222222222");
  EXPECT_EQ(t.musicbrainz_artist_id, "33333333-3333-3333-3333-333333333333");
  EXPECT_EQ(t.isrc, "GBAYE0000001");
}

TEST_F(AudioFileTest, HiResFlacAndSeparateTotals) {
  const AudioInfo info = read_ok("hires.flac");
  EXPECT_TRUE(info.lossless);
  EXPECT_EQ(info.bit_depth, 24);
  EXPECT_EQ(info.sample_rate, 96000);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
  EXPECT_EQ(info.tags.track, 3);
  EXPECT_EQ(info.tags.track_total, 12);  // TRACKTOTAL
  EXPECT_EQ(info.tags.disc, 2);
  EXPECT_EQ(info.tags.disc_total, 3);  // TOTALDISCS
  EXPECT_EQ(info.tags.year, 1999);
  EXPECT_TRUE(info.tags.artists.empty());
  EXPECT_EQ(info.tags.artist, "");
}

TEST_F(AudioFileTest, Mp3WithId3v23) {
  const AudioInfo info = read_ok("id3v23.mp3");
  EXPECT_EQ(info.format, "mp3");
  EXPECT_EQ(info.codec, "MP3");
  EXPECT_FALSE(info.lossless);
  EXPECT_EQ(info.bit_depth, 0);
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  EXPECT_GT(info.bitrate, 64);
  expect_one_second(info);
  EXPECT_EQ(info.tags.artist, "MP3 Artist");
  EXPECT_EQ(info.tags.album, "MP3 Album");
  EXPECT_EQ(info.tags.title, "MP3 Title");
  EXPECT_EQ(info.tags.track, 2);
  EXPECT_EQ(info.tags.track_total, 10);
  EXPECT_EQ(info.tags.year, 2011);
  EXPECT_EQ(info.tags.genre, "Rock");
}

TEST_F(AudioFileTest, Mp3WithId3v1Only) {
  ASSERT_NE(test::read_text(file("id3v1.mp3")).substr(0, 3), "ID3");
  const AudioInfo info = read_ok("id3v1.mp3");
  EXPECT_EQ(info.codec, "MP3");
  EXPECT_EQ(info.tags.artist, "V1 Artist");
  EXPECT_EQ(info.tags.album, "V1 Album");
  EXPECT_EQ(info.tags.title, "V1 Title");
  EXPECT_EQ(info.tags.track, 7);
  EXPECT_EQ(info.tags.track_total, 0);
  EXPECT_EQ(info.tags.year, 2004);
}

TEST_F(AudioFileTest, Mp3WithId3v24) {
  const std::string bytes = test::read_text(file("id3v24.mp3"));
  ASSERT_EQ(bytes.substr(0, 4), std::string("ID3\x04", 4));  // really a v2.4 tag
  const AudioInfo info = read_ok("id3v24.mp3");
  EXPECT_EQ(info.tags.artist, "V4 Artist");
  EXPECT_EQ(info.tags.title, "V4 Title");
  EXPECT_EQ(info.tags.track, 3);
  EXPECT_EQ(info.tags.track_total, 11);
  EXPECT_EQ(info.tags.date, "2015-06-07");
  EXPECT_EQ(info.tags.year, 2015);
  expect_one_second(info);
}

TEST_F(AudioFileTest, Mp3WithId3v22) {
  const std::string audio = test::read_text(file("untagged.mp3"));
  ASSERT_NE(audio.substr(0, 3), "ID3");
  test::write_bytes(file("id3v22.mp3"), id3v22_tag() + audio);
  const AudioInfo info = read_ok("id3v22.mp3");
  EXPECT_EQ(info.tags.title, "Title 2.2");
  EXPECT_EQ(info.tags.artist, "Artist 2.2");
  EXPECT_EQ(info.tags.album, "Album 2.2");
  EXPECT_EQ(info.tags.track, 4);
  EXPECT_EQ(info.tags.track_total, 9);
  EXPECT_EQ(info.tags.year, 1999);
  EXPECT_EQ(info.sample_rate, 44100);
  expect_one_second(info);
}

TEST_F(AudioFileTest, Mp3WithApeAndId3v1MergesByPriority) {
  const std::string audio = test::read_text(file("untagged.mp3"));
  test::write_bytes(file("ape.mp3"), audio + ape_tag() + id3v1_tag());
  const AudioInfo info = read_ok("ape.mp3");
  // APE wins where both have a field; ID3v1 still fills what APE lacks.
  EXPECT_EQ(info.tags.title, "APE Title");
  EXPECT_EQ(info.tags.artist, "APE Artist");
  EXPECT_EQ(info.tags.track, 5);
  EXPECT_EQ(info.tags.track_total, 7);
  EXPECT_EQ(info.tags.album, "V1 Album");
  EXPECT_EQ(info.tags.year, 2003);
  expect_one_second(info);
}

TEST_F(AudioFileTest, M4aAac) {
  const AudioInfo info = read_ok("aac.m4a");
  EXPECT_EQ(info.format, "m4a");
  EXPECT_EQ(info.codec, "AAC");
  EXPECT_FALSE(info.lossless);
  EXPECT_EQ(info.bit_depth, 0);  // TagLib says 16; a lossy stream has none
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  EXPECT_GT(info.bitrate, 64);
  expect_one_second(info);
  EXPECT_EQ(info.tags.artist, "AAC Artist");
  EXPECT_EQ(info.tags.album_artist, "AAC AA");
  EXPECT_EQ(info.tags.album, "AAC Album");
  EXPECT_EQ(info.tags.title, "AAC Title");
  EXPECT_EQ(info.tags.track, 2);
  EXPECT_EQ(info.tags.track_total, 10);
  EXPECT_EQ(info.tags.disc, 1);
  EXPECT_EQ(info.tags.disc_total, 2);
  EXPECT_EQ(info.tags.year, 2012);
}

TEST_F(AudioFileTest, M4aAlacHiRes) {
  const AudioInfo info = read_ok("alac.m4a");
  EXPECT_EQ(info.format, "m4a");
  EXPECT_EQ(info.codec, "ALAC");
  EXPECT_TRUE(info.lossless);
  EXPECT_EQ(info.bit_depth, 24);
  EXPECT_EQ(info.sample_rate, 96000);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
  EXPECT_EQ(info.tags.title, "ALAC Title");
}

TEST_F(AudioFileTest, OggVorbis) {
  const AudioInfo info = read_ok("vorbis.ogg");
  EXPECT_EQ(info.format, "ogg");
  EXPECT_EQ(info.codec, "Vorbis");
  EXPECT_FALSE(info.lossless);
  EXPECT_EQ(info.bit_depth, 0);
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
  EXPECT_EQ(info.tags.artist, "Vorbis Artist");
  EXPECT_EQ(info.tags.title, "Vorbis Title");
  EXPECT_EQ(info.tags.track, 4);
  EXPECT_EQ(info.tags.track_total, 8);
}

TEST_F(AudioFileTest, Opus) {
  const AudioInfo info = read_ok("opus.opus");
  EXPECT_EQ(info.format, "opus");
  EXPECT_EQ(info.codec, "Opus");
  EXPECT_FALSE(info.lossless);
  EXPECT_EQ(info.bit_depth, 0);
  // Opus always decodes at 48 kHz; TagLib reports that, not the 44.1 kHz input.
  EXPECT_EQ(info.sample_rate, 48000);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
  EXPECT_EQ(info.tags.title, "Opus Title");
  EXPECT_EQ(info.tags.artist, "Opus Artist");
}

TEST_F(AudioFileTest, OggCodecComesFromContentNotName) {
  fs::copy_file(file("vorbis.ogg"), file("vorbis-named.opus"),
                fs::copy_options::overwrite_existing);
  fs::copy_file(file("opus.opus"), file("opus-named.ogg"), fs::copy_options::overwrite_existing);
  EXPECT_EQ(read_ok("vorbis-named.opus").codec, "Vorbis");
  EXPECT_EQ(read_ok("opus-named.ogg").codec, "Opus");
}

TEST_F(AudioFileTest, WavPack) {
  const AudioInfo info = read_ok("wavpack.wv");
  EXPECT_EQ(info.format, "wv");
  EXPECT_EQ(info.codec, "WavPack");
  EXPECT_TRUE(info.lossless);
  EXPECT_EQ(info.bit_depth, 16);
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
  EXPECT_EQ(info.tags.title, "WV Title");
  EXPECT_EQ(info.tags.artist, "WV Artist");
}

TEST_F(AudioFileTest, Wav) {
  const AudioInfo cd = read_ok("cd.wav");
  EXPECT_EQ(cd.format, "wav");
  EXPECT_EQ(cd.codec, "PCM");
  EXPECT_TRUE(cd.lossless);
  EXPECT_EQ(cd.bit_depth, 16);
  EXPECT_EQ(cd.sample_rate, 44100);
  EXPECT_EQ(cd.channels, 2);
  EXPECT_EQ(cd.bitrate, 1411);
  expect_one_second(cd);

  // sox writes 24-bit as WAVE_FORMAT_EXTENSIBLE.
  const AudioInfo hires = read_ok("hires.wav");
  EXPECT_EQ(hires.codec, "PCM");
  EXPECT_EQ(hires.bit_depth, 24);
  EXPECT_EQ(hires.sample_rate, 96000);

  // ffmpeg puts WAV tags in a RIFF INFO chunk.
  const AudioInfo tagged = read_ok("tagged.wav");
  EXPECT_EQ(tagged.tags.title, "WAV Title");
  EXPECT_EQ(tagged.tags.artist, "WAV Artist");
}

TEST_F(AudioFileTest, Aiff) {
  const AudioInfo info = read_ok("cd.aiff");
  EXPECT_EQ(info.format, "aiff");
  EXPECT_EQ(info.codec, "PCM");
  EXPECT_TRUE(info.lossless);
  EXPECT_EQ(info.bit_depth, 16);
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 2);
  expect_one_second(info);
}

// ---- bad input ---------------------------------------------------------------

void expect_error(const fs::path& path, const std::string& error) {
  const AudioReadResult r = read_audio_file(path);
  EXPECT_FALSE(r.info.has_value()) << path;
  EXPECT_EQ(r.error, error) << path;
}

TEST_F(AudioFileTest, ZeroByteFile) {
  test::write_bytes(file("empty.flac"), "");
  expect_error(file("empty.flac"), "zero-byte file");
  test::write_bytes(file("empty.mp3"), "");
  expect_error(file("empty.mp3"), "zero-byte file");
}

TEST_F(AudioFileTest, RandomBytesAreRejectedByFormat) {
  const std::string garbage = test::random_bytes(64 * 1024, 42);
  for (const char* name : {"garbage.flac", "garbage.m4a", "garbage.ogg", "garbage.opus"}) {
    test::write_bytes(file(name), garbage);
  }
  expect_error(file("garbage.flac"), "not a valid FLAC file");
  expect_error(file("garbage.m4a"), "not a valid M4A file");
  expect_error(file("garbage.ogg"), "not a valid Ogg file");
  expect_error(file("garbage.opus"), "not a valid Opus file");

  // TagLib "opens" random bytes as MP3, WAV, AIFF and WavPack files, with an
  // empty tag and no audio stream: still not a track.
  for (const char* name : {"garbage.mp3", "garbage.wav", "garbage.aiff", "garbage.wv"}) {
    test::write_bytes(file(name), garbage);
  }
  expect_error(file("garbage.mp3"), "not a valid MP3 file (no audio stream found)");
  expect_error(file("garbage.wav"), "not a valid WAV file (no audio stream found)");
  expect_error(file("garbage.aiff"), "not a valid AIFF file (no audio stream found)");
  expect_error(file("garbage.wv"), "not a valid WavPack file (no audio stream found)");
}

TEST_F(AudioFileTest, TruncatedAndCorruptFlac) {
  const std::string flac = test::read_text(file("tagged.flac"));
  ASSERT_GT(flac.size(), 1000u);

  // 100 bytes: the metadata blocks are cut off.
  test::write_bytes(file("cut100.flac"), flac.substr(0, 100));
  expect_error(file("cut100.flac"), "not a valid FLAC file");

  // "fLaC" + STREAMINFO, then garbage where the next metadata block header
  // should be.
  test::write_bytes(file("header-garbage.flac"), flac.substr(0, 42) + test::random_bytes(30000, 7));
  expect_error(file("header-garbage.flac"), "not a valid FLAC file");

  // Half a file: all metadata survives, so TagLib reads the headers (the
  // duration is STREAMINFO's, the bitrate comes from the shorter size). Only
  // decoding would notice; the checksum no longer matches any good copy.
  test::write_bytes(file("half.flac"), flac.substr(0, flac.size() / 2));
  const AudioReadResult half = read_audio_file(file("half.flac"));
  ASSERT_TRUE(half.info.has_value()) << half.error;
  EXPECT_EQ(half.info->duration_ms, 1000);
  EXPECT_EQ(half.info->tags.title, "First Song");
  EXPECT_LT(half.info->bitrate, read_ok("tagged.flac").bitrate);
}

TEST_F(AudioFileTest, TruncatedFilesOfEveryFormat) {
  struct Case {
    const char* name;
    size_t cut;         // bytes kept; 0: half the file
    const char* error;  // expected error; nullptr: TagLib still reads the headers
  };
  // What TagLib 1.13 makes of cut files. Only the headers are read, so a file
  // whose headers survive reads fine (its checksum will match no good copy);
  // the rest are errors, and none of them crashes or hangs.
  const Case cases[] = {
      {"id3v23.mp3", 10, "not a valid MP3 file (no audio stream found)"},
      {"id3v23.mp3", 200, "not a valid MP3 file (no audio stream found)"},  // inside the ID3v2 tag
      {"id3v23.mp3", 0, nullptr},
      {"aac.m4a", 10, "not a valid M4A file"},
      {"aac.m4a", 0, "not a valid M4A file"},  // ffmpeg writes the moov atom last
      {"alac.m4a", 0, "not a valid M4A file"},
      {"vorbis.ogg", 10, "not a valid Ogg file"},
      {"vorbis.ogg", 200, "not a valid Ogg file (zero duration)"},  // no last page, no length
      {"opus.opus", 200, "not a valid Opus file (zero duration)"},
      {"opus.opus", 0, nullptr},
      {"wavpack.wv", 10, "not a valid WavPack file (no audio stream found)"},
      {"wavpack.wv", 200, nullptr},  // the first block header carries the total
      {"cd.wav", 200, "not a valid WAV file (no audio stream found)"},
      {"cd.wav", 0, "not a valid WAV file (no audio stream found)"},  // data chunk past EOF
      {"cd.aiff", 0, "not a valid AIFF file (no audio stream found)"},
  };
  for (const Case& c : cases) {
    const std::string bytes = test::read_text(file(c.name));
    const size_t cut = c.cut != 0 ? c.cut : bytes.size() / 2;
    const fs::path out = file("cut-" + std::to_string(cut) + "-" + c.name);
    test::write_bytes(out, bytes.substr(0, cut));
    const AudioReadResult r = read_audio_file(out, 5s);
    if (c.error != nullptr) {
      EXPECT_FALSE(r.info.has_value()) << out;
      EXPECT_EQ(r.error, c.error) << out;
    } else {
      ASSERT_TRUE(r.info.has_value()) << out << ": " << r.error;
      EXPECT_GT(r.info->sample_rate, 0) << out;
      EXPECT_GT(r.info->duration_ms, 0) << out;
    }
  }
}

TEST_F(AudioFileTest, MissingFileAndFolder) {
  const AudioReadResult missing = read_audio_file(file("missing.flac"));
  EXPECT_FALSE(missing.info.has_value());
  EXPECT_EQ(missing.error, "unreadable audio (No such file or directory)");

  fs::create_directory(file("folder.flac"));
  expect_error(file("folder.flac"), "not a regular file");
}

TEST_F(AudioFileTest, TimeBoundAbandonsABlockedRead) {
  // Opening a FIFO blocks until a writer shows up: a stand-in for a dead
  // network mount.
  const fs::path fifo = file("blocked.flac");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  const AudioReadResult r = read_audio_file(fifo, 300ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.info.has_value());
  EXPECT_EQ(r.error, "timed out reading tags");
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);

  // Release the abandoned reader so it finishes on its own: a non-blocking
  // writer open succeeds once the reader is waiting in open().
  int writer = -1;
  for (int i = 0; i < 200 && writer < 0; ++i) {
    writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (writer < 0) std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(writer, 0);
  if (writer >= 0) ::close(writer);

  // This thread's reader was let go; the next read gets a fresh one.
  const AudioReadResult after = read_audio_file(file("tagged.flac"), 5s);
  ASSERT_TRUE(after.info.has_value()) << after.error;
  EXPECT_EQ(after.info->tags.title, "First Song");
}

// Opens a writer on each FIFO so the helpers stuck in open() return.
void release_fifos(const std::vector<fs::path>& fifos) {
  for (const fs::path& fifo : fifos) {
    int writer = -1;
    for (int i = 0; i < 200 && writer < 0; ++i) {
      writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (writer < 0) std::this_thread::sleep_for(10ms);
    }
    EXPECT_GE(writer, 0) << fifo;
    if (writer >= 0) ::close(writer);
  }
}

TEST_F(AudioFileTest, AbandonedTagReadersAreCountedAndCapped) {
  const TagReaderStats before = tag_reader_stats();
  set_tag_reader_abandoned_max(before.abandoned + 2);
  std::vector<fs::path> fifos;
  for (const char* name : {"stuck-1.flac", "stuck-2.flac"}) {
    fifos.push_back(file(name));
    ASSERT_EQ(::mkfifo(fifos.back().c_str(), 0600), 0);
    const AudioReadResult r = read_audio_file(fifos.back(), 100ms);
    EXPECT_EQ(r.error, "timed out reading tags");
  }
  EXPECT_EQ(tag_reader_stats().abandoned, before.abandoned + 2);
  EXPECT_EQ(tag_reader_stats().abandoned_total, before.abandoned_total + 2);

  // At the cap a good file is not read either: no third thread is started.
  const AudioReadResult refused = read_audio_file(file("tagged.flac"), 5s);
  EXPECT_FALSE(refused.info.has_value());
  EXPECT_EQ(refused.error, "not read: " + std::to_string(before.abandoned + 2) +
                               " earlier tag reads are still stuck (TAG_READER_ABANDONED_MAX)");

  // Once the stuck reads return, their helpers count themselves out.
  release_fifos(fifos);
  for (int i = 0; i < 500 && tag_reader_stats().abandoned > before.abandoned; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(tag_reader_stats().abandoned, before.abandoned);
  const AudioReadResult after = read_audio_file(file("tagged.flac"), 5s);
  EXPECT_TRUE(after.info.has_value()) << after.error;
  set_tag_reader_abandoned_max(kDefaultTagReaderAbandonedMax);
}

// ---- text in other encodings -------------------------------------------------

TEST_F(AudioFileTest, Id3v1InWindows1252OrUtf8ReadsRight) {
  const std::string audio = test::read_text(file("untagged.mp3"));
  // Windows-1252 (curly quotes, e acute) in the title, UTF-8 bytes in the
  // artist (what newer taggers write into ID3v1): both become proper UTF-8.
  const std::string tag = "TAG" + fixed("Caf\xe9 \x93Tacuba\x94", 30) + fixed("Bj\xc3\xb6rk", 30) +
                          fixed("\xc0 bient\xf4t", 30) + "2003" + fixed("", 30) + "\x08";
  test::write_bytes(file("v1-legacy.mp3"), audio + tag);
  const AudioInfo info = read_ok("v1-legacy.mp3");
  EXPECT_EQ(info.tags.title, "Café “Tacuba”");
  EXPECT_EQ(info.tags.artist, "Björk");
  EXPECT_EQ(info.tags.album, "À bientôt");
}

TEST_F(AudioFileTest, Id3v2Latin1FramesInWindows1252ReadRight) {
  const std::string audio = test::read_text(file("untagged.mp3"));
  const std::string frames =
      id3v22_text_frame("TT2", "It\x92s \x80 5") + id3v22_text_frame("TP1", "Caf\xe9 Tacuba");
  test::write_bytes(file("v22-legacy.mp3"), id3v22_wrap(frames) + audio);
  const AudioInfo info = read_ok("v22-legacy.mp3");
  EXPECT_EQ(info.tags.title, "It’s € 5");
  EXPECT_EQ(info.tags.artist, "Café Tacuba");
}

TEST_F(AudioFileTest, TagsWithInvalidUtf8BecomeValidUtf8) {
  // APEv2 items are UTF-8 by definition; these are not.
  const std::string audio = test::read_text(file("untagged.mp3"));
  const std::string items = ape_item("Title", "Caf\xe9 \xff\xfe") +
                            ape_item("Artist", "\xed\xa0\x80 Surrogate") +
                            ape_item("Album", "Cut \xe6\x97");
  test::write_bytes(file("ape-bad.mp3"), audio + ape_wrap(items));
  const AudioInfo info = read_ok("ape-bad.mp3");
  for (const std::string* value : {&info.tags.title, &info.tags.artist, &info.tags.album}) {
    EXPECT_TRUE(is_valid_utf8(*value)) << *value;
    EXPECT_NO_THROW((void)nlohmann::json(*value).dump()) << *value;
  }
  // TagLib 1.13 drops an item that is not UTF-8 (the field is then missing,
  // which lowers the confidence); the rest of the file still reads.
  EXPECT_EQ(info.sample_rate, 44100);
}

TEST_F(AudioFileTest, ConcurrentReadsAgree) {
  const AudioInfo expected = read_ok("tagged.flac");
  std::atomic<int> good{0};
  parallel_for(64, 4, [&](size_t i) {
    const char* names[] = {"tagged.flac", "id3v23.mp3", "aac.m4a", "vorbis.ogg"};
    const AudioReadResult r = read_audio_file(file(names[i % 4]));
    if (r.info && (i % 4 != 0 || r.info->tags.artist == expected.tags.artist)) ++good;
  });
  EXPECT_EQ(good.load(), 64);
}

}  // namespace
}  // namespace barbossa
