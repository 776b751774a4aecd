#include "media/audio_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <taglib/aifffile.h>
#include <taglib/apetag.h>
#include <taglib/flacfile.h>
#include <taglib/flacproperties.h>
#include <taglib/id3v1tag.h>
#include <taglib/id3v2framefactory.h>
#include <taglib/id3v2tag.h>
#include <taglib/infotag.h>
#include <taglib/mp4file.h>
#include <taglib/mpegfile.h>
#include <taglib/oggflacfile.h>
#include <taglib/opusfile.h>
#include <taglib/tfilestream.h>
#include <taglib/tpropertymap.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavfile.h>
#include <taglib/wavpackfile.h>
#include <taglib/xiphcomment.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "core/tag_values.h"
#include "core/utf8.h"

namespace barbossa {
namespace {

namespace fs = std::filesystem;

// Average reads the stream headers only (STREAMINFO, Xing/VBRI, the last Ogg
// page, the MP4 atom tree): no whole-file scans, so a tag read costs a few
// small reads whatever the file size. Accurate would walk MP3 frames.
constexpr auto kReadStyle = TagLib::AudioProperties::Average;

enum class Kind { kFlac, kMp3, kMp4, kOgg, kWav, kAiff, kWavPack, kUnknown };

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return ext;
}

Kind kind_for(std::string_view ext) {
  if (ext == ".flac") return Kind::kFlac;
  if (ext == ".mp3") return Kind::kMp3;
  if (ext == ".m4a" || ext == ".mp4" || ext == ".aac") return Kind::kMp4;
  if (ext == ".ogg" || ext == ".oga" || ext == ".opus") return Kind::kOgg;
  if (ext == ".wav") return Kind::kWav;
  if (ext == ".aif" || ext == ".aiff") return Kind::kAiff;
  if (ext == ".wv") return Kind::kWavPack;
  return Kind::kUnknown;
}

// The name used in "not a valid ... file": what the user called the file.
std::string label_for(Kind kind, std::string_view ext) {
  switch (kind) {
    case Kind::kFlac:
      return "FLAC";
    case Kind::kMp3:
      return "MP3";
    case Kind::kMp4:
      return "M4A";
    case Kind::kOgg:
      return ext == ".opus" ? "Opus" : "Ogg";
    case Kind::kWav:
      return "WAV";
    case Kind::kAiff:
      return "AIFF";
    case Kind::kWavPack:
      return "WavPack";
    case Kind::kUnknown:
      break;
  }
  return "audio";
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void release() { fd_ = -1; }

 private:
  int fd_;
};

AudioReadResult failure(std::string reason) {
  return {std::nullopt, std::move(reason)};
}

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// ---- tags ------------------------------------------------------------------

// Several tag blocks can coexist (ID3v2 + APE + ID3v1 on an MP3, a Vorbis
// comment next to a stray ID3v2 on a FLAC). Each key comes from the first
// block in priority order that has it, so a field only the ID3v1 block
// carries still counts.
void merge_missing(TagLib::PropertyMap& into, const TagLib::PropertyMap& from) {
  for (const auto& [key, values] : from) {
    if (!into.contains(key)) into.insert(key, values);
  }
}

// What TagLib calls Latin-1 (ID3v1 fields, ID3v2 frames of encoding 0) is in
// practice whatever the tagger's system used: Windows-1252 (curly quotes, the
// euro sign), or UTF-8 from newer taggers. utf8_from_legacy reads both right
// where TagLib's ISO-8859-1 would give C1 controls or mojibake ("CafÃ©").
TagLib::String legacy_to_string(const TagLib::ByteVector& data) {
  std::string_view bytes(data.data(), data.size());
  bytes = bytes.substr(0, bytes.find('\0'));  // fixed-size fields are NUL-padded
  return TagLib::String(utf8_from_legacy(bytes), TagLib::String::UTF8);
}

class LegacyId3v1Strings final : public TagLib::ID3v1::StringHandler {
 public:
  TagLib::String parse(const TagLib::ByteVector& data) const override {
    return legacy_to_string(data).stripWhiteSpace();
  }
};

class LegacyId3v2Strings final : public TagLib::ID3v2::Latin1StringHandler {
 public:
  TagLib::String parse(const TagLib::ByteVector& data) const override {
    return legacy_to_string(data);
  }
};

// TagLib keeps these handlers in process-wide statics: installed once, before
// the first read, and never replaced (so no reader sees a dangling one).
void install_string_handlers() {
  static const LegacyId3v1Strings v1;
  static const LegacyId3v2Strings v2;
  static std::once_flag once;
  std::call_once(once, [] {
    TagLib::ID3v1::Tag::setStringHandler(&v1);
    TagLib::ID3v2::Tag::setLatin1StringHandler(&v2);
  });
}

std::string trimmed_utf8(const TagLib::String& value) {
  // TagLib hands back what the file holds: a Vorbis comment or APE item with
  // bytes that are not UTF-8, or a UTF-16 frame with a lone surrogate, must
  // not reach JSON as such.
  std::string s = valid_utf8(value.to8Bit(true));
  const auto not_space = [](char c) {
    return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\0';
  };
  size_t begin = 0;
  while (begin < s.size() && !not_space(s[begin])) ++begin;
  size_t end = s.size();
  while (end > begin && !not_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

std::vector<std::string> values_of(const TagLib::PropertyMap& map, const char* key) {
  std::vector<std::string> out;
  auto it = map.find(key);
  if (it == map.end()) return out;
  for (const TagLib::String& v : it->second) {
    std::string s = trimmed_utf8(v);
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += "; ";
    out += v;
  }
  return out;
}

std::string joined_value(const TagLib::PropertyMap& map, const char* key) {
  return joined(values_of(map, key));
}

std::string first_value(const TagLib::PropertyMap& map, const char* key) {
  std::vector<std::string> values = values_of(map, key);
  return values.empty() ? std::string() : std::move(values.front());
}

int total_from(const TagLib::PropertyMap& map, const char* key, const char* alt_key) {
  int total = parse_number_pair(first_value(map, key)).number;
  return total != 0 ? total : parse_number_pair(first_value(map, alt_key)).number;
}

AudioTags tags_from(const TagLib::PropertyMap& map) {
  AudioTags tags;
  tags.artists = values_of(map, "ARTIST");
  tags.artist = joined(tags.artists);
  tags.album_artist = joined_value(map, "ALBUMARTIST");
  tags.album = joined_value(map, "ALBUM");
  tags.title = joined_value(map, "TITLE");
  tags.genre = joined_value(map, "GENRE");

  const NumberPair track = parse_number_pair(first_value(map, "TRACKNUMBER"));
  tags.track = track.number;
  tags.track_total = track.total != 0 ? track.total : total_from(map, "TRACKTOTAL", "TOTALTRACKS");
  const NumberPair disc = parse_number_pair(first_value(map, "DISCNUMBER"));
  tags.disc = disc.number;
  tags.disc_total = disc.total != 0 ? disc.total : total_from(map, "DISCTOTAL", "TOTALDISCS");

  tags.date = first_value(map, "DATE");
  tags.year = year_from_date(tags.date);
  tags.musicbrainz_album_id = first_value(map, "MUSICBRAINZ_ALBUMID");
  // TagLib's name for the recording id (ID3v2 UFID, Vorbis MUSICBRAINZ_TRACKID).
  tags.musicbrainz_recording_id = first_value(map, "MUSICBRAINZ_TRACKID");
  tags.musicbrainz_artist_id = first_value(map, "MUSICBRAINZ_ARTISTID");
  tags.isrc = first_value(map, "ISRC");
  return tags;
}

TagLib::PropertyMap merged_properties(TagLib::File& file) {
  TagLib::PropertyMap map;
  if (auto* f = dynamic_cast<TagLib::FLAC::File*>(&file)) {
    if (f->hasXiphComment()) merge_missing(map, f->xiphComment()->properties());
    if (f->hasID3v2Tag()) merge_missing(map, f->ID3v2Tag()->properties());
    if (f->hasID3v1Tag()) merge_missing(map, f->ID3v1Tag()->properties());
  } else if (auto* f = dynamic_cast<TagLib::MPEG::File*>(&file)) {
    if (f->hasID3v2Tag()) merge_missing(map, f->ID3v2Tag()->properties());
    if (f->hasAPETag()) merge_missing(map, f->APETag()->properties());
    if (f->hasID3v1Tag()) merge_missing(map, f->ID3v1Tag()->properties());
  } else if (auto* f = dynamic_cast<TagLib::RIFF::WAV::File*>(&file)) {
    if (f->hasID3v2Tag()) merge_missing(map, f->ID3v2Tag()->properties());
    if (f->hasInfoTag()) merge_missing(map, f->InfoTag()->properties());
  } else if (auto* f = dynamic_cast<TagLib::WavPack::File*>(&file)) {
    if (f->hasAPETag()) merge_missing(map, f->APETag()->properties());
    if (f->hasID3v1Tag()) merge_missing(map, f->ID3v1Tag()->properties());
  } else {
    map = file.properties();  // one tag block: MP4 atoms, Vorbis comment, AIFF ID3v2
  }
  return map;
}

// ---- properties: one describe_* per container ---------------------------------

// AIFF-C compression types that are still plain PCM.
bool is_pcm_aiff_compression(const TagLib::ByteVector& type) {
  static constexpr std::string_view kPcm[] = {"NONE", "sowt", "twos", "raw ", "in24",
                                              "in32", "fl32", "FL32", "fl64", "FL64"};
  const std::string_view t(type.data(), type.size());
  for (std::string_view p : kPcm) {
    if (t == p) return true;
  }
  return false;
}

void describe_flac(TagLib::AudioProperties* props, AudioInfo& info) {
  info.format = "flac";
  info.codec = "FLAC";
  info.lossless = true;
  if (auto* p = dynamic_cast<TagLib::FLAC::Properties*>(props)) info.bit_depth = p->bitsPerSample();
}

void describe_mp4(TagLib::AudioProperties* props, AudioInfo& info) {
  info.format = "m4a";
  auto* p = dynamic_cast<TagLib::MP4::Properties*>(props);
  const auto codec = p != nullptr ? p->codec() : TagLib::MP4::Properties::Unknown;
  if (codec == TagLib::MP4::Properties::ALAC) {
    info.codec = "ALAC";
    info.lossless = true;
    info.bit_depth = p->bitsPerSample();
  } else {
    // TagLib reports 16 bits for AAC (the decoder's output format, not a
    // property of the stream): lossy codecs have no bit depth.
    info.codec = codec == TagLib::MP4::Properties::AAC ? "AAC" : "unknown";
  }
}

// .ogg, .oga and .opus: the stream, not the extension, says which codec.
void describe_ogg(TagLib::File& file, TagLib::AudioProperties* props, AudioInfo& info) {
  if (dynamic_cast<TagLib::Ogg::Opus::File*>(&file) != nullptr) {
    info.format = "opus";
    info.codec = "Opus";
  } else if (dynamic_cast<TagLib::Ogg::FLAC::File*>(&file) != nullptr) {
    info.format = "ogg";
    info.codec = "FLAC";
    info.lossless = true;
    if (auto* p = dynamic_cast<TagLib::FLAC::Properties*>(props)) {
      info.bit_depth = p->bitsPerSample();
    }
  } else {
    info.format = "ogg";
    info.codec = "Vorbis";
  }
}

void describe_wav(TagLib::AudioProperties* props, AudioInfo& info) {
  info.format = "wav";
  auto* p = dynamic_cast<TagLib::RIFF::WAV::Properties*>(props);
  // 1: integer PCM, 3: IEEE float (WAVE_FORMAT_EXTENSIBLE is resolved to
  // its sub-format by TagLib). Anything else is a compressed payload.
  if (p != nullptr && (p->format() == 1 || p->format() == 3)) {
    info.codec = "PCM";
    info.lossless = true;
    info.bit_depth = p->bitsPerSample();
  } else {
    info.codec = "unknown";
  }
}

void describe_aiff(TagLib::AudioProperties* props, AudioInfo& info) {
  info.format = "aiff";
  auto* p = dynamic_cast<TagLib::RIFF::AIFF::Properties*>(props);
  if (p != nullptr && (!p->isAiffC() || is_pcm_aiff_compression(p->compressionType()))) {
    info.codec = "PCM";
    info.lossless = true;
    info.bit_depth = p->bitsPerSample();
  } else {
    info.codec = "unknown";
  }
}

void describe_wavpack(TagLib::AudioProperties* props, AudioInfo& info) {
  info.format = "wv";
  info.codec = "WavPack";
  auto* p = dynamic_cast<TagLib::WavPack::Properties*>(props);
  if (p != nullptr && p->isLossless()) {
    info.lossless = true;
    info.bit_depth = p->bitsPerSample();
  }
}

// Fills format, codec, lossless and bit depth from the concrete file type.
void describe(TagLib::File& file, Kind kind, AudioInfo& info) {
  TagLib::AudioProperties* props = file.audioProperties();
  switch (kind) {
    case Kind::kFlac:
      return describe_flac(props, info);
    case Kind::kMp3:
      info.format = "mp3";
      info.codec = "MP3";
      return;
    case Kind::kMp4:
      return describe_mp4(props, info);
    case Kind::kOgg:
      return describe_ogg(file, props, info);
    case Kind::kWav:
      return describe_wav(props, info);
    case Kind::kAiff:
      return describe_aiff(props, info);
    case Kind::kWavPack:
      return describe_wavpack(props, info);
    case Kind::kUnknown:
      return;
  }
}

// Opens the concrete TagLib file for the extension; the stream must outlive it.
std::unique_ptr<TagLib::File> open_file(Kind kind, TagLib::IOStream* stream) {
  switch (kind) {
    case Kind::kFlac:
      return std::make_unique<TagLib::FLAC::File>(stream, TagLib::ID3v2::FrameFactory::instance(),
                                                  true, kReadStyle);
    case Kind::kMp3:
      return std::make_unique<TagLib::MPEG::File>(stream, TagLib::ID3v2::FrameFactory::instance(),
                                                  true, kReadStyle);
    case Kind::kMp4:
      return std::make_unique<TagLib::MP4::File>(stream, true, kReadStyle);
    case Kind::kOgg: {
      // .ogg, .oga and .opus are all Ogg: the first packet says which codec,
      // so a Vorbis file named .opus (or the reverse) still reads.
      std::unique_ptr<TagLib::File> file;
      if (TagLib::Ogg::Vorbis::File::isSupported(stream)) {
        stream->seek(0);
        file = std::make_unique<TagLib::Ogg::Vorbis::File>(stream, true, kReadStyle);
      } else if (TagLib::Ogg::Opus::File::isSupported(stream)) {
        stream->seek(0);
        file = std::make_unique<TagLib::Ogg::Opus::File>(stream, true, kReadStyle);
      } else if (TagLib::Ogg::FLAC::File::isSupported(stream)) {
        stream->seek(0);
        file = std::make_unique<TagLib::Ogg::FLAC::File>(stream, true, kReadStyle);
      }
      return file;
    }
    case Kind::kWav:
      return std::make_unique<TagLib::RIFF::WAV::File>(stream, true, kReadStyle);
    case Kind::kAiff:
      return std::make_unique<TagLib::RIFF::AIFF::File>(stream, true, kReadStyle);
    case Kind::kWavPack:
      return std::make_unique<TagLib::WavPack::File>(stream, true, kReadStyle);
    case Kind::kUnknown:
      break;
  }
  return nullptr;
}

// The read itself, on the reader thread. Does not throw.
AudioReadResult read_now(const fs::path& path) noexcept {
  try {
    const std::string ext = lower_extension(path);
    const Kind kind = kind_for(ext);
    if (kind == Kind::kUnknown) return failure("not an audio file (" + ext + ")");
    const std::string label = label_for(kind, ext);

    // Open first and stat the descriptor: one lookup, no race between the
    // size check and the read. Opening a FIFO blocks here, which is what the
    // time bound is for.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return failure("unreadable audio (" + errno_text(errno) + ")");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return failure("unreadable audio (" + errno_text(errno) + ")");
    if (!S_ISREG(st.st_mode)) return failure("not a regular file");
    if (st.st_size == 0) return failure("zero-byte file");
    // FileStream takes the descriptor over (it fdopen()s it and fcloses it
    // when destroyed) unless fdopen fails, in which case it stays ours.
    auto stream = std::make_unique<TagLib::FileStream>(fd.get(), true);
    if (!stream->isOpen()) return failure("unreadable audio (cannot open stream)");
    fd.release();

    std::unique_ptr<TagLib::File> file = open_file(kind, stream.get());
    if (!file || !file->isValid()) return failure("not a valid " + label + " file");
    TagLib::AudioProperties* props = file->audioProperties();
    if (props == nullptr || props->sampleRate() <= 0 || props->channels() <= 0) {
      // TagLib accepts e.g. random bytes named .mp3/.wav as a file with no
      // audio stream; there is nothing to play.
      return failure("not a valid " + label + " file (no audio stream found)");
    }

    if (props->lengthInMilliseconds() <= 0) {
      // What TagLib reports for an Ogg stream cut before its last page, or a
      // WAV whose data chunk is empty: nothing to play, or a truncated copy.
      return failure("not a valid " + label + " file (zero duration)");
    }

    AudioInfo info;
    describe(*file, kind, info);
    info.duration_ms = props->lengthInMilliseconds();
    info.sample_rate = props->sampleRate();
    info.bitrate = props->bitrate();
    info.channels = props->channels();
    info.file_size = static_cast<int64_t>(st.st_size);
    info.tags = tags_from(merged_properties(*file));
    return {std::move(info), {}};
  } catch (const std::exception& e) {
    return failure(std::string("unreadable audio (") + e.what() + ")");
  } catch (...) {
    return failure("unreadable audio (unknown error)");
  }
}

// Abandoned helpers still stuck in a read (each holds a thread and a
// descriptor until its read returns, which on a dead mount may be never).
// Process-wide because threads are: every scan of every caller shares them.
std::atomic<int> g_abandoned_now{0};
std::atomic<uint64_t> g_abandoned_total{0};
std::atomic<int> g_abandoned_max{kDefaultTagReaderAbandonedMax};

// A helper thread that performs reads for one calling thread, so that a
// read which hangs (a FIFO, a dead network mount) can be abandoned: the
// caller stops waiting and lets the helper go. Everything the helper touches
// lives in the shared Channel, so it stays valid however long the hung read
// takes; once it returns, the helper sees `stop` and exits on its own.
class ReaderThread {
 public:
  ReaderThread() : channel_(std::make_shared<Channel>()), thread_(&ReaderThread::loop, channel_) {}
  ReaderThread(const ReaderThread&) = delete;
  ReaderThread& operator=(const ReaderThread&) = delete;

  ~ReaderThread() {
    {
      std::lock_guard lock(channel_->mutex);
      channel_->stop = true;
    }
    channel_->to_reader.notify_one();
    // An abandoned helper may still be stuck in a read: never wait for it.
    if (abandoned_) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  // The result, or nothing when the read took longer than time_bound (the
  // helper is then abandoned; destroy this object and make a new one).
  std::optional<AudioReadResult> read(const fs::path& path, std::chrono::milliseconds time_bound) {
    std::unique_lock lock(channel_->mutex);
    channel_->job = path;
    channel_->result.reset();
    channel_->to_reader.notify_one();
    if (!channel_->to_caller.wait_for(lock, time_bound,
                                      [&] { return channel_->result.has_value(); })) {
      abandoned_ = true;
      channel_->abandoned = true;  // under the lock: the helper counts itself out
      g_abandoned_now.fetch_add(1);
      g_abandoned_total.fetch_add(1);
      return std::nullopt;
    }
    std::optional<AudioReadResult> out = std::move(channel_->result);
    channel_->result.reset();
    return out;
  }

 private:
  struct Channel {
    std::mutex mutex;
    std::condition_variable to_reader;
    std::condition_variable to_caller;
    std::optional<fs::path> job;
    std::optional<AudioReadResult> result;
    bool stop = false;
    bool abandoned = false;
  };

  static void loop(std::shared_ptr<Channel> channel) {
    std::unique_lock lock(channel->mutex);
    serve(channel.get(), lock);
    // Under the lock, after the last read: no longer stuck, no longer counted.
    if (channel->abandoned) g_abandoned_now.fetch_sub(1);
  }

  static void serve(Channel* channel, std::unique_lock<std::mutex>& lock) {
    for (;;) {
      channel->to_reader.wait(lock, [&] { return channel->stop || channel->job.has_value(); });
      if (!channel->job) return;  // stop with nothing pending
      const fs::path path = std::move(*channel->job);
      channel->job.reset();
      lock.unlock();
      AudioReadResult result = read_now(path);
      lock.lock();
      if (channel->stop) return;  // abandoned while reading: nobody waits for this
      channel->result = std::move(result);
      channel->to_caller.notify_one();
    }
  }

  std::shared_ptr<Channel> channel_;
  std::thread thread_;
  bool abandoned_ = false;
};

}  // namespace

bool is_audio_path(const fs::path& path) {
  return kind_for(lower_extension(path)) != Kind::kUnknown;
}

TagReaderStats tag_reader_stats() {
  return {g_abandoned_now.load(), g_abandoned_total.load(), g_abandoned_max.load()};
}

void set_tag_reader_abandoned_max(int max) {
  g_abandoned_max.store(max < 1 ? 1 : max);
}

AudioReadResult read_audio_file(const fs::path& path, std::chrono::milliseconds time_bound) {
  install_string_handlers();
  // Past the cap, stuck reads would only pile up threads and descriptors
  // (a dead network mount hangs every file on it): the file is reported as
  // not read, the album goes to review, and reads resume once helpers return.
  if (const int stuck = g_abandoned_now.load(); stuck >= g_abandoned_max.load()) {
    return failure("not read: " + std::to_string(stuck) +
                   " earlier tag reads are still stuck (TAG_READER_ABANDONED_MAX)");
  }
  try {
    // One reader per calling thread, reused: starting a thread per file cost
    // more than the tag read itself.
    thread_local std::unique_ptr<ReaderThread> reader;
    if (!reader) reader = std::make_unique<ReaderThread>();
    std::optional<AudioReadResult> result = reader->read(path, time_bound);
    if (!result) {
      reader.reset();  // stuck: it was let go; the next read starts a fresh one
      return failure("timed out reading tags");
    }
    return std::move(*result);
  } catch (const std::exception& e) {
    // std::thread throws when the process is out of threads (for instance
    // after many abandoned reads on a dead network mount).
    return failure(std::string("unreadable audio (") + e.what() + ")");
  }
}

}  // namespace barbossa
