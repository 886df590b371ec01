#include "server/config/file_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/secret_data.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::wxcrypto::testing::StatusIs;

class FileSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/file_snapshot.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const char* name : {"a", "b", "link"}) {
      ::unlink((dir_ + "/" + name).c_str());
    }
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    return path;
  }

  std::string dir_;
};

TEST_F(FileSnapshotTest, ReadsContentsStampAndHash) {
  const std::string path = Write("a", "abc");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(snapshot, ReadFileSnapshot(path, 100));
  EXPECT_EQ(SecretDataAsStringView(snapshot.contents), "abc");
  EXPECT_EQ(snapshot.stamp.size, 3);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(stamp, StatFile(path));
  EXPECT_EQ(snapshot.stamp, stamp);
  // SHA-256("abc"), the FIPS 180-2 appendix B.1 example.
  EXPECT_EQ(absl::BytesToHexString(absl::string_view(
                reinterpret_cast<const char*>(snapshot.hash.data()),
                snapshot.hash.size())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(FileSnapshotTest, ReadsEmptyFile) {
  const std::string path = Write("a", "");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(snapshot, ReadFileSnapshot(path, 100));
  EXPECT_TRUE(snapshot.contents.empty());
}

TEST_F(FileSnapshotTest, ReadsFileOfExactlyMaxSize) {
  const std::string path = Write("a", std::string(100, 'x'));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(snapshot, ReadFileSnapshot(path, 100));
  EXPECT_EQ(snapshot.contents.size(), 100);
}

TEST_F(FileSnapshotTest, RejectsFileLargerThanMaxSize) {
  const std::string path = Write("a", std::string(101, 'x'));
  EXPECT_THAT(ReadFileSnapshot(path, 100),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(FileSnapshotTest, MissingFileIsNotFoundAndNamesPath) {
  const std::string path = dir_ + "/missing";
  absl::StatusOr<FileSnapshot> snapshot = ReadFileSnapshot(path, 100);
  EXPECT_THAT(snapshot, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(snapshot.status().message()), HasSubstr(path));
  EXPECT_THAT(StatFile(path), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FileSnapshotTest, RejectsDirectory) {
  const std::string path = dir_ + "/sub";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  EXPECT_THAT(ReadFileSnapshot(path, 100),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FileSnapshotTest, StatFollowsSymlinks) {
  const std::string target = Write("a", "abc");
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink("a", link.c_str()), 0);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(target_stamp, StatFile(target));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(link_stamp, StatFile(link));
  EXPECT_EQ(link_stamp, target_stamp);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(snapshot, ReadFileSnapshot(link, 100));
  EXPECT_EQ(SecretDataAsStringView(snapshot.contents), "abc");
}

TEST_F(FileSnapshotTest, StampChangesWhenFileIsReplaced) {
  const std::string path = Write("a", "abc");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(before, StatFile(path));
  const std::string replacement = Write("b", "abc");
  ASSERT_EQ(::rename(replacement.c_str(), path.c_str()), 0);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(after, StatFile(path));
  EXPECT_NE(after.inode, before.inode);
  EXPECT_NE(after, before);
}

TEST_F(FileSnapshotTest, StampChangesWhenSizeChanges) {
  const std::string path = Write("a", "abc");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(before, StatFile(path));
  Write("a", "abcd");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(after, StatFile(path));
  EXPECT_NE(after, before);
}

}  // namespace
}  // namespace wxcrypto
