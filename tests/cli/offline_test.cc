#include "client/cli/offline.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

// The official sample's app (tests/testdata/wechat_vectors.json, push[0]).
constexpr absl::string_view kToken = "spamtest";
constexpr absl::string_view kKey =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kOldKey =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr absl::string_view kReceiveId = "wx2c2769f8efd9abc2";

SealPushParams MakeSealParams(EnvelopeFormat format,
                              absl::string_view message) {
  SealPushParams params;
  params.token = std::string(kToken);
  params.encoding_aes_key = std::string(kKey);
  params.receive_id = std::string(kReceiveId);
  params.message = std::string(message);
  params.format = format;
  params.timestamp = "1409735669";
  params.nonce = "1320562132";
  return params;
}

OpenReplyParams MakeOpenParams(std::string body) {
  OpenReplyParams params;
  params.token = std::string(kToken);
  params.encoding_aes_keys = {std::string(kKey)};
  params.receive_id = std::string(kReceiveId);
  params.body = std::move(body);
  return params;
}

// What a gateway does with the service's help: encrypt a reply with
// `encoding_aes_key`, sign it and wrap it in `format`.
std::string BuildReply(EnvelopeFormat format, absl::string_view message,
                       absl::string_view encoding_aes_key = kKey,
                       absl::string_view receive_id = kReceiveId) {
  const absl::string_view keys[] = {encoding_aes_key};
  auto crypt = MessageCrypt::Create(keys, receive_id);
  EXPECT_THAT(crypt, IsOk());
  auto encrypt = crypt->Encrypt(message);
  EXPECT_THAT(encrypt, IsOk());
  ReplyFields fields;
  fields.encrypt = *encrypt;
  fields.timestamp = "1713424427";
  fields.nonce = "reply-nonce";
  fields.msg_signature = ComputeMsgSignature(kToken, fields.timestamp,
                                             fields.nonce, fields.encrypt);
  auto body = BuildReplyEnvelope(format, fields);
  EXPECT_THAT(body, IsOk());
  return body.ok() ? *body : "";
}

struct RoundTripCase {
  EnvelopeFormat format;
  absl::string_view push_message;
  absl::string_view reply_message;
};

class SealAndOpenRoundTripTest
    : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(SealAndOpenRoundTripTest,
       GatewayOpensTheSealedPushAndOpenReplyOpensItsReply) {
  const RoundTripCase& test_case = GetParam();
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      sealed,
      SealPush(MakeSealParams(test_case.format, test_case.push_message)));
  EXPECT_EQ(sealed.format, test_case.format);

  // The gateway's side, with the crypto core: parse, verify, decrypt.
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(push, ParsePushEnvelope(sealed.body));
  EXPECT_EQ(push.format, test_case.format);
  ASSERT_TRUE(push.has_encrypt);
  EXPECT_EQ(push.encrypt, sealed.encrypt);
  EXPECT_THAT(VerifyMsgSignature(sealed.msg_signature, kToken, sealed.timestamp,
                                 sealed.nonce, push.encrypt),
              IsOk());
  EXPECT_THAT(VerifyUrlSignature(sealed.signature, kToken, sealed.timestamp,
                                 sealed.nonce),
              IsOk());
  const absl::string_view keys[] = {kKey};
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(crypt, MessageCrypt::Create(keys, kReceiveId));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(decrypted, crypt.Decrypt(push.encrypt));
  EXPECT_EQ(decrypted.message, test_case.push_message);

  // The gateway replies in the push's dialect; WeChat's side opens it.
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      opened, OpenReply(MakeOpenParams(
                  BuildReply(push.format, test_case.reply_message))));
  EXPECT_EQ(opened.format, test_case.format);
  EXPECT_EQ(opened.message, test_case.reply_message);
  EXPECT_EQ(opened.timestamp, "1713424427");
  EXPECT_EQ(opened.nonce, "reply-nonce");
  EXPECT_EQ(opened.key_index, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllDialects, SealAndOpenRoundTripTest,
    ::testing::Values(
        RoundTripCase{/*format=*/EnvelopeFormat::kXml,
                      /*push_message=*/
                      "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
                      "<MsgType><![CDATA[text]]></MsgType>"
                      "<Content><![CDATA[你好]]></Content></xml>",
                      /*reply_message=*/
                      "<xml><MsgType><![CDATA[text]]></MsgType>"
                      "<Content><![CDATA[hi]]></Content></xml>"},
        RoundTripCase{
            /*format=*/EnvelopeFormat::kJson,
            /*push_message=*/
            R"({"ToUserName":"gh_test","MsgType":"text","Content":"你好"})",
            /*reply_message=*/R"({"demo_resp":"good luck"})"},
        RoundTripCase{
            /*format=*/EnvelopeFormat::kJsonLowercase,
            /*push_message=*/R"({"tousername":"ww1","msgtype":"text"})",
            /*reply_message=*/""}),
    [](const ::testing::TestParamInfo<RoundTripCase>& param_info) {
      return std::string(EnvelopeFormatName(param_info.param.format));
    });

// push[0] and push[1] of tests/testdata/wechat_vectors.json: the official
// Python sample and the mini program documentation. Given the vector's
// random prefix, seal-push must produce its Encrypt and msg_signature
// exactly.
TEST(SealPushTest, ReproducesOfficialPushVectorsGivenTheirRandomPrefix) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& pushes = vectors["push"];
  ASSERT_GE(pushes.Size(), 2u);
  for (const rapidjson::Value& vector : pushes.GetArray()) {
    SCOPED_TRACE(vector["name"].GetString());
    SealPushParams params;
    params.token = vector["token"].GetString();
    params.encoding_aes_key = vector["encoding_aes_key"].GetString();
    params.receive_id = vector["receive_id"].GetString();
    params.message =
        std::string(vector["expected_plaintext"].GetString(),
                    vector["expected_plaintext"].GetStringLength());
    params.timestamp = vector["timestamp"].GetString();
    params.nonce = vector["nonce"].GetString();
    params.random_prefix =
        absl::HexStringToBytes(vector["random_prefix_hex"].GetString());
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(sealed, SealPush(params));
    EXPECT_EQ(sealed.encrypt, vector["encrypt"].GetString());
    EXPECT_EQ(sealed.msg_signature, vector["msg_signature"].GetString());
    EXPECT_THAT(sealed.query, HasSubstr(std::string("&msg_signature=") +
                                        vector["msg_signature"].GetString()));
    if (vector.HasMember("signature")) {
      EXPECT_EQ(sealed.signature, vector["signature"].GetString());
    }
  }
}

TEST(SealPushTest, FreshRandomPrefixStillSignsWhatItEncrypts) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& vector = vectors["push"][0];
  const std::string message(vector["expected_plaintext"].GetString(),
                            vector["expected_plaintext"].GetStringLength());
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      sealed, SealPush(MakeSealParams(EnvelopeFormat::kXml, message)));
  // The random prefix differs from the vector's, so Encrypt does too.
  EXPECT_NE(sealed.encrypt, vector["encrypt"].GetString());
  EXPECT_EQ(
      sealed.msg_signature,
      ComputeMsgSignature(kToken, "1409735669", "1320562132", sealed.encrypt));
  const absl::string_view keys[] = {kKey};
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(crypt, MessageCrypt::Create(keys, kReceiveId));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(decrypted, crypt.Decrypt(sealed.encrypt));
  EXPECT_EQ(decrypted.message, message);
}

TEST(SealPushTest, BuildsTheQueryInWeChatsParameterOrder) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      sealed, SealPush(MakeSealParams(EnvelopeFormat::kXml, "<xml/>")));
  EXPECT_EQ(sealed.signature,
            ComputeUrlSignature(kToken, "1409735669", "1320562132"));
  EXPECT_EQ(sealed.query, "signature=" + sealed.signature +
                              "&timestamp=1409735669&nonce=1320562132"
                              "&encrypt_type=aes&msg_signature=" +
                              sealed.msg_signature);
}

TEST(SealPushTest, PutsOpenidBetweenNonceAndEncryptType) {
  SealPushParams params = MakeSealParams(EnvelopeFormat::kXml, "<xml/>");
  params.openid = "oyORnuP8q7ou2gfYjqLzSIWZf0rs";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(sealed, SealPush(params));
  EXPECT_THAT(sealed.query,
              HasSubstr("&nonce=1320562132&openid=oyORnuP8q7ou2gfYjqLzSIWZf0rs"
                        "&encrypt_type=aes&msg_signature="));
}

TEST(SealPushTest, PercentEncodesQueryValuesButSignsThemRaw) {
  SealPushParams params = MakeSealParams(EnvelopeFormat::kXml, "<xml/>");
  params.nonce = "a b&c=d/\xc3\xa9";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(sealed, SealPush(params));
  EXPECT_THAT(sealed.query, HasSubstr("&nonce=a%20b%26c%3Dd%2F%C3%A9&"));
  EXPECT_EQ(
      sealed.msg_signature,
      ComputeMsgSignature(kToken, "1409735669", params.nonce, sealed.encrypt));
}

TEST(SealPushTest, PutsToUserNameInTheBody) {
  SealPushParams params = MakeSealParams(EnvelopeFormat::kXml, "<xml/>");
  params.to_user_name = "gh_10f6c3c3ac5a";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(sealed, SealPush(params));
  EXPECT_THAT(sealed.body, HasSubstr("gh_10f6c3c3ac5a"));
}

TEST(SealPushTest, RejectsAMalformedKeyWithoutEchoingIt) {
  SealPushParams params = MakeSealParams(EnvelopeFormat::kXml, "<xml/>");
  params.encoding_aes_key = "tooShortSecretKey";
  auto sealed = SealPush(params);
  EXPECT_THAT(sealed,
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid));
  EXPECT_THAT(sealed.status().message(), Not(HasSubstr("tooShortSecretKey")));
}

TEST(UrlEncodeTest, KeepsUnreservedCharactersAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("a+b/c=="), "a%2Bb%2Fc%3D%3D");
  EXPECT_EQ(UrlEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(UrlEncode(""), "");
}

// reply[0] of tests/testdata/wechat_vectors.json: the mini program
// documentation's encrypted JSON reply.
TEST(OpenReplyTest, OpensTheDocumentedMiniProgramReply) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& vector = vectors["reply"][0];
  OpenReplyParams params;
  params.token = vector["token"].GetString();
  params.encoding_aes_keys = {vector["encoding_aes_key"].GetString()};
  params.receive_id = vector["receive_id"].GetString();
  params.body =
      std::string("{\"Encrypt\":\"") + vector["expected_encrypt"].GetString() +
      "\",\"MsgSignature\":\"" + vector["expected_msg_signature"].GetString() +
      "\",\"TimeStamp\":" + vector["timestamp"].GetString() + ",\"Nonce\":\"" +
      vector["nonce"].GetString() + "\"}";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(opened, OpenReply(params));
  EXPECT_EQ(opened.format, EnvelopeFormat::kJson);
  EXPECT_EQ(opened.message, vector["reply_plaintext"].GetString());
  EXPECT_EQ(opened.timestamp, vector["timestamp"].GetString());
  EXPECT_EQ(opened.nonce, vector["nonce"].GetString());
  EXPECT_EQ(opened.msg_signature, vector["expected_msg_signature"].GetString());
}

TEST(OpenReplyTest, RejectsATamperedSignatureWith40001) {
  std::string body = BuildReply(EnvelopeFormat::kXml, "<xml/>");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
  std::string tampered = parsed.second.msg_signature;
  tampered[0] = tampered[0] == '0' ? '1' : '0';
  body.replace(body.find(parsed.second.msg_signature), tampered.size(),
               tampered);
  EXPECT_THAT(OpenReply(MakeOpenParams(body)),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
}

TEST(OpenReplyTest, RejectsATamperedEncryptAsASignatureMismatch) {
  std::string body = BuildReply(EnvelopeFormat::kJson, "{}");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
  std::string encrypt = parsed.second.encrypt;
  std::string tampered = encrypt;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  body.replace(body.find(encrypt), encrypt.size(), tampered);
  // Checked before decryption: never a padding or buffer error.
  EXPECT_THAT(OpenReply(MakeOpenParams(body)),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
}

TEST(OpenReplyTest, RejectsAWrongToken) {
  OpenReplyParams params =
      MakeOpenParams(BuildReply(EnvelopeFormat::kXml, "<xml/>"));
  params.token = "not-the-token";
  EXPECT_THAT(OpenReply(params),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
}

TEST(OpenReplyTest, FallsBackToAPreviousKeyAndReportsItsIndex) {
  OpenReplyParams params = MakeOpenParams(
      BuildReply(EnvelopeFormat::kJsonLowercase, "{\"a\":1}", kOldKey));
  params.encoding_aes_keys.push_back(std::string(kOldKey));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(opened, OpenReply(params));
  EXPECT_EQ(opened.message, "{\"a\":1}");
  EXPECT_EQ(opened.key_index, 1u);
}

TEST(OpenReplyTest, RejectsAReplyForAnotherReceiveId) {
  OpenReplyParams params = MakeOpenParams(
      BuildReply(EnvelopeFormat::kXml, "<xml/>", kKey, "wx_other_app"));
  EXPECT_THAT(OpenReply(params),
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kValidateReceiveIdError,
                         reason::kReceiveIdMismatch));
}

TEST(OpenReplyTest, RejectsABodyThatIsNotAnEnvelope) {
  EXPECT_THAT(
      OpenReply(MakeOpenParams("not an envelope")),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid));
}

}  // namespace
}  // namespace cli
}  // namespace wxcrypto
