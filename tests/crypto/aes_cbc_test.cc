#include "server/crypto/aes_cbc.h"

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;

// One case of Wycheproof's aes_cbc_pkcs5_test.json (v0.9, 216 cases).
struct WycheproofCase {
  int tc_id;
  std::string comment;
  std::string key;
  std::string iv;
  std::string msg;
  std::string ct;
  bool valid;
};

// Keeps test names and failure output short.
void PrintTo(const WycheproofCase& c, std::ostream* os) {
  *os << "tcId " << c.tc_id << " (" << c.comment << ")";
}

std::vector<WycheproofCase> LoadWycheproofCases() {
  rapidjson::Document doc = ReadTestJson("wycheproof/aes_cbc_pkcs5_test.json");
  std::vector<WycheproofCase> cases;
  for (const auto& group : doc["testGroups"].GetArray()) {
    for (const auto& test : group["tests"].GetArray()) {
      const std::string result = test["result"].GetString();
      cases.push_back(WycheproofCase{
          /*tc_id=*/test["tcId"].GetInt(),
          /*comment=*/test["comment"].GetString(),
          /*key=*/absl::HexStringToBytes(test["key"].GetString()),
          /*iv=*/absl::HexStringToBytes(test["iv"].GetString()),
          /*msg=*/absl::HexStringToBytes(test["msg"].GetString()),
          /*ct=*/absl::HexStringToBytes(test["ct"].GetString()),
          /*valid=*/result == "valid" || result == "acceptable",
      });
    }
  }
  return cases;
}

TEST(AesCbcWycheproofTest, FileHasAll216Cases) {
  const std::vector<WycheproofCase> cases = LoadWycheproofCases();
  EXPECT_EQ(cases.size(), 216u);
  std::size_t invalid = 0;
  for (const WycheproofCase& c : cases) invalid += c.valid ? 0 : 1;
  // Wycheproof v0.9 marks the bad-padding and empty-ciphertext cases invalid.
  EXPECT_GT(invalid, 0u);
}

class AesCbcWycheproofTest : public ::testing::TestWithParam<WycheproofCase> {};

TEST_P(AesCbcWycheproofTest, DecryptAcceptsValidAndRejectsInvalid) {
  const WycheproofCase& c = GetParam();
  absl::StatusOr<std::string> plaintext = AesCbcPkcs7Decrypt(c.key, c.iv, c.ct);
  if (c.valid) {
    ASSERT_THAT(plaintext, IsOk()) << c.comment;
    EXPECT_EQ(*plaintext, c.msg);
  } else {
    EXPECT_FALSE(plaintext.ok()) << c.comment;
  }
}

std::vector<WycheproofCase> LoadValidWycheproofCases() {
  std::vector<WycheproofCase> valid;
  for (WycheproofCase& c : LoadWycheproofCases()) {
    if (c.valid) valid.push_back(std::move(c));
  }
  return valid;
}

class AesCbcWycheproofValidTest
    : public ::testing::TestWithParam<WycheproofCase> {};

TEST_P(AesCbcWycheproofValidTest, EncryptReproducesCiphertext) {
  const WycheproofCase& c = GetParam();
  absl::StatusOr<std::string> ciphertext =
      AesCbcPkcs7Encrypt(c.key, c.iv, c.msg);
  ASSERT_THAT(ciphertext, IsOk());
  EXPECT_EQ(*ciphertext, c.ct);
}

std::string CaseName(
    const ::testing::TestParamInfo<WycheproofCase>& param_info) {
  return "tc" + std::to_string(param_info.param.tc_id);
}

INSTANTIATE_TEST_SUITE_P(Wycheproof, AesCbcWycheproofTest,
                         ::testing::ValuesIn(LoadWycheproofCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(Wycheproof, AesCbcWycheproofValidTest,
                         ::testing::ValuesIn(LoadValidWycheproofCases()),
                         CaseName);

TEST(AesCbcTest, RejectsKeyOfWrongSize) {
  std::string out;
  EXPECT_FALSE(AesCbcEncryptNoPadding(std::string(15, 'k'),
                                      std::string(16, 'i'),
                                      std::string(16, 'd'), out)
                   .ok());
  EXPECT_FALSE(AesCbcEncryptNoPadding(std::string(33, 'k'),
                                      std::string(16, 'i'),
                                      std::string(16, 'd'), out)
                   .ok());
}

TEST(AesCbcTest, RejectsIvOfWrongSize) {
  std::string out;
  EXPECT_FALSE(AesCbcDecryptNoPadding(std::string(32, 'k'),
                                      std::string(15, 'i'),
                                      std::string(16, 'd'), out)
                   .ok());
}

TEST(AesCbcTest, RejectsInputThatIsNotBlockAligned) {
  std::string out;
  EXPECT_FALSE(AesCbcDecryptNoPadding(std::string(32, 'k'),
                                      std::string(16, 'i'),
                                      std::string(17, 'd'), out)
                   .ok());
}

TEST(AesCbcTest, RejectsEmptyCiphertext) {
  std::string out;
  EXPECT_FALSE(AesCbcDecryptNoPadding(std::string(32, 'k'),
                                      std::string(16, 'i'), "", out)
                   .ok());
}

TEST(AesCbcTest, CountsOperations) {
  const std::uint64_t before = AesCbcOperationCount();
  std::string out;
  ASSERT_THAT(AesCbcEncryptNoPadding(std::string(32, 'k'), std::string(16, 'i'),
                                     std::string(32, 'd'), out),
              IsOk());
  EXPECT_EQ(AesCbcOperationCount(), before + 1);
}

TEST(Pkcs7Test, PadsEveryLengthToTheBlockSize) {
  for (std::size_t block : {16u, 32u}) {
    for (std::size_t size = 0; size <= 2 * block; ++size) {
      std::string data(size, 'x');
      Pkcs7PadAppend(block, data);
      const std::size_t pad = block - size % block;
      ASSERT_EQ(data.size(), size + pad);
      EXPECT_EQ(data.size() % block, 0u);
      EXPECT_EQ(data.substr(size), std::string(pad, static_cast<char>(pad)));
    }
  }
}

TEST(Pkcs7Test, CheckAcceptsEveryPadLengthOneTo32) {
  for (std::size_t pad = 1; pad <= 32; ++pad) {
    std::string data(64 - pad, 'x');
    data.append(pad, static_cast<char>(pad));
    const Pkcs7Check check = Pkcs7CheckConstantTime(data, 32);
    EXPECT_NE(check.valid_mask, 0u) << "pad " << pad;
    EXPECT_EQ(check.unpadded_size, 64 - pad);
  }
}

TEST(Pkcs7Test, CheckRejectsPadByteZero) {
  std::string data(31, 'x');
  data.push_back('\0');
  EXPECT_EQ(Pkcs7CheckConstantTime(data, 32).valid_mask, 0u);
}

TEST(Pkcs7Test, CheckRejectsPadByteLargerThanBlock) {
  for (int pad = 33; pad <= 255; ++pad) {
    std::string data(300, static_cast<char>(pad));
    EXPECT_EQ(Pkcs7CheckConstantTime(data, 32).valid_mask, 0u) << pad;
  }
  std::string data(32, static_cast<char>(17));
  EXPECT_EQ(Pkcs7CheckConstantTime(data, 16).valid_mask, 0u);
}

TEST(Pkcs7Test, CheckRejectsInconsistentPadBytes) {
  for (std::size_t pad = 2; pad <= 32; ++pad) {
    for (std::size_t wrong = 1; wrong < pad; ++wrong) {
      std::string data(64 - pad, 'x');
      data.append(pad, static_cast<char>(pad));
      data[data.size() - 1 - wrong] ^= 0x01;
      const Pkcs7Check check = Pkcs7CheckConstantTime(data, 32);
      EXPECT_EQ(check.valid_mask, 0u) << "pad " << pad << " wrong " << wrong;
      EXPECT_EQ(check.unpadded_size, data.size());
    }
  }
}

TEST(Pkcs7Test, CheckRejectsPadLongerThanData) {
  std::string data(16, static_cast<char>(20));
  EXPECT_EQ(Pkcs7CheckConstantTime(data, 32).valid_mask, 0u);
}

TEST(Pkcs7Test, CheckRejectsEmptyData) {
  EXPECT_EQ(Pkcs7CheckConstantTime("", 16).valid_mask, 0u);
}

}  // namespace
}  // namespace wxcrypto
