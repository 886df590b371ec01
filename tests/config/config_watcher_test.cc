#include "server/config/config_watcher.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/config/config_store.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::IsNull;
using ::testing::Not;
using ::testing::NotNull;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::StatusIs;

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);
// How long a test waits for something that should happen within a few
// polls. Generous, for loaded CI machines; a passing test never waits this
// long.
constexpr absl::Duration kDeadline = absl::Seconds(10);

// A secret that must never show up in a report.
constexpr absl::string_view kToken = "WatcherTok3n";

// A valid config serving one app. `app_id`s of the same length give files
// of the same size.
std::string ConfigFor(absl::string_view app_id) {
  return absl::StrCat(R"({"apps": [{"app_id": ")", app_id, R"(", "token": ")",
                      kToken,
                      R"(", "encoding_aes_key": ")"
                      R"(abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}]})");
}

// Returns true once `done` holds, false if it still does not at the
// deadline.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kDeadline;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// Replaces `path` atomically (write a temporary file, rename it over), as
// careful tools do: the watcher never sees a half-written file.
void ReplaceFile(const std::string& path, absl::string_view contents) {
  const std::string staged = path + ".tmp";
  WriteFile(staged, contents);
  ASSERT_EQ(::rename(staged.c_str(), path.c_str()), 0) << path;
}

// Collects what the watcher reports.
class Reports {
 public:
  std::function<void(const absl::Status&)> Callback() {
    return [this](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(status);
    };
  }
  std::vector<absl::Status> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  std::size_t size() { return Get().size(); }

 private:
  // Not absl::Mutex, which ThreadSanitizer cannot see into.
  std::mutex mu_;
  std::vector<absl::Status> results_;
};

class ConfigWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/config_watcher.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/config.json";
  }
  void TearDown() override {
    watcher_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Starts a watcher of path_ polling every kPollInterval.
  void StartWatcher() {
    ConfigWatcherOptions options;
    options.poll_interval = kPollInterval;
    options.on_reload = reports_.Callback();
    absl::StatusOr<std::unique_ptr<ConfigWatcher>> watcher =
        ConfigWatcher::Start(path_, &store_, std::move(options));
    ASSERT_THAT(watcher, IsOk());
    watcher_ = *std::move(watcher);
  }

  const App* FindApp(absl::string_view app_id) {
    current_ = store_.Get();
    return current_ == nullptr ? nullptr : current_->FindApp(app_id);
  }

  std::string dir_;
  std::string path_;
  ConfigStore store_;
  Reports reports_;
  std::shared_ptr<const Config> current_;
  std::unique_ptr<ConfigWatcher> watcher_;
};

TEST_F(ConfigWatcherTest, StartLoadsTheFile) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  EXPECT_EQ(store_.generation(), 1);
  EXPECT_THAT(FindApp("wxone"), NotNull());
  EXPECT_EQ(reports_.size(), 0);
}

TEST_F(ConfigWatcherTest, StartFailsOnInvalidFile) {
  WriteFile(path_, R"({"apps": []})");
  absl::StatusOr<std::unique_ptr<ConfigWatcher>> watcher =
      ConfigWatcher::Start(path_, &store_, ConfigWatcherOptions());
  EXPECT_THAT(watcher, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(watcher.status().message()), HasSubstr(path_));
  EXPECT_THAT(store_.Get(), IsNull());
}

TEST_F(ConfigWatcherTest, StartFailsOnMissingFile) {
  EXPECT_THAT(ConfigWatcher::Start(path_, &store_, ConfigWatcherOptions()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_.generation(), 0);
}

// An in-place rewrite (truncate, then write) may be seen half done; that
// attempt fails and the complete file is picked up at a later poll.
TEST_F(ConfigWatcherTest, PicksUpFileRewrittenInPlace) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  WriteFile(path_, ConfigFor("wxsecond"));
  ASSERT_TRUE(WaitFor([&] { return FindApp("wxsecond") != nullptr; }));
  EXPECT_THAT(FindApp("wxone"), IsNull());
  const std::vector<absl::Status> reports = reports_.Get();
  ASSERT_FALSE(reports.empty());
  EXPECT_THAT(reports.back(), IsOk());
}

TEST_F(ConfigWatcherTest, PicksUpFileReplacedByRename) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  ReplaceFile(path_, ConfigFor("wxtwo"));
  ASSERT_TRUE(WaitFor([&] { return store_.generation() == 2; }));
  EXPECT_THAT(FindApp("wxtwo"), NotNull());
  const std::vector<absl::Status> reports = reports_.Get();
  ASSERT_EQ(reports.size(), 1);
  EXPECT_THAT(reports[0], IsOk());
}

// A rewrite within one mtime tick that keeps size and inode leaves the
// stamp unchanged; only the content hash of a recently modified file
// reveals it. Restoring the old mtime simulates the same tick.
TEST_F(ConfigWatcherTest, PicksUpSameSizeRewriteWithUnchangedMtime) {
  WriteFile(path_, ConfigFor("wxone"));
  struct stat before;
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  StartWatcher();

  WriteFile(path_, ConfigFor("wxtwo"));
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  struct stat after;
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);
  ASSERT_EQ(after.st_size, before.st_size);

  ASSERT_TRUE(WaitFor([&] { return FindApp("wxtwo") != nullptr; }));
}

TEST_F(ConfigWatcherTest, KeepsOldConfigWhenRewriteIsInvalid) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  // Invalid: the token is too short. The error must not quote it.
  ReplaceFile(path_, R"({"apps": [{"app_id": "wxone", "token": "Zq"}]})");
  ASSERT_TRUE(WaitFor([&] { return reports_.size() == 1; }));

  const absl::Status failure = reports_.Get()[0];
  EXPECT_THAT(failure, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(failure.message()), HasSubstr(path_));
  EXPECT_THAT(std::string(failure.message()), HasSubstr("token"));
  EXPECT_THAT(std::string(failure.message()), Not(HasSubstr("\"Zq\"")));
  EXPECT_EQ(store_.generation(), 1);
  EXPECT_THAT(FindApp("wxone"), NotNull());
  // The broken file is reported once, not at every poll (the file is
  // re-read at every poll for a while, being freshly modified).
  absl::SleepFor(kPollInterval * 10);
  EXPECT_EQ(reports_.size(), 1);

  // Fixing the file brings the new config in.
  ReplaceFile(path_, ConfigFor("wxfixed"));
  ASSERT_TRUE(WaitFor([&] { return store_.generation() == 2; }));
  EXPECT_THAT(FindApp("wxfixed"), NotNull());
  const std::vector<absl::Status> reports = reports_.Get();
  ASSERT_EQ(reports.size(), 2);
  EXPECT_THAT(reports[1], IsOk());
}

TEST_F(ConfigWatcherTest, ReportsMissingFileOnceAndRecovers) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return reports_.size() == 1; }));
  EXPECT_THAT(reports_.Get()[0], StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(FindApp("wxone"), NotNull());

  // Many polls later the failure is still reported only once.
  absl::SleepFor(kPollInterval * 10);
  EXPECT_EQ(reports_.size(), 1);

  // The same contents coming back are reloaded and reported as a success.
  ReplaceFile(path_, ConfigFor("wxone"));
  ASSERT_TRUE(WaitFor([&] { return reports_.size() == 2; }));
  EXPECT_THAT(reports_.Get()[1], IsOk());
  EXPECT_EQ(store_.generation(), 2);
  EXPECT_THAT(FindApp("wxone"), NotNull());
}

TEST_F(ConfigWatcherTest, IgnoresReplacementWithSameContents) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  ReplaceFile(path_, ConfigFor("wxone"));
  // Give the watcher several polls to (not) react, then change the file
  // for real: exactly one reload must follow.
  absl::SleepFor(kPollInterval * 10);
  ReplaceFile(path_, ConfigFor("wxtwo"));
  ASSERT_TRUE(WaitFor([&] { return reports_.size() >= 1; }));
  EXPECT_EQ(store_.generation(), 2);
  EXPECT_THAT(FindApp("wxtwo"), NotNull());
  const std::vector<absl::Status> reports = reports_.Get();
  ASSERT_EQ(reports.size(), 1);
  EXPECT_THAT(reports[0], IsOk());
}

// The layout kubelet's atomic writer gives a mounted Secret:
//   <dir>/config.json -> ..data/config.json
//   <dir>/..data      -> ..<timestamp>
// An update writes a new ..<timestamp> directory, points a temporary
// symlink at it, renames that over ..data and deletes the old directory.
TEST_F(ConfigWatcherTest, PicksUpKubernetesSecretSymlinkSwap) {
  const std::string old_dir = "..2026_11_21_05_44_12.000000001";
  const std::string new_dir = "..2026_11_21_06_00_00.000000002";
  ASSERT_EQ(::mkdir((dir_ + "/" + old_dir).c_str(), 0700), 0);
  WriteFile(dir_ + "/" + old_dir + "/config.json", ConfigFor("wxone"));
  ASSERT_EQ(::symlink(old_dir.c_str(), (dir_ + "/..data").c_str()), 0);
  ASSERT_EQ(::symlink("..data/config.json", path_.c_str()), 0);
  StartWatcher();
  EXPECT_THAT(FindApp("wxone"), NotNull());

  ASSERT_EQ(::mkdir((dir_ + "/" + new_dir).c_str(), 0700), 0);
  WriteFile(dir_ + "/" + new_dir + "/config.json", ConfigFor("wxtwo"));
  ASSERT_EQ(::symlink(new_dir.c_str(), (dir_ + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(
      ::rename((dir_ + "/..data_tmp").c_str(), (dir_ + "/..data").c_str()), 0);
  std::filesystem::remove_all(dir_ + "/" + old_dir);

  ASSERT_TRUE(WaitFor([&] { return store_.generation() == 2; }));
  EXPECT_THAT(FindApp("wxtwo"), NotNull());
  EXPECT_THAT(FindApp("wxone"), IsNull());
  const std::vector<absl::Status> reports = reports_.Get();
  ASSERT_EQ(reports.size(), 1);
  EXPECT_THAT(reports[0], IsOk());
}

TEST_F(ConfigWatcherTest, ReportsNoSecretWhenSyntaxErrorIsNextToToken) {
  WriteFile(path_, ConfigFor("wxone"));
  StartWatcher();
  ReplaceFile(path_, absl::StrCat(R"({"apps": [{"token": ")", kToken,
                                  R"(" "app_id": "wxone"}]})"));
  ASSERT_TRUE(WaitFor([&] { return reports_.size() == 1; }));
  const absl::Status failure = reports_.Get()[0];
  EXPECT_THAT(failure, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(failure.message()), Not(HasSubstr(kToken)));
}

TEST_F(ConfigWatcherTest, StopsPromptlyWhilePollIntervalIsLong) {
  WriteFile(path_, ConfigFor("wxone"));
  ConfigWatcherOptions options;
  options.poll_interval = absl::Hours(1);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      watcher, ConfigWatcher::Start(path_, &store_, std::move(options)));
  const absl::Time start = absl::Now();
  watcher->Stop();
  watcher->Stop();  // Idempotent.
  watcher.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace wxcrypto
