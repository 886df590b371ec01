#include "server/config/file_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace wxcrypto {
namespace {

// Bytes read per read(2) call when the file grew after fstat(2).
constexpr std::size_t kReadChunkSize = 4096;

FileStamp StampOf(const struct stat& st) {
  FileStamp stamp;
  stamp.device = static_cast<std::uint64_t>(st.st_dev);
  stamp.inode = static_cast<std::uint64_t>(st.st_ino);
  stamp.size = static_cast<std::int64_t>(st.st_size);
  stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                   static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  return stamp;
}

absl::Status ErrnoError(int error_number, absl::string_view what,
                        const std::string& path) {
  return absl::ErrnoToStatus(error_number,
                             absl::StrCat(what, " \"", path, "\""));
}

}  // namespace

absl::StatusOr<FileStamp> StatFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError(errno, "cannot stat", path);
  }
  return StampOf(st);
}

absl::StatusOr<FileSnapshot> ReadFileSnapshot(const std::string& path,
                                              std::size_t max_size) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  absl::Cleanup closer = [fd] { ::close(fd); };

  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("\"", path, "\" is not a regular file"));
  }
  const auto too_large = [&path, max_size] {
    return absl::ResourceExhaustedError(
        absl::StrCat("\"", path, "\" is larger than ", max_size, " bytes"));
  };
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_size) {
    return too_large();
  }

  FileSnapshot snapshot;
  snapshot.stamp = StampOf(st);
  // One spare byte, so that a file that grew is noticed without a resize.
  snapshot.contents.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  while (true) {
    if (used == snapshot.contents.size()) {
      if (used > max_size) return too_large();
      // SecretData wipes the old buffer when it reallocates.
      snapshot.contents.resize(std::min(used + kReadChunkSize, max_size + 1));
    }
    const ssize_t n = ::read(fd, snapshot.contents.data() + used,
                             snapshot.contents.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot read", path);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_size) return too_large();
  snapshot.contents.resize(used);

  unsigned int hash_size = 0;
  if (EVP_Digest(snapshot.contents.data(), snapshot.contents.size(),
                 snapshot.hash.data(), &hash_size, EVP_sha256(),
                 nullptr) != 1 ||
      hash_size != snapshot.hash.size()) {
    return absl::InternalError("SHA-256 of the config file failed");
  }
  return snapshot;
}

}  // namespace wxcrypto
