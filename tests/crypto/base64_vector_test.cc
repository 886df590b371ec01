// Base64Decode decodes 16 characters at a time with SSSE3 on x86-64 CPUs
// that have it. This test checks it differentially against the portable
// one-group-at-a-time decoder: the same bytes on success, the same status
// on failure, for every byte value at every position of strings of every
// length around the 16-character steps, and for random strings.
#include <cstddef>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "server/crypto/base64.h"

namespace wxcrypto {
namespace {

void ExpectSameDecoding(absl::string_view encoded) {
  const absl::StatusOr<std::string> fast = Base64Decode(encoded);
  const absl::StatusOr<std::string> portable =
      internal::Base64DecodePortable(encoded);
  ASSERT_EQ(fast.ok(), portable.ok()) << encoded;
  if (fast.ok()) {
    ASSERT_EQ(*fast, *portable) << encoded;
  } else {
    ASSERT_EQ(fast.status(), portable.status()) << encoded;
  }
}

std::string RandomBytes(std::mt19937& random, std::size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() % 256);
  return bytes;
}

TEST(Base64VectorTest, EveryByteAtEveryPositionDecodesAsThePortableDecoder) {
  std::mt19937 random(16);
  std::size_t accepted = 0;
  // Lengths 4..96 cover zero to five 16-character steps plus the tail.
  for (std::size_t bytes = 1; bytes <= 72; ++bytes) {
    const std::string valid = Base64Encode(RandomBytes(random, bytes));
    for (std::size_t at = 0; at < valid.size(); ++at) {
      for (int value = 0; value < 256; ++value) {
        std::string encoded = valid;
        encoded[at] = static_cast<char>(value);
        ExpectSameDecoding(encoded);
        if (::testing::Test::HasFatalFailure()) return;
        if (Base64Decode(encoded).ok()) ++accepted;
      }
    }
  }
  // Every alphabet character was accepted at most positions.
  EXPECT_GT(accepted, 100000u);
}

TEST(Base64VectorTest, RandomStringsDecodeAsThePortableDecoder) {
  std::mt19937 random(64);
  for (int round = 0; round < 20000; ++round) {
    std::string encoded = Base64Encode(RandomBytes(random, random() % 300));
    switch (round % 4) {
      case 0:
        break;
      case 1:  // A random byte anywhere.
        if (!encoded.empty()) {
          encoded[random() % encoded.size()] =
              static_cast<char>(random() % 256);
        }
        break;
      case 2:  // Random length: mostly not a multiple of 4.
        encoded.resize(random() % (encoded.size() + 1));
        break;
      default:  // Random bytes.
        encoded = RandomBytes(random, 4 * (random() % 40));
        break;
    }
    ExpectSameDecoding(encoded);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace wxcrypto
