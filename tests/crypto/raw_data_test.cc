#include "server/crypto/raw_data.h"

#include <string>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::ReadTestJson;

// The vector is the open-data signature documentation's example
// (tests/testdata/wechat_vectors.json, raw_data).
TEST(RawDataTest, AcceptsDocumentationVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  ASSERT_GT(doc["raw_data"].Size(), 0u);
  for (const auto& v : doc["raw_data"].GetArray()) {
    EXPECT_TRUE(VerifyRawData(v["raw_data"].GetString(),
                              v["signature"].GetString(),
                              v["session_key"].GetString()));
    EXPECT_TRUE(VerifyRawData(v["raw_data"].GetString(),
                              absl::AsciiStrToUpper(v["signature"].GetString()),
                              v["session_key"].GetString()));
  }
}

TEST(RawDataTest, RejectsTamperedRawDataSignatureOrKey) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["raw_data"][0];
  const std::string raw = v["raw_data"].GetString();
  const std::string sig = v["signature"].GetString();
  const std::string key = v["session_key"].GetString();
  EXPECT_FALSE(VerifyRawData(raw + " ", sig, key));
  EXPECT_FALSE(VerifyRawData(raw, sig, key + "x"));
  std::string bad_sig = sig;
  bad_sig[39] = bad_sig[39] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(VerifyRawData(raw, bad_sig, key));
  EXPECT_FALSE(VerifyRawData(raw, sig.substr(0, 39), key));
  EXPECT_FALSE(VerifyRawData(raw, "", key));
}

TEST(RawDataTest, ConcatenatesWithoutSorting) {
  // sha1("ba") = 6c0596b8..., computed with Python's hashlib; a sorting
  // implementation would hash "ab" instead.
  EXPECT_TRUE(
      VerifyRawData("b", "6c0596b8ac609191181a90517d51c0b486f23799", "a"));
  EXPECT_FALSE(
      VerifyRawData("a", "6c0596b8ac609191181a90517d51c0b486f23799", "b"));
}

}  // namespace
}  // namespace wxcrypto
