// DecryptUserData checks the watermark with a constant-time scanner
// (server/crypto/ct_json.h) instead of RapidJSON. This test checks,
// differentially, that it accepts and reports exactly what the RapidJSON DOM
// lookup it replaced did (the same reader flags, kParseIterativeFlag |
// kParseValidateEncodingFlag; Document::FindMember's first-match rule;
// GenericValue::IsInt64 for the timestamp), except where ct_json.h documents
// a difference, which the reference below applies: BOM bytes, NUL, lone
// surrogate escapes, nesting deeper than kCtJsonMaxDepth and escaped member
// names are rejected, an escaped or over-long appid never matches, and a
// text RapidJSON rejects only for a number's magnitude is not compared.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/error/error.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/ct_json.h"
#include "server/crypto/user_data.h"
#include "tests/testing/ct_json_reference.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::IsStrictUtf8;

constexpr char kAppId[] = "wx4f4bc4dec97d474b";
constexpr char kSessionKey[] = "tiihtNczf5v6AKRyjwEUhQ==";
constexpr char kIv[] = "r7BXXKkLb8qrSNn05n0qiA==";

// What the reference decided for a plaintext: whether DecryptUserData must
// accept it (with no age check), and the watermark it must report.
struct Reference {
  bool undecided = false;  // RapidJSON's kParseErrorNumberTooBig
  bool ok = false;
  std::string app_id;
  std::int64_t timestamp = 0;
};

// The in-situ parse decodes each string where its raw content starts, so
// the raw text from there to the closing quote is longer than the decoded
// string exactly when it contains an escape.
bool WrittenWithEscape(const std::string& raw, const char* buffer,
                       const rapidjson::Value& string) {
  std::size_t pos = static_cast<std::size_t>(string.GetString() - buffer);
  const std::size_t start = pos;
  while (pos < raw.size() && raw[pos] != '"') pos += raw[pos] == '\\' ? 2 : 1;
  return pos - start != string.GetStringLength();
}

// Applies the documented differences that the DOM shows: strings must be
// strict UTF-8 (a lone surrogate escape is not), names written without
// escapes, nesting at most kCtJsonMaxDepth deep.
bool WithinDifferences(const std::string& raw, const char* buffer,
                       const rapidjson::Value& value, std::size_t depth) {
  if (value.IsString()) {
    return IsStrictUtf8(
        absl::string_view(value.GetString(), value.GetStringLength()));
  }
  if (value.IsArray()) {
    if (depth + 1 > kCtJsonMaxDepth) return false;
    for (const auto& element : value.GetArray()) {
      if (!WithinDifferences(raw, buffer, element, depth + 1)) return false;
    }
  }
  if (value.IsObject()) {
    if (depth + 1 > kCtJsonMaxDepth) return false;
    for (const auto& member : value.GetObject()) {
      if (WrittenWithEscape(raw, buffer, member.name) ||
          !WithinDifferences(raw, buffer, member.name, depth + 1) ||
          !WithinDifferences(raw, buffer, member.value, depth + 1)) {
        return false;
      }
    }
  }
  return true;
}

// The DOM lookup DecryptUserData used before (user_data.cc, CheckWatermark),
// with no age check, and with the documented differences.
Reference DomWatermark(const std::string& plaintext) {
  Reference result;
  // Difference 2: no NUL anywhere.
  if (plaintext.find('\0') != std::string::npos) return result;
  // An in-situ parse, to locate the raw strings; unlike Document::Parse's
  // stream it skips no BOM bytes (difference 1).
  std::string buffer = plaintext + std::string(4, '\0');
  rapidjson::Document doc;
  doc.ParseInsitu<rapidjson::kParseIterativeFlag |
                  rapidjson::kParseValidateEncodingFlag>(&buffer[0]);
  if (doc.GetParseError() == rapidjson::kParseErrorNumberTooBig) {
    result.undecided = true;
    return result;
  }
  if (doc.HasParseError() || !doc.IsObject() ||
      !WithinDifferences(plaintext, buffer.data(), doc, 0)) {
    return result;
  }
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
  // Difference 7: the appid is compared as written.
  result.ok = result.app_id == kAppId &&
              !WrittenWithEscape(plaintext, buffer.data(), appid->value);
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
void CheckPlaintext(const std::string& plaintext, std::size_t& accepted,
                    std::size_t& undecided) {
  const std::string sealed = Seal(plaintext);
  UserDataRequest request;
  request.app_id = kAppId;
  request.session_key = kSessionKey;
  request.iv = kIv;
  request.encrypted_data = sealed;
  const absl::StatusOr<UserData> data = DecryptUserData(request);
  const Reference expected = DomWatermark(plaintext);
  const std::string shown = absl::CHexEscape(plaintext);
  if (!data.ok()) {
    ASSERT_EQ(data.status(), UserDataRejectedStatus()) << shown;
  }
  if (expected.undecided) {
    ++undecided;
    return;
  }
  ASSERT_EQ(data.ok(), expected.ok) << shown;
  if (!data.ok()) return;
  ++accepted;
  EXPECT_EQ(data->data, plaintext);
  EXPECT_EQ(data->watermark_app_id, expected.app_id) << shown;
  EXPECT_EQ(data->watermark_timestamp, expected.timestamp) << shown;
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
      // An escaped appid never matches; an escaped name is rejected.
      R"({"watermark":{"timestamp":1,"appid":"\u0077x4f4bc4dec97d474b"}})",
      R"({"water\u006dark":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
      R"({"a\"b":1,)" + ok + "}",
      // Nesting up to the scanner's limit, and one level more.
      "{" + ok + R"(,"a":)" + std::string(kCtJsonMaxDepth - 1, '[') +
          std::string(kCtJsonMaxDepth - 1, ']') + "}",
      "{" + ok + R"(,"a":)" + std::string(kCtJsonMaxDepth, '[') +
          std::string(kCtJsonMaxDepth, ']') + "}",
      // Numbers RapidJSON cannot hold in a double.
      R"({"n":1e400,)" + ok + "}",
      R"({"watermark":{"timestamp":1}})",
      R"({"watermark":{"appid":"wx4f4bc4dec97d474b"}})",
      R"({"watermark":{}})",
      "{}",
      "[]",
      "1",
      "\"s\"",
      "",
      // Validated UTF-8; a lone low surrogate escape, which RapidJSON
      // passed, and a NUL, which ended RapidJSON's text, are rejected.
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
      // Document::Parse's stream skipped a leading 0xEF, then 0xBB, then
      // 0xBF, each on its own; they are rejected now.
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

TEST(UserDataWatermarkTest, ConstantTimeScanMatchesTheDomOnTheSeeds) {
  std::size_t accepted = 0;
  std::size_t undecided = 0;
  for (const std::string& seed : Seeds()) {
    CheckPlaintext(seed, accepted, undecided);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(accepted, 15u);
  EXPECT_EQ(undecided, 1u);  // the 1e400 seed
}

TEST(UserDataWatermarkTest, ConstantTimeScanMatchesTheDomOnMutations) {
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
  std::size_t undecided = 0;
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
    CheckPlaintext(input, accepted, undecided);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(accepted, 200u);
  EXPECT_LE(undecided, 1000u);  // mostly mutations of the 1e400 seed
}

}  // namespace
}  // namespace wxcrypto
