// Reading a file that holds secrets, and telling whether it may have changed.
//
// A FileStamp is what stat(2) reports for a path, through symlinks: device,
// inode, size and modification time. Editing a file in place changes its
// size or mtime; replacing it (rename(2) of a new file, or Kubernetes'
// atomic swap of the `..data` symlink of a mounted Secret or ConfigMap)
// changes the inode. Equal stamps do not prove equal contents: mtime has the
// file system's granularity (a kernel tick on Linux), so a same-size rewrite
// within one tick keeps the stamp; callers compare content hashes too.
#ifndef WXCRYPTO_SERVER_CONFIG_FILE_SNAPSHOT_H_
#define WXCRYPTO_SERVER_CONFIG_FILE_SNAPSHOT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {

// What stat(2) says about a file, enough to notice that it changed.
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  // Modification time, nanoseconds since the Unix epoch.
  std::int64_t mtime_ns = 0;

  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    return a.device == b.device && a.inode == b.inode && a.size == b.size &&
           a.mtime_ns == b.mtime_ns;
  }
  friend bool operator!=(const FileStamp& a, const FileStamp& b) {
    return !(a == b);
  }
};

// Length of a FileSnapshot's content hash (SHA-256).
inline constexpr std::size_t kContentHashSize = 32;
using ContentHash = std::array<std::uint8_t, kContentHashSize>;

// A file's contents, read in one go, with the stamp of the file read.
struct FileSnapshot {
  // The bytes, wiped when released.
  SecretData contents;
  // fstat(2) of the opened file: the stamp of exactly these bytes.
  FileStamp stamp;
  // SHA-256 of `contents`, to compare versions without keeping a copy.
  ContentHash hash{};
};

// Returns the stamp of `path`, following symlinks. Errors carry errno's
// canonical code (NotFound, PermissionDenied, ...) and name the path.
absl::StatusOr<FileStamp> StatFile(const std::string& path);

// Reads the regular file at `path` (following symlinks) into wiping memory,
// without any intermediate buffer. Fails with errno's canonical code if it
// cannot be opened or read, FailedPrecondition if it is not a regular file,
// and ResourceExhausted if it holds more than `max_size` bytes.
absl::StatusOr<FileSnapshot> ReadFileSnapshot(const std::string& path,
                                              std::size_t max_size);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CONFIG_FILE_SNAPSHOT_H_
