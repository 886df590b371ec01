#include "server/crypto/signature.h"

#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

// Expected values in these tests come from tests/testdata/wechat_vectors.json
// (official samples and documentation, independently verified).

TEST(SignatureTest, MsgSignatureMatchesEveryPushVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  ASSERT_GT(doc["push"].Size(), 0u);
  for (const auto& v : doc["push"].GetArray()) {
    SCOPED_TRACE(v["name"].GetString());
    EXPECT_EQ(
        ComputeMsgSignature(v["token"].GetString(), v["timestamp"].GetString(),
                            v["nonce"].GetString(), v["encrypt"].GetString()),
        v["msg_signature"].GetString());
  }
}

TEST(SignatureTest, MsgSignatureMatchesReplyVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  for (const auto& v : doc["reply"].GetArray()) {
    EXPECT_EQ(ComputeMsgSignature(
                  v["token"].GetString(), v["timestamp"].GetString(),
                  v["nonce"].GetString(), v["expected_encrypt"].GetString()),
              v["expected_msg_signature"].GetString());
  }
}

TEST(SignatureTest, UrlSignatureMatchesUrlAndPlainPushVectors) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  for (const char* section : {"url_verify", "plain_push"}) {
    ASSERT_GT(doc[section].Size(), 0u);
    for (const auto& v : doc[section].GetArray()) {
      SCOPED_TRACE(v["name"].GetString());
      EXPECT_EQ(ComputeUrlSignature(v["token"].GetString(),
                                    v["timestamp"].GetString(),
                                    v["nonce"].GetString()),
                v["signature"].GetString());
      EXPECT_THAT(VerifyUrlSignature(
                      v["signature"].GetString(), v["token"].GetString(),
                      v["timestamp"].GetString(), v["nonce"].GetString()),
                  IsOk());
    }
  }
}

TEST(SignatureTest, PushVectorPlainSignatureIsOverTokenTimestampNonce) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  for (const auto& v : doc["push"].GetArray()) {
    if (!v.HasMember("signature")) continue;
    EXPECT_EQ(
        ComputeUrlSignature(v["token"].GetString(), v["timestamp"].GetString(),
                            v["nonce"].GetString()),
        v["signature"].GetString());
  }
}

TEST(SignatureTest, SortIsBytewise) {
  // Upper case sorts before lower case byte-wise ('Z' < 'a'); a
  // locale-aware sort would disagree.
  EXPECT_EQ(ComputeUrlSignature("a", "Z", "0"),
            Sha1Hex(std::string("0") + "Z" + "a"));
  EXPECT_EQ(ComputeMsgSignature("b", "B", "\xc3\xa9", "1"),
            Sha1Hex(std::string("1") + "B" + "b" + "\xc3\xa9"));
}

TEST(SignatureTest, Sha1HexMatchesFips180Vector) {
  // FIPS 180-2 appendix A.1.
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(SignatureTest, VerifyAcceptsUpperCaseHex) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["push"][0];
  EXPECT_THAT(
      VerifyMsgSignature(absl::AsciiStrToUpper(v["msg_signature"].GetString()),
                         v["token"].GetString(), v["timestamp"].GetString(),
                         v["nonce"].GetString(), v["encrypt"].GetString()),
      IsOk());
}

TEST(SignatureTest, VerifyRejectsWrongSignature) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["push"][0];
  std::string wrong = v["msg_signature"].GetString();
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_THAT(VerifyMsgSignature(
                  wrong, v["token"].GetString(), v["timestamp"].GetString(),
                  v["nonce"].GetString(), v["encrypt"].GetString()),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
}

TEST(SignatureTest, VerifyRejectsEmptySignatureAsMissing) {
  EXPECT_THAT(VerifyUrlSignature("", "token", "1", "2"),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMissing));
}

TEST(SignatureTest, VerifyRejectsTruncatedAndExtendedSignatures) {
  const std::string good = ComputeUrlSignature("token", "1", "2");
  EXPECT_FALSE(VerifyUrlSignature(good.substr(0, 39), "token", "1", "2").ok());
  EXPECT_FALSE(VerifyUrlSignature(good + "0", "token", "1", "2").ok());
  EXPECT_FALSE(VerifyUrlSignature(good + '\0', "token", "1", "2").ok());
}

TEST(SignatureTest, MatchesRejectsBytesThatFoldOntoHexDigits) {
  const std::string good = ComputeUrlSignature("token", "1", "2");
  for (std::size_t i = 0; i < good.size(); ++i) {
    // Clearing bit 0x20 of a digit gives a control byte, which case folding
    // maps back onto the digit; it must still be rejected.
    std::string tampered = good;
    tampered[i] = static_cast<char>(tampered[i] & ~0x20);
    if (tampered[i] >= 'A' && tampered[i] <= 'F') continue;  // real upper case
    EXPECT_FALSE(SignatureMatches(tampered, good)) << i;
  }
}

TEST(SignatureTest, MatchesRequiresFortyCharacterExpectation) {
  EXPECT_FALSE(SignatureMatches("", ""));
  EXPECT_FALSE(SignatureMatches("abc", "abc"));
}

}  // namespace
}  // namespace wxcrypto
