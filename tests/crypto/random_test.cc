// RandomBytes and RandomNonce (server/crypto/random.h). Small requests come
// from a per-thread pool of CSPRNG output: these tests check that no byte is
// handed out twice — across calls, threads and a fork — besides sizes.
#include "server/crypto/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

TEST(RandomTest, RandomBytesReturnsTheRequestedSize) {
  for (std::size_t size :
       {0u, 1u, 15u, 16u, 64u, 65u, 511u, 512u, 513u, 4096u}) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(bytes, RandomBytes(size));
    EXPECT_EQ(bytes.size(), size);
  }
}

// 16-byte values repeat with probability about n^2 / 2^129: never, unless
// the pool hands out the same bytes twice.
TEST(RandomTest, SuccessivePrefixesNeverRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(prefix, RandomBytes(16));
    EXPECT_TRUE(seen.insert(prefix).second) << "repeated after " << i;
  }
}

TEST(RandomTest, ThreadsNeverShareBytes) {
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& mine : drawn) {
    threads.emplace_back([&mine] {
      for (int i = 0; i < 1000; ++i) mine.push_back(*RandomBytes(16));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> seen;
  for (const auto& mine : drawn) {
    for (const std::string& prefix : mine)
      EXPECT_TRUE(seen.insert(prefix).second);
  }
}

// A forked child must not hand out what its parent's pool still holds.
TEST(RandomTest, ForkedChildDoesNotRepeatItsParentsBytes) {
  // Fill this thread's pool, so that the child inherits a non-empty one.
  ASSERT_TRUE(RandomBytes(16).ok());
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    std::string bytes;
    for (int i = 0; i < 4; ++i) bytes += RandomBytes(16).value_or("");
    const bool written = write(pipe_fds[1], bytes.data(), bytes.size()) ==
                         static_cast<ssize_t>(bytes.size());
    _exit(written && bytes.size() == 64 ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string from_child(64, '\0');
  std::size_t got = 0;
  while (got < from_child.size()) {
    const ssize_t n =
        read(pipe_fds[0], from_child.data() + got, from_child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, from_child.size());
  std::string from_parent;
  for (int i = 0; i < 4; ++i) from_parent += *RandomBytes(16);
  for (std::size_t i = 0; i < 64; i += 16) {
    for (std::size_t j = 0; j < 64; j += 16) {
      EXPECT_NE(from_child.substr(i, 16), from_parent.substr(j, 16));
    }
  }
}

TEST(RandomTest, RandomNonceIsDecimalDigits) {
  for (std::size_t size : {1u, 10u, 32u, 100u}) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(nonce, RandomNonce(size));
    ASSERT_EQ(nonce.size(), size);
    for (char c : nonce) EXPECT_TRUE(c >= '0' && c <= '9') << nonce;
  }
}

}  // namespace
}  // namespace wxcrypto
