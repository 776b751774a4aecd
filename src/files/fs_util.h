// Small filesystem helpers with the durability the library needs.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace barbossa {

// Writes the file under a temporary name, fsyncs it, renames it into place
// and fsyncs the directory: readers see the old content or the new, never half.
// mode: of the new file (less the umask); 0600 for secrets.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644);

std::string read_file(const std::filesystem::path& path);

void fsync_path(const std::filesystem::path& path);  // a file or a directory

// Moves a file: rename when on one filesystem; otherwise copy to a temporary
// name beside the target, fsync, verify the SHA-256 against the source, rename
// into place, then remove the source. Creates the target's parent folders.
// Refuses (throws) when the target already exists. Regular files and symlinks
// only (a symlink is moved as a link, never followed).
// sync_dirs = false skips the fsync of both folders after a rename, for a
// caller that moves many files and fsyncs each folder once at the end (an
// fsync of a folder costs about a millisecond here; per file it dominated
// the import).
void move_file(const std::filesystem::path& from, const std::filesystem::path& to,
               bool sync_dirs = true);

// Copies like move_file but keeps the source.
void copy_file_durable(const std::filesystem::path& from, const std::filesystem::path& to);

// True when `path`, after resolving symlinks in its existing prefix, lies
// inside `root` (or is root).
bool is_within(const std::filesystem::path& root, const std::filesystem::path& path);

// The same without touching the disk (no symlink resolution): for paths this
// process built itself from checked parts, where is_within's lookups of every
// path component would cost more than the work they guard.
bool is_lexically_within(const std::filesystem::path& root, const std::filesystem::path& path);

// Removes `dir` and its parents while they are empty, stopping at `stop_at`
// (which is never removed).
void prune_empty_dirs(std::filesystem::path dir, const std::filesystem::path& stop_at);

// Removes `dir` and every folder below it when none of them holds anything
// but folders (an album folder left with an empty Scans/ after its files
// moved out); returns whether it did. Anything else inside keeps the whole
// tree. Symlinks are not followed.
bool remove_empty_tree(const std::filesystem::path& dir);

// `base/name`, or `base/name (2)`, `base/name (3)`... the first that does not exist.
// A name that would grow past 255 bytes with the suffix is shortened (on a
// UTF-8 character boundary). Throws std::invalid_argument for names that are
// empty, "." or "..", or contain '/' or NUL.
std::filesystem::path unique_child(const std::filesystem::path& base, const std::string& name);

// The temporary name beside `target` that move_file / copy_file_durable copy
// into before renaming into place: deterministic, so that recovery after a
// crash can find and delete a half-copied file.
std::filesystem::path temp_path_for(const std::filesystem::path& target);

// A path in JSON that must find the file again (move journals, job payloads):
// a string when it is valid UTF-8, else {"hex": "..."} of its bytes. nlohmann
// refuses to dump invalid UTF-8, and a replaced character would name another
// file. path_from_json throws std::runtime_error for anything else.
nlohmann::json path_to_json(const std::filesystem::path& path);
std::filesystem::path path_from_json(const nlohmann::json& value);

// A path (or file name) for people: events, replies, reasons, activity. Names
// from older systems (Latin-1 folder names) read right (utf8_from_legacy);
// the file on disk keeps its bytes, so never open what this returns.
std::string display_path(const std::filesystem::path& path);

}  // namespace barbossa
