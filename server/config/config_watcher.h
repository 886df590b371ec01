// Reloads the config file when it changes.
//
// The watcher polls: every poll_interval it stat()s the path, following
// symlinks, and compares device, inode, size and mtime with the file it last
// read. That catches an in-place rewrite, a rename(2) of a new file over the
// old one, and Kubernetes' update of a mounted Secret or ConfigMap, where
//
//   <dir>/config.json -> ..data/config.json
//   <dir>/..data      -> ..2026_11_21_05_44_12.123456789
//
// and an update writes a new timestamped directory, then renames a new
// `..data` symlink over the old one (inotify on the path sees none of this).
// When the stamp differs, or the file was modified so recently that an
// equal stamp proves nothing (mtime granularity), the watcher reads the file
// and compares a SHA-256 of its contents; only new contents are parsed. A
// valid file becomes the store's config (generation + 1); an invalid,
// missing or unreadable one is reported and the old config keeps serving.
#ifndef WXCRYPTO_SERVER_CONFIG_CONFIG_WATCHER_H_
#define WXCRYPTO_SERVER_CONFIG_CONFIG_WATCHER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/config/config_store.h"
#include "server/config/file_snapshot.h"

namespace wxcrypto {

struct ConfigWatcherOptions {
  // Time between two checks of the file; clamped to [1 ms, 24 h].
  absl::Duration poll_interval = absl::Seconds(1);
  // Called on the watcher thread after every reload attempt: OK when a new
  // config went live, else why the file was rejected (the message names the
  // path and the app and field, never a secret; it is safe to log). Not
  // called for the initial load, nor when the file is unchanged; a file that
  // stays broken is reported once, not at every poll. Must not block for
  // long, nor stop or destroy the watcher. May be empty.
  std::function<void(const absl::Status& result)> on_reload;
};

// Loads a config file into a ConfigStore and keeps it current. Thread-safe.
class ConfigWatcher {
 public:
  // Loads `path` into `store` and starts the watcher thread. Fails, without
  // starting, if the initial load fails. `store` must outlive the watcher.
  static absl::StatusOr<std::unique_ptr<ConfigWatcher>> Start(
      std::string path, ConfigStore* store, ConfigWatcherOptions options);

  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // Stops the watcher thread.
  ~ConfigWatcher();

  // Wakes the watcher thread and waits for it to exit; an attempt in
  // progress finishes first. Idempotent; must not be called from on_reload.
  void Stop();

  const std::string& path() const { return path_; }

 private:
  ConfigWatcher(std::string path, ConfigStore* store,
                ConfigWatcherOptions options, const FileSnapshot& initial,
                std::int64_t read_time_ns);

  // The watcher thread's loop.
  void Run();
  // Checks the file once and reloads it if it changed.
  void Poll();
  // Reads the file and makes it current if its contents are new.
  void Reload();
  // Reports a failure to stat or read the file, unless it was just reported.
  void ReportRetryFailure(const absl::Status& status);
  void Report(const absl::Status& result);

  const std::string path_;
  ConfigStore* const store_;
  const ConfigWatcherOptions options_;

  // State below is used only by the watcher thread (after construction).
  // Stamp of the last file read.
  FileStamp stamp_;
  // Hash of the last contents read, valid or not.
  ContentHash seen_hash_;
  // When the last read started, Unix nanoseconds.
  std::int64_t read_time_ns_;
  // The file could not be stat()ed or read at the last poll: retry at every
  // poll, whatever the stamp.
  bool retry_ = false;
  // The failure reported for a retried file, so that it is reported once.
  std::optional<absl::Status> retry_error_;

  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through
  // pthread-based locks, not through Debian's uninstrumented Abseil.
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::once_flag join_once_;
  std::thread thread_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CONFIG_CONFIG_WATCHER_H_
