#include "server/crypto/user_data.h"

#include <cstdint>
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

// Every failure after decryption starts, each built so that exactly one
// check fails.
std::vector<std::pair<std::string, UserDataRequest>> PostDecryptionFailures(
    std::vector<std::string>& storage) {
  storage.clear();
  storage.reserve(16);
  std::vector<std::pair<std::string, UserDataRequest>> cases;
  auto add = [&](const std::string& name, const std::string& sealed,
                 std::int64_t max_age = 0) {
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
  return cases;
}

TEST(UserDataTest, EveryPostDecryptionFailureIsTheSameError) {
  std::vector<std::string> storage;
  const auto cases = PostDecryptionFailures(storage);
  ASSERT_GE(cases.size(), 14u);
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
