// DecryptUserData finds the watermark with RapidJSON's streaming reader,
// reading in place from a copy, instead of building a DOM. This test checks,
// differentially, that it accepts and reports exactly what the DOM lookup it
// replaced did: the same reader flags (kParseIterativeFlag |
// kParseValidateEncodingFlag over the unpadded bytes, with Document::Parse's
// stream quirks at the start and end), Document::FindMember's first-match
// rule, and GenericValue::IsInt64 for the timestamp.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/user_data.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;

constexpr char kAppId[] = "wx4f4bc4dec97d474b";
constexpr char kSessionKey[] = "tiihtNczf5v6AKRyjwEUhQ==";
constexpr char kIv[] = "r7BXXKkLb8qrSNn05n0qiA==";

// What the DOM implementation decided for `plaintext`: whether it passes,
// and the watermark it reported.
struct Reference {
  bool ok = false;
  std::string app_id;
  std::int64_t timestamp = 0;
};

// The DOM lookup DecryptUserData used before (user_data.cc, CheckWatermark),
// with no age check.
Reference DomWatermark(absl::string_view plaintext) {
  Reference result;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag |
            rapidjson::kParseValidateEncodingFlag>(plaintext.data(),
                                                   plaintext.size());
  if (doc.HasParseError() || !doc.IsObject()) return result;
  auto watermark = doc.FindMember("watermark");
  if (watermark == doc.MemberEnd() || !watermark->value.IsObject()) {
    return result;
  }
  auto appid = watermark->value.FindMember("appid");
  auto timestamp = watermark->value.FindMember("timestamp");
  if (appid == watermark->value.MemberEnd() || !appid->value.IsString() ||
      timestamp == watermark->value.MemberEnd() ||
      !timestamp->value.IsInt64()) {
    return result;
  }
  result.app_id.assign(appid->value.GetString(),
                       appid->value.GetStringLength());
  result.timestamp = timestamp->value.GetInt64();
  result.ok = result.app_id == kAppId;
  return result;
}

std::string Seal(const std::string& plaintext) {
  std::string data = plaintext;
  Pkcs7PadAppend(16, data);
  std::string ciphertext;
  EXPECT_THAT(AesCbcEncryptNoPadding(*Base64Decode(kSessionKey),
                                     *Base64Decode(kIv), data, ciphertext),
              IsOk());
  return Base64Encode(ciphertext);
}

// Checks DecryptUserData against the DOM reference on one plaintext.
void CheckPlaintext(const std::string& plaintext, std::size_t& accepted) {
  const std::string sealed = Seal(plaintext);
  UserDataRequest request;
  request.app_id = kAppId;
  request.session_key = kSessionKey;
  request.iv = kIv;
  request.encrypted_data = sealed;
  const absl::StatusOr<UserData> data = DecryptUserData(request);
  const Reference expected = DomWatermark(plaintext);
  ASSERT_EQ(data.ok(), expected.ok) << plaintext;
  if (!data.ok()) {
    ASSERT_EQ(data.status(), UserDataRejectedStatus()) << plaintext;
    return;
  }
  ++accepted;
  EXPECT_EQ(data->data, plaintext);
  EXPECT_EQ(data->watermark_app_id, expected.app_id) << plaintext;
  EXPECT_EQ(data->watermark_timestamp, expected.timestamp) << plaintext;
}

std::vector<std::string> Seeds() {
  const std::string ok =
      R"("watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"})";
  return {
      "{" + ok + "}",
      R"({"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band",)" + ok +
          "}",
      R"({"phoneNumber":"13800138000","purePhoneNumber":"13800138000",)"
      R"("countryCode":"86",)" +
          ok + "}",
      // First member of a name wins, at each level.
      "{" + ok + R"(,"watermark":{"timestamp":1,"appid":"other"}})",
      R"({"watermark":1,)" + ok + "}",
      R"({"watermark":{"appid":"wx4f4bc4dec97d474b","appid":"x","timestamp":1,"timestamp":"2"}})",
      R"({"watermark":{"appid":1,"appid":"wx4f4bc4dec97d474b","timestamp":1}})",
      R"({"watermark":{"timestamp":"1","timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
      // Only the top level counts.
      R"({"a":{"watermark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}}})",
      R"({"watermark":{"x":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}}})",
      R"({"watermark":{"x":{"appid":"y"},"timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"x":[{"appid":"y"}],"timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
      R"([{"watermark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}}])",
      R"({"watermark":[{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}]})",
      R"({"a":[{"b":{}},[]],"watermark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"},"c":{}})",
      // Timestamps: IsInt64 is true for every integer in int64 range.
      R"({"watermark":{"timestamp":-1,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":-0,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":4294967295,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":-2147483649,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":9223372036854775807,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":9223372036854775808,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":-9223372036854775808,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":-9223372036854775809,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":18446744073709551615,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":1.0,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":1e3,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":null,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":true,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":{},"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":1,"appid":["wx4f4bc4dec97d474b"]}})",
      R"({"watermark":{"timestamp":1,"appid":"wx4f4bc4dec97d474"}})",
      R"({"watermark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b\u0000"}})",
      R"({"watermark":{"timestamp":1,"appid":"\u0077x4f4bc4dec97d474b"}})",
      R"({"water\u006dark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{"timestamp":1}})",
      R"({"watermark":{"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{}})",
      "{}",
      "[]",
      "1",
      "\"s\"",
      "",
      // The reader's own rules: validated UTF-8, a lone low surrogate
      // escape passes, a NUL ends the text.
      R"({"nickName":"中文",)" + ok + "}",
      "{\"nickName\":\"\xff\"," + ok + "}",
      "{\"nickName\":\"\xed\xa0\x80\"," + ok + "}",
      R"({"nickName":"\udc00",)" + ok + "}",
      R"({"nickName":"\ud800",)" + ok + "}",
      "{" + ok + "}" + std::string(1, '\0') + "garbage",
      "{" + ok + "} x",
      "{" + ok + ",}",
      "{" + ok + "}}",
      " \t\r\n{" + ok + "} \n",
      // Document::Parse's stream skips a leading 0xEF, then 0xBB, then
      // 0xBF, each on its own.
      "\xef\xbb\xbf{" + ok + "}",
      "\xef{" + ok + "}",
      "\xbb{" + ok + "}",
      "\xbf{" + ok + "}",
      "\xef\xbf{" + ok + "}",
      "\xbb\xbb{" + ok + "}",
      "\xbf\xef{" + ok + "}",
      // Sequences cut off by the end of the text.
      "{" + ok + ",\"a\":\"\xf0",
      "{" + ok + ",\"a\":\"\xf0\x90",
      "{" + ok + ",\"a\":\"\xe4\xb8",
      "{" + ok + ",\"a\":\"\\",
      "{" + ok + ",\"a\":\"\\u12",
      "{" + ok + ",\"a\":\"\\ud800\\",
  };
}

TEST(UserDataWatermarkTest, StreamingLookupMatchesTheDomOnTheSeeds) {
  std::size_t accepted = 0;
  for (const std::string& seed : Seeds()) {
    CheckPlaintext(seed, accepted);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(accepted, 15u);
}

TEST(UserDataWatermarkTest, StreamingLookupMatchesTheDomOnMutations) {
  const std::vector<std::string> seeds = Seeds();
  const std::vector<std::string> tokens = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ":",
                                           "\"",
                                           "\\",
                                           "\\u0000",
                                           "\\udc00",
                                           "1",
                                           "-",
                                           ".5",
                                           "e9",
                                           "null",
                                           "\"watermark\":",
                                           "\"appid\":",
                                           "\"timestamp\":",
                                           "\"wx4f4bc4dec97d474b\"",
                                           "{\"a\":1}",
                                           std::string(1, '\0'),
                                           "\xff",
                                           "\xe4\xb8\xad",
                                           " "};
  std::mt19937 random(1121);  // Fixed seed: reproducible.
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string input = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 4) {
        case 0:
          if (at < input.size()) input[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          input.erase(at, 1 + random() % 4);
          break;
        default:
          input.insert(at, tokens[random() % tokens.size()]);
          break;
      }
    }
    CheckPlaintext(input, accepted);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(accepted, 200u);
}

}  // namespace
}  // namespace wxcrypto
