#include "server/crypto/base64.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::StatusIs;

// RFC 4648 section 10 test vectors.
TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_EQ(*Base64Decode("Zg=="), "f");
  EXPECT_EQ(*Base64Decode("Zm8="), "fo");
  EXPECT_EQ(*Base64Decode("Zm9v"), "foo");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(*Base64Decode("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, RoundTripsRandomBytesOfEveryLengthUpTo300) {
  std::mt19937 rng(42);
  for (std::size_t size = 0; size < 300; ++size) {
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    absl::StatusOr<std::string> decoded = Base64Decode(Base64Encode(data));
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Base64Test, UsesTheStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(*Base64Decode("+/8="), "\xfb\xff");
}

TEST(Base64Test, RejectsLengthNotMultipleOfFour) {
  EXPECT_THAT(Base64Decode("Zm9"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9vY"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Base64Test, RejectsUrlSafeAlphabet) {
  EXPECT_FALSE(Base64Decode("-_8=").ok());
}

TEST(Base64Test, RejectsWhitespaceAndNul) {
  EXPECT_FALSE(Base64Decode("Zm9v\nYmFy").ok());
  EXPECT_FALSE(Base64Decode("Zm9v YmF").ok());
  EXPECT_FALSE(Base64Decode(std::string("Zm9\0", 4)).ok());
}

TEST(Base64Test, RejectsPaddingInTheMiddle) {
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").ok());
  EXPECT_FALSE(Base64Decode("Z=9v").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
}

TEST(Base64Test, RejectsThreePaddingCharacters) {
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("====").ok());
}

TEST(Base64Test, IgnoresUnusedLowBitsOfTheLastSymbol) {
  // "Zh==" has non-zero unused bits; like mainstream decoders it yields "f".
  EXPECT_EQ(*Base64Decode("Zh=="), "f");
}

TEST(Base64Test, RejectsNonAsciiBytes) {
  EXPECT_FALSE(Base64Decode("Zm9\xff").ok());
  EXPECT_FALSE(Base64Decode("\xe4\xb8\xad=").ok());
}

TEST(Base64Test, EveryByteValueInTheLastTwoGroupsDecodesAsTheAlphabetSays) {
  // The last two groups of four are decoded one character at a time (with
  // masks, not a table) on every CPU; the SSSE3 decoder, which covers the
  // groups before them, is compared with that one in base64_vector_test.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t at = 0; at < 8; ++at) {
    for (int value = 0; value < 256; ++value) {
      // '=' as padding: the RFC 4648 vectors above.
      if (value == '=' && at >= 6) continue;
      std::string encoded = "Zm9vYmFy";
      encoded[at] = static_cast<char>(value);
      const std::size_t index = alphabet.find(static_cast<char>(value));
      const absl::StatusOr<std::string> decoded = Base64Decode(encoded);
      ASSERT_EQ(decoded.ok(), index != std::string::npos) << at << " " << value;
      if (!decoded.ok()) continue;
      // The reference: the six bits of each character, in order.
      std::string expected;
      std::uint32_t bits = 0;
      int count = 0;
      for (char c : encoded) {
        bits = (bits << 6) | static_cast<std::uint32_t>(alphabet.find(c));
        count += 6;
        if (count >= 8) {
          count -= 8;
          expected.push_back(static_cast<char>(bits >> count));
        }
      }
      EXPECT_EQ(*decoded, expected) << at << " " << value;
    }
  }
}

TEST(Base64Test, DecodesSecretsIntoWipedContainer) {
  absl::StatusOr<SecretData> secret = Base64DecodeSecret("Zm9vYmFy");
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(SecretDataAsStringView(*secret), "foobar");
  EXPECT_FALSE(Base64DecodeSecret("Zm9vYmF!").ok());
}

}  // namespace
}  // namespace wxcrypto
