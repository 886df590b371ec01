#include "server/config/config_watcher.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/config/config.h"
#include "server/config/file_snapshot.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {
namespace {

// A file modified less than this long before it was read may change again
// without changing its stamp: mtime only has the file system's granularity
// (a kernel tick on Linux, up to 2 s on some file systems). Such a file is
// re-read (and its hash compared) until it is older than this.
constexpr absl::Duration kRacyWindow = absl::Seconds(2);

// Bounds on the poll interval: a busy loop helps nobody, and a longer wait
// would overflow std::condition_variable's deadline arithmetic.
constexpr absl::Duration kMinPollInterval = absl::Milliseconds(1);
constexpr absl::Duration kMaxPollInterval = absl::Hours(24);

// Prefixes a config error with the path, keeping its payloads.
absl::Status InFile(const std::string& path, const absl::Status& status) {
  absl::Status out(status.code(), absl::StrCat("config file \"", path,
                                               "\": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        out.SetPayload(type_url, payload);
      });
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConfigWatcher>> ConfigWatcher::Start(
    std::string path, ConfigStore* store, ConfigWatcherOptions options) {
  const std::int64_t read_time_ns = absl::ToUnixNanos(absl::Now());
  absl::StatusOr<FileSnapshot> snapshot =
      ReadFileSnapshot(path, kMaxConfigFileSize);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(SecretDataAsStringView(snapshot->contents));
  if (!config.ok()) return InFile(path, config.status());
  store->Set(*std::move(config));
  // The constructor is private: no std::make_unique.
  return std::unique_ptr<ConfigWatcher>(new ConfigWatcher(
      std::move(path), store, std::move(options), *snapshot, read_time_ns));
}

ConfigWatcher::ConfigWatcher(std::string path, ConfigStore* store,
                             ConfigWatcherOptions options,
                             const FileSnapshot& initial,
                             std::int64_t read_time_ns)
    : path_(std::move(path)),
      store_(store),
      options_(std::move(options)),
      stamp_(initial.stamp),
      seen_hash_(initial.hash),
      read_time_ns_(read_time_ns) {
  thread_ = std::thread([this] { Run(); });
}

ConfigWatcher::~ConfigWatcher() { Stop(); }

void ConfigWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  std::call_once(join_once_, [this] { thread_.join(); });
}

void ConfigWatcher::Run() {
  const auto interval = absl::ToChronoNanoseconds(
      std::clamp(options_.poll_interval, kMinPollInterval, kMaxPollInterval));
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wake_.wait_for(lock, interval, [this] { return stop_; })) return;
    }
    Poll();
  }
}

void ConfigWatcher::Poll() {
  absl::StatusOr<FileStamp> stamp = StatFile(path_);
  if (!stamp.ok()) {
    ReportRetryFailure(stamp.status());
    return;
  }
  const bool racy =
      stamp_.mtime_ns >= read_time_ns_ - absl::ToInt64Nanoseconds(kRacyWindow);
  if (!retry_ && *stamp == stamp_ && !racy) return;
  Reload();
}

void ConfigWatcher::Reload() {
  const std::int64_t read_time_ns = absl::ToUnixNanos(absl::Now());
  absl::StatusOr<FileSnapshot> snapshot =
      ReadFileSnapshot(path_, kMaxConfigFileSize);
  if (!snapshot.ok()) {
    ReportRetryFailure(snapshot.status());
    return;
  }
  // Contents read before are not parsed again (a broken file stays
  // reported once), unless the file was missing or unreadable in between:
  // then even the same contents deserve an attempt, whose report tells that
  // the file is back.
  const bool recovering = retry_;
  retry_ = false;
  retry_error_.reset();
  stamp_ = snapshot->stamp;
  read_time_ns_ = read_time_ns;
  if (snapshot->hash == seen_hash_ && !recovering) return;
  seen_hash_ = snapshot->hash;

  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(SecretDataAsStringView(snapshot->contents));
  if (!config.ok()) {
    Report(InFile(path_, config.status()));
    return;
  }
  store_->Set(*std::move(config));
  Report(absl::OkStatus());
}

void ConfigWatcher::ReportRetryFailure(const absl::Status& status) {
  retry_ = true;
  if (retry_error_.has_value() && *retry_error_ == status) return;
  retry_error_ = status;
  Report(status);
}

void ConfigWatcher::Report(const absl::Status& result) {
  if (options_.on_reload) options_.on_reload(result);
}

}  // namespace wxcrypto
