// Handler semantics without a network; every RPC also has an integration
// test against the real binary (tests/integration).
#include "server/service/crypto_service.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::WxStatusIs;

constexpr char kKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kOldKey[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr char kApp[] = "wx2c2769f8efd9abc2";
constexpr char kMessage[] = "<xml><MsgType><![CDATA[text]]></MsgType></xml>";

class CryptoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const Config>> config = Config::FromJson(
        std::string(R"({"apps":[{"app_id":")") + kApp +
        R"(","token":"spamtest","encoding_aes_key":")" + kKey +
        R"(","previous_encoding_aes_keys":[")" + kOldKey +
        R"("],"mode":"MODE_SECURE","max_timestamp_skew_seconds":300}]})");
    ASSERT_THAT(config, IsOk());
    store_.Set(*config);
    ServiceOptions options;
    options.now_unix_seconds = [] { return std::int64_t{1700000000}; };
    service_ = std::make_unique<CryptoServiceImpl>(&store_, nullptr, options);
  }

  v1::DecryptPushRequest Push(const std::string& key) {
    absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create({key}, kApp);
    const std::string encrypt = *crypt->Encrypt(kMessage);
    v1::DecryptPushRequest request;
    request.set_app_id(kApp);
    request.set_timestamp("1700000010");
    request.set_nonce("77");
    request.set_encrypt_type("aes");
    request.set_msg_signature(
        ComputeMsgSignature("spamtest", "1700000010", "77", encrypt));
    request.set_body(*BuildPushEnvelope(EnvelopeFormat::kXml, "gh", encrypt));
    return request;
  }

  ConfigStore store_;
  std::unique_ptr<CryptoServiceImpl> service_;
};

TEST_F(CryptoServiceTest, DecryptPushReportsPreviousKeyIndex) {
  v1::DecryptPushResponse response;
  ASSERT_THAT(service_->HandleDecryptPush(Push(kOldKey), response), IsOk());
  EXPECT_EQ(response.message(), kMessage);
  EXPECT_EQ(response.key_index(), 1u);
  EXPECT_EQ(response.fields().at("MsgType"), "text");
}

TEST_F(CryptoServiceTest, DecryptPushDoesNoAesWorkWhenSignatureIsWrong) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_msg_signature(std::string(40, '0'));
  const std::uint64_t before = AesCbcOperationCount();
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
  EXPECT_EQ(AesCbcOperationCount(), before);
}

TEST_F(CryptoServiceTest, DecryptPushChecksTimestampWindowBeforeAnythingElse) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_timestamp("1699999000");
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         "TIMESTAMP_OUT_OF_WINDOW"));
}

TEST_F(CryptoServiceTest, TimestampWithAnythingButDigitsIsInvalid) {
  for (const char* timestamp : {"1700000010 ", " 1700000010", "1700000010\n",
                                "+1700000010", "1700000010x", "17000000.1"}) {
    v1::DecryptPushRequest request = Push(kKey);
    request.set_timestamp(timestamp);
    v1::DecryptPushResponse response;
    EXPECT_THAT(
        service_->HandleDecryptPush(request, response),
        WxStatusIs(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError, "TIMESTAMP_INVALID"))
        << timestamp;
  }
}

TEST_F(CryptoServiceTest, SecureAppRefusesPlaintextPush) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_encrypt_type("raw");
  request.set_signature(
      ComputeUrlSignature("spamtest", request.timestamp(), request.nonce()));
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kFailedPrecondition,
                         WxErrorCode::kValidateSignatureError,
                         "PLAINTEXT_NOT_ALLOWED"));
}

TEST_F(CryptoServiceTest, ReplyWithKeyIndexIsOpenedByThatKeyOnly) {
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kApp);
  request.set_message("reply");
  request.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  request.set_key_index(1);
  v1::BuildEncryptedReplyResponse response;
  ASSERT_THAT(service_->HandleBuildEncryptedReply(request, response), IsOk());
  EXPECT_EQ(response.timestamp(), "1700000000");
  EXPECT_EQ(response.nonce().size(), 10u);
  absl::StatusOr<DecryptedMessage> opened =
      (*MessageCrypt::Create({kOldKey}, kApp)).Decrypt(response.encrypt());
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->message, "reply");
  EXPECT_FALSE(
      (*MessageCrypt::Create({kKey}, kApp)).Decrypt(response.encrypt()).ok());
}

TEST_F(CryptoServiceTest, UnknownAppIsNotFound) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_app_id("wxnope");
  v1::DecryptPushResponse response;
  EXPECT_THAT(
      service_->HandleDecryptPush(request, response),
      WxStatusIs(absl::StatusCode::kNotFound,
                 WxErrorCode::kValidateReceiveIdError, "APP_NOT_FOUND"));
}

TEST_F(CryptoServiceTest, VerifyRawDataRequiresSessionKey) {
  v1::VerifyRawDataRequest request;
  request.set_raw_data("{}");
  request.set_signature(std::string(40, 'a'));
  v1::VerifyRawDataResponse response;
  EXPECT_THAT(
      service_->HandleVerifyRawData(request, response),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kUserDataIllegalAesKey, "SESSION_KEY_INVALID"));
}

TEST_F(CryptoServiceTest,
       AdmitRefusesPassedDeadlineOversizeOverloadAndDraining) {
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(5);
  const auto passed =
      std::chrono::system_clock::now() - std::chrono::milliseconds(1);
  EXPECT_THAT(service_->Admit(later, 100, 1), IsOk());
  EXPECT_THAT(service_->Admit(passed, 100, 1),
              WxStatusIs(absl::StatusCode::kDeadlineExceeded,
                         static_cast<WxErrorCode>(-1), "DEADLINE_EXCEEDED"));
  EXPECT_THAT(service_->Admit(later, (1 << 20) + 1, 1),
              WxStatusIs(absl::StatusCode::kResourceExhausted,
                         WxErrorCode::kIllegalBuffer, "REQUEST_TOO_LARGE"));
  EXPECT_THAT(service_->Admit(later, 100, 257),
              WxStatusIs(absl::StatusCode::kResourceExhausted,
                         static_cast<WxErrorCode>(-1), "OVERLOADED"));
  service_->StopAcceptingRequests();
  EXPECT_THAT(service_->Admit(later, 100, 1),
              WxStatusIs(absl::StatusCode::kUnavailable,
                         static_cast<WxErrorCode>(-1), "DRAINING"));
}

}  // namespace
}  // namespace wxcrypto
