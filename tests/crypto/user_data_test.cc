#include "server/crypto/user_data.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

constexpr char kAppId[] = "wx4f4bc4dec97d474b";
constexpr char kSessionKey[] = "tiihtNczf5v6AKRyjwEUhQ==";
constexpr char kIv[] = "r7BXXKkLb8qrSNn05n0qiA==";
constexpr std::int64_t kWatermarkTime = 1700000000;

// Encrypts `plaintext` (unpadded: PKCS#7 is added unless `raw`) the way
// WeChat does, with the fixed session key and IV above.
std::string Seal(const std::string& plaintext, bool raw = false) {
  std::string data = plaintext;
  if (!raw) Pkcs7PadAppend(16, data);
  std::string ciphertext;
  EXPECT_THAT(AesCbcEncryptNoPadding(*Base64Decode(kSessionKey),
                                     *Base64Decode(kIv), data, ciphertext),
              IsOk());
  return Base64Encode(ciphertext);
}

std::string WithWatermark(const std::string& app_id, std::int64_t timestamp) {
  return absl::StrCat(
      R"({"phoneNumber":"13800138000","watermark":{"timestamp":)", timestamp,
      R"(,"appid":")", app_id, R"("}})");
}

// The request views `encrypted_data`, which must outlive it.
UserDataRequest Request(const std::string& encrypted_data) {
  UserDataRequest request;
  request.app_id = kAppId;
  request.session_key = kSessionKey;
  request.iv = kIv;
  request.encrypted_data = encrypted_data;
  request.now_unix_seconds = kWatermarkTime + 10;
  return request;
}

TEST(UserDataTest, DecryptsOfficialDemoVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  int checked = 0;
  for (const auto& v : doc["user_data"].GetArray()) {
    if (std::string(v["expect"].GetString()) != "ok") continue;
    UserDataRequest request;
    request.app_id = v["app_id"].GetString();
    request.session_key = v["session_key"].GetString();
    request.iv = v["iv"].GetString();
    request.encrypted_data = v["encrypted_data"].GetString();
    absl::StatusOr<UserData> data = DecryptUserData(request);
    ASSERT_THAT(data, IsOk());
    EXPECT_EQ(data->data, v["expected_plaintext"].GetString());
    EXPECT_EQ(data->watermark_app_id, v["app_id"].GetString());
    EXPECT_EQ(data->watermark_timestamp,
              1477314187);  // in the demo's watermark
    ++checked;
  }
  EXPECT_EQ(checked, 1);
}

TEST(UserDataTest, RejectsVectorThatDecryptsToGarbage) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  int checked = 0;
  for (const auto& v : doc["user_data"].GetArray()) {
    if (std::string(v["expect"].GetString()) != "error") continue;
    UserDataRequest request;
    request.app_id = v["app_id"].GetString();
    request.session_key = v["session_key"].GetString();
    request.iv = v["iv"].GetString();
    request.encrypted_data = v["encrypted_data"].GetString();
    EXPECT_EQ(DecryptUserData(request).status(), UserDataRejectedStatus());
    ++checked;
  }
  EXPECT_EQ(checked, 1);
}

TEST(UserDataTest, AcceptsWatermarkWithinMaxAge) {
  const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
  UserDataRequest request = Request(sealed);
  request.max_age_seconds = 60;
  absl::StatusOr<UserData> data = DecryptUserData(request);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(data->data, WithWatermark(kAppId, kWatermarkTime));
  EXPECT_EQ(data->watermark_timestamp, kWatermarkTime);
}

TEST(UserDataTest, AcceptsTheEdgesOfTheAgeWindowOnly) {
  const std::int64_t max_age = 60;
  for (std::int64_t offset :
       {-max_age - 1, -max_age, std::int64_t{0}, max_age, max_age + 1}) {
    const std::string sealed =
        Seal(WithWatermark(kAppId, kWatermarkTime + 10 + offset));
    UserDataRequest request = Request(sealed);
    request.max_age_seconds = max_age;
    EXPECT_EQ(DecryptUserData(request).ok(),
              offset >= -max_age && offset <= max_age)
        << offset;
  }
}

TEST(UserDataTest, ChecksTheAgeNearTheLimitsOfInt64) {
  // now +- max_age would overflow int64 here; the window saturates.
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  struct Case {
    std::int64_t now;
    std::int64_t timestamp;
    bool ok;
  };
  for (const Case& c : {Case{max, max, true}, Case{max, max - 60, true},
                        Case{max, max - 61, false}, Case{min, min, true},
                        Case{min, min + 60, true}, Case{min, min + 61, false},
                        Case{max, min, false}, Case{min, max, false}}) {
    const std::string sealed = Seal(WithWatermark(kAppId, c.timestamp));
    UserDataRequest request = Request(sealed);
    request.now_unix_seconds = c.now;
    request.max_age_seconds = 60;
    absl::StatusOr<UserData> data = DecryptUserData(request);
    EXPECT_EQ(data.ok(), c.ok) << c.now << " " << c.timestamp;
    if (data.ok()) {
      EXPECT_EQ(data->watermark_timestamp, c.timestamp);
    }
  }
}

TEST(UserDataTest, CapsTheAgeWindow) {
  // max_age_seconds above 2^40 counts as 2^40.
  const std::int64_t cap = std::int64_t{1} << 40;
  for (std::int64_t timestamp :
       {kWatermarkTime - cap, kWatermarkTime - cap - 1}) {
    const std::string sealed = Seal(WithWatermark(kAppId, timestamp));
    UserDataRequest request = Request(sealed);
    request.now_unix_seconds = kWatermarkTime;
    request.max_age_seconds = std::numeric_limits<std::int64_t>::max();
    EXPECT_EQ(DecryptUserData(request).ok(), timestamp >= kWatermarkTime - cap)
        << timestamp;
  }
}

TEST(UserDataTest, RejectsAppIdsThatMustBeEscapedOrAreTooLong) {
  // The watermark's appid is compared as written (server/crypto/ct_json.h):
  // one that needs an escape, or is longer than 64 bytes, never matches,
  // even when its unescaped value equals the request's.
  struct Case {
    std::string app_id;
    std::string written;
  };
  for (const Case& c : {Case{"wx\"x", R"(wx\"x)"}, Case{"wx\\x", R"(wx\\x)"},
                        Case{"wx/x", R"(wx\/x)"},
                        Case{std::string(65, 'w'), std::string(65, 'w')}}) {
    const std::string sealed = Seal(absl::StrCat(
        R"({"watermark":{"timestamp":1,"appid":")", c.written, R"("}})"));
    UserDataRequest request = Request(sealed);
    request.app_id = c.app_id;
    EXPECT_EQ(DecryptUserData(request).status(), UserDataRejectedStatus())
        << c.written;
  }
  // 64 bytes is accepted.
  const std::string app_id(64, 'w');
  const std::string sealed = Seal(absl::StrCat(
      R"({"watermark":{"timestamp":1,"appid":")", app_id, R"("}})"));
  UserDataRequest request = Request(sealed);
  request.app_id = app_id;
  absl::StatusOr<UserData> data = DecryptUserData(request);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(data->watermark_app_id, app_id);
}

// Every failure after decryption starts, each built so that exactly one
// check fails.
std::vector<std::pair<std::string, UserDataRequest>> PostDecryptionFailures(
    std::vector<std::string>& storage) {
  // The requests view `storage`: it must not reallocate.
  constexpr std::size_t kMaxCases = 32;
  storage.clear();
  storage.reserve(kMaxCases);
  std::vector<std::pair<std::string, UserDataRequest>> cases;
  auto add = [&](const std::string& name, const std::string& sealed,
                 std::int64_t max_age = 0) {
    EXPECT_LT(storage.size(), kMaxCases);
    storage.push_back(sealed);
    UserDataRequest request = Request(storage.back());
    request.max_age_seconds = max_age;
    cases.emplace_back(name, request);
  };
  const std::string good = WithWatermark(kAppId, kWatermarkTime);
  std::string bad_pad = good;
  bad_pad.append(16 - good.size() % 16, '\x07');  // pad bytes 7, wrong count
  if (bad_pad.size() % 16 == 0 && good.size() % 16 == 9)
    bad_pad.back() = '\x08';
  add("bad padding", Seal(bad_pad, /*raw=*/true));
  std::string zero_pad = good;
  zero_pad.append(16 - good.size() % 16, '\0');
  add("zero padding", Seal(zero_pad, /*raw=*/true));
  add("not JSON", Seal("this is not json at all"));
  add("JSON array",
      Seal(R"([{"watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":1}}])"));
  add("no watermark", Seal(R"({"phoneNumber":"13800138000"})"));
  add("watermark not object", Seal(R"({"watermark":"wx4f4bc4dec97d474b"})"));
  add("appid not string", Seal(R"({"watermark":{"appid":1,"timestamp":1}})"));
  add("timestamp missing",
      Seal(R"({"watermark":{"appid":"wx4f4bc4dec97d474b"}})"));
  add("wrong appid", Seal(WithWatermark("wx0000000000000000", kWatermarkTime)));
  add("appid prefix", Seal(WithWatermark("wx4f4bc4dec97d474", kWatermarkTime)));
  add("too old", Seal(WithWatermark(kAppId, kWatermarkTime - 1000)), 60);
  add("from the future", Seal(WithWatermark(kAppId, kWatermarkTime + 1000)),
      60);
  add("trailing garbage", Seal(good + "x"));
  add("invalid UTF-8",
      Seal(R"({"n":")" + std::string("\xff\xfe") +
           R"(","watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":1}})"));
  // Texts RapidJSON accepted and the constant-time scan rejects
  // (server/crypto/ct_json.h).
  add("byte order mark", Seal("\xef\xbb\xbf" + good));
  add("NUL after the object", Seal(good + std::string(1, '\0') + "x"));
  add("lone surrogate escape",
      Seal(R"({"n":"\udc00","watermark":{"appid":"wx4f4bc4dec97d474b",)"
           R"("timestamp":1}})"));
  add("escaped appid",
      Seal(R"({"watermark":{"appid":"\u0077x4f4bc4dec97d474b",)"
           R"("timestamp":1}})"));
  add("escaped name", Seal(R"({"water\u006dark":{"appid":"wx4f4bc4dec97d474b",)"
                           R"("timestamp":1}})"));
  add("too deep",
      Seal(R"({"n":)" + std::string(64, '[') + std::string(64, ']') +
           R"(,"watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":1}})"));
  add("timestamp with a fraction",
      Seal(R"({"watermark":{"appid":"wx4f4bc4dec97d474b",)"
           R"("timestamp":1700000000.0}})"));
  add("not JSON, valid padding, full block", Seal(std::string(32, 'x')));
  return cases;
}

TEST(UserDataTest, EveryPostDecryptionFailureIsTheSameError) {
  std::vector<std::string> storage;
  const auto cases = PostDecryptionFailures(storage);
  ASSERT_GE(cases.size(), 22u);
  const absl::Status expected = UserDataRejectedStatus();
  EXPECT_THAT(expected, WxStatusIs(absl::StatusCode::kInvalidArgument,
                                   WxErrorCode::kUserDataIllegalBuffer,
                                   reason::kUserDataInvalid));
  for (const auto& [name, request] : cases) {
    absl::Status status = DecryptUserData(request).status();
    // absl::Status equality covers code, message and every payload.
    EXPECT_EQ(status, expected) << name;
    EXPECT_EQ(status.message(), expected.message()) << name;
    EXPECT_EQ(GetWxErrorCode(status), GetWxErrorCode(expected)) << name;
    EXPECT_EQ(GetErrorReason(status), GetErrorReason(expected)) << name;
  }
}

TEST(UserDataTest, ConstantTimeOutcomeOfAFailureIsWipedAndMasked) {
  std::vector<std::string> storage;
  for (const auto& [name, request] : PostDecryptionFailures(storage)) {
    UserDataOutcome outcome;
    outcome.ok_mask = ~std::uint64_t{0};
    outcome.data.watermark_timestamp = 7;
    ASSERT_THAT(DecryptUserDataConstantTime(request, &outcome), IsOk()) << name;
    EXPECT_EQ(outcome.ok_mask, 0u) << name;
    // The decrypted length less one, every byte zero.
    const std::size_t decrypted = Base64Decode(request.encrypted_data)->size();
    EXPECT_EQ(outcome.data.data, std::string(decrypted - 1, '\0')) << name;
    EXPECT_EQ(outcome.data.watermark_app_id, request.app_id) << name;
    EXPECT_EQ(outcome.data.watermark_timestamp, 0) << name;
  }
}

TEST(UserDataTest, ConstantTimeOutcomeOfASuccessIsWhatDecryptUserDataReturns) {
  const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
  const UserDataRequest request = Request(sealed);
  UserDataOutcome outcome;
  ASSERT_THAT(DecryptUserDataConstantTime(request, &outcome), IsOk());
  EXPECT_EQ(outcome.ok_mask, ~std::uint64_t{0});
  const absl::StatusOr<UserData> data = DecryptUserData(request);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(outcome.data.data, WithWatermark(kAppId, kWatermarkTime));
  EXPECT_EQ(outcome.data.data, data->data);
  EXPECT_EQ(outcome.data.watermark_app_id, data->watermark_app_id);
  EXPECT_EQ(outcome.data.watermark_timestamp, kWatermarkTime);
}

TEST(UserDataTest, ConstantTimeReturnsPreDecryptionErrorsAndClearsTheOutcome) {
  const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
  UserDataOutcome outcome;
  ASSERT_THAT(DecryptUserDataConstantTime(Request(sealed), &outcome), IsOk());
  UserDataRequest request = Request(sealed);
  request.iv = "r7BXXKkLb8qrSNn05n0qiA";
  EXPECT_THAT(DecryptUserDataConstantTime(request, &outcome),
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kUserDataIllegalIv, reason::kIvInvalid));
  EXPECT_EQ(outcome.ok_mask, 0u);
  EXPECT_EQ(outcome.data.data, "");
  EXPECT_EQ(outcome.data.watermark_app_id, "");
}

TEST(UserDataTest, RejectsSessionKeyThatIsNot16BytesOfBase64) {
  for (const char* bad :
       {"", "tiihtNczf5v6AKRyjwEUhQ=", "tiihtNczf5v6AKRyjwEUhQ==A",
        "tiihtNczf5v6AKRyjwEU!Q==", "tiihtNczf5v6AKRyjwEUhQQQ"}) {
    const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
    UserDataRequest request = Request(sealed);
    request.session_key = bad;
    absl::Status status = DecryptUserData(request).status();
    EXPECT_THAT(status, WxStatusIs(absl::StatusCode::kInvalidArgument,
                                   WxErrorCode::kUserDataIllegalAesKey,
                                   reason::kSessionKeyInvalid))
        << bad;
  }
}

TEST(UserDataTest, RejectsIvThatIsNot16BytesOfBase64) {
  for (const char* bad :
       {"", "r7BXXKkLb8qrSNn05n0qiA", "r7BXXKkLb8qrSNn05n0qiA=!"}) {
    const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
    UserDataRequest request = Request(sealed);
    request.iv = bad;
    EXPECT_THAT(DecryptUserData(request),
                WxStatusIs(absl::StatusCode::kInvalidArgument,
                           WxErrorCode::kUserDataIllegalIv, reason::kIvInvalid))
        << bad;
  }
}

TEST(UserDataTest, RejectsEncryptedDataThatIsNotBase64) {
  for (const char* bad : {"", "abc", "ab!=", "YWJj\n"}) {
    EXPECT_THAT(DecryptUserData(Request(bad)),
                WxStatusIs(absl::StatusCode::kInvalidArgument,
                           WxErrorCode::kUserDataDecodeBase64Error,
                           reason::kBase64Invalid))
        << bad;
  }
}

TEST(UserDataTest, RejectsEncryptedDataNotBlockAligned) {
  EXPECT_THAT(
      DecryptUserData(Request(Base64Encode(std::string(17, 'x')))),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kUserDataIllegalBuffer, reason::kBufferInvalid));
}

TEST(UserDataTest, RejectsOversizedEncryptedDataBeforeDecoding) {
  EXPECT_THAT(
      DecryptUserData(Request(std::string(kMaxEncryptedUserDataSize + 4, 'A'))),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kUserDataDecodeBase64Error,
                 reason::kBase64Invalid));
}

TEST(UserDataTest, RejectsNegativeMaxAge) {
  const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
  UserDataRequest request = Request(sealed);
  request.max_age_seconds = -1;
  EXPECT_FALSE(DecryptUserData(request).ok());
}

TEST(UserDataTest, ErrorsNeverContainSessionKeyOrPlaintext) {
  std::vector<std::string> storage;
  for (const auto& [name, request] : PostDecryptionFailures(storage)) {
    const std::string text = DecryptUserData(request).status().ToString();
    EXPECT_THAT(text, Not(HasSubstr(kSessionKey))) << name;
    EXPECT_THAT(text, Not(HasSubstr("13800138000"))) << name;
  }
  const std::string sealed = Seal(WithWatermark(kAppId, kWatermarkTime));
  UserDataRequest request = Request(sealed);
  request.session_key = "tiihtNczf5v6AKRyjwEU!Q==";
  EXPECT_THAT(DecryptUserData(request).status().ToString(),
              Not(HasSubstr("tiihtNczf5v6AKRyjwEU")));
}

}  // namespace
}  // namespace wxcrypto
