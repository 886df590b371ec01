// Integration tests: the real wxcrypto-server binary on loopback, called
// over gRPC. Expected values come from tests/testdata/wechat_vectors.json.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/integration/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::ServerProcess;
using ::wxcrypto::testing::TempDir;
namespace v1 = ::wxcrypto::v1;

constexpr char kKeyA[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kKeyB[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr char kKeyC[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
// Apps of the shared vectors, plus a secure-mode app, an app with a
// timestamp window and a WeCom-style app whose receive id is a corp id.
constexpr char kOfficialApp[] = "wx2c2769f8efd9abc2";
constexpr char kDocApp[] = "wxba5fad812f8e6fb9";
constexpr char kSecureApp[] = "wxsecure000000001";
constexpr char kWindowApp[] = "wxwindow000000001";
constexpr char kWeComApp[] = "wecom-agent-1000002";
constexpr char kWeComCorpId[] = "ww1234567890abcdef";

std::string TestConfig(const std::string& official_key = kKeyA,
                       const std::string& official_previous = "") {
  return absl::StrCat(
      R"({"apps":[)", R"({"app_id":")", kOfficialApp,
      R"(","token":"spamtest",)", R"("encoding_aes_key":")", official_key,
      R"(",)", R"("previous_encoding_aes_keys":[)",
      official_previous.empty() ? "" : "\"" + official_previous + "\"",
      R"(],"mode":"MODE_COMPATIBLE"},)", R"({"app_id":")", kDocApp,
      R"(","token":"AAAAA",)", R"("encoding_aes_key":")", kKeyB,
      R"(","mode":"MODE_COMPATIBLE"},)", R"({"app_id":")", kSecureApp,
      R"(","token":"AAAAA",)", R"("encoding_aes_key":")", kKeyB,
      R"(","mode":"MODE_SECURE"},)", R"({"app_id":")", kWindowApp,
      R"(","token":"windowtoken",)", R"("encoding_aes_key":")", kKeyC,
      R"(","mode":"MODE_SECURE","max_timestamp_skew_seconds":300},)",
      R"({"app_id":")", kWeComApp, R"(","receive_id":")", kWeComCorpId,
      R"(","token":"wecomtoken","encoding_aes_key":")", kKeyC,
      R"(","mode":"MODE_SECURE"}]})");
}

// Returns a push as WeChat would send it: query parameters and body.
v1::DecryptPushRequest SealPush(const std::string& app_id,
                                const std::string& token,
                                const std::string& key,
                                const std::string& receive_id,
                                const std::string& message,
                                EnvelopeFormat format = EnvelopeFormat::kXml,
                                const std::string& timestamp = "1700000000") {
  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create({key}, receive_id);
  EXPECT_THAT(crypt, IsOk());
  absl::StatusOr<std::string> encrypt = crypt->Encrypt(message);
  EXPECT_THAT(encrypt, IsOk());
  v1::DecryptPushRequest request;
  request.set_app_id(app_id);
  request.set_timestamp(timestamp);
  request.set_nonce("123456789");
  request.set_encrypt_type("aes");
  request.set_msg_signature(
      ComputeMsgSignature(token, timestamp, "123456789", *encrypt));
  request.set_signature(ComputeUrlSignature(token, timestamp, "123456789"));
  absl::StatusOr<std::string> body =
      BuildPushEnvelope(format, "gh_test", *encrypt);
  EXPECT_THAT(body, IsOk());
  request.set_body(*body);
  return request;
}

// The DecryptPush request for one `push` vector of wechat_vectors.json.
v1::DecryptPushRequest PushFromVector(const rapidjson::Value& v,
                                      const std::string& app_id) {
  v1::DecryptPushRequest request;
  request.set_app_id(app_id);
  request.set_msg_signature(v["msg_signature"].GetString());
  request.set_timestamp(v["timestamp"].GetString());
  request.set_nonce(v["nonce"].GetString());
  request.set_encrypt_type("aes");
  request.set_body(v["body"].GetString());
  return request;
}

constexpr char kTextMessage[] =
    "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
    "<FromUserName><![CDATA[user]]></FromUserName><CreateTime>1700000000</"
    "CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></"
    "xml>";

// The status, wx-error-code and error-reason of a failed call.
struct CallResult {
  grpc::Status status;
  std::string wx_error_code;
  std::string reason;
};

template <typename Request, typename Response, typename Method>
CallResult Call(v1::CryptoService::Stub& stub, Method method,
                const Request& request, Response& response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  CallResult result;
  result.status = (stub.*method)(&context, request, &response);
  for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
    if (key == "wx-error-code")
      result.wx_error_code = std::string(value.data(), value.size());
    if (key == "error-reason")
      result.reason = std::string(value.data(), value.size());
  }
  return result;
}

CallResult DecryptPush(v1::CryptoService::Stub& stub,
                       const v1::DecryptPushRequest& request,
                       v1::DecryptPushResponse& response) {
  return Call(stub, &v1::CryptoService::Stub::DecryptPush, request, response);
}

CallResult DecryptPush(v1::CryptoService::Stub& stub,
                       const v1::DecryptPushRequest& request) {
  v1::DecryptPushResponse response;
  return DecryptPush(stub, request, response);
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    dir_->WriteFile("config.json", TestConfig());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--config=" + dir_->path() + "/config.json",
                              "--drain-seconds=0",
                              "--max-request-bytes=65536"});
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    stub_ = v1::CryptoService::NewStub(grpc::CreateChannel(
        server_->grpc_address(), grpc::InsecureChannelCredentials()));
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<v1::CryptoService::Stub> stub_;
};

TempDir* ServerTest::dir_ = nullptr;
ServerProcess* ServerTest::server_ = nullptr;

TEST_F(ServerTest, DecryptPushOpensEveryPushVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  ASSERT_EQ(doc["push"].Size(), 2u);
  for (const auto& v : doc["push"].GetArray()) {
    SCOPED_TRACE(v["name"].GetString());
    v1::DecryptPushResponse response;
    CallResult result = DecryptPush(
        *stub_, PushFromVector(v, v["receive_id"].GetString()), response);
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(response.message(), v["expected_plaintext"].GetString());
    EXPECT_TRUE(response.encrypted());
    EXPECT_EQ(response.key_index(), 0u);
    const std::string format = v["envelope_format"].GetString();
    EXPECT_EQ(response.envelope_format(), format == "xml"
                                              ? v1::ENVELOPE_FORMAT_XML
                                              : v1::ENVELOPE_FORMAT_JSON);
    EXPECT_GT(response.fields().count("ToUserName"), 0u);
    EXPECT_GT(response.fields().count("MsgType"), 0u);
  }
}

TEST_F(ServerTest, DecryptPushExtractsFieldsOfOfficialSample) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["push"][0];
  v1::DecryptPushResponse response;
  ASSERT_TRUE(DecryptPush(*stub_, PushFromVector(v, kOfficialApp), response)
                  .status.ok());
  EXPECT_EQ(response.fields().at("ToUserName"), "gh_10f6c3c3ac5a");
  EXPECT_EQ(response.fields().at("MsgType"), "text");
  EXPECT_EQ(response.fields().at("Content"), "abcdteT");
  EXPECT_EQ(response.fields().at("MsgId"), "6054768590064713728");
}

TEST_F(ServerTest, DecryptPushAcceptsPlaintextVectorInCompatibleMode) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["plain_push"][0];
  v1::DecryptPushRequest request;
  request.set_app_id(kDocApp);
  request.set_signature(v["signature"].GetString());
  request.set_timestamp(v["timestamp"].GetString());
  request.set_nonce(v["nonce"].GetString());
  request.set_body(
      R"({"ToUserName":"gh_97417a04a28d","MsgType":"event","Event":"debug_demo","CreateTime":1714037059})");
  v1::DecryptPushResponse response;
  CallResult result = DecryptPush(*stub_, request, response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(response.encrypted());
  EXPECT_EQ(response.message(), request.body());
  EXPECT_EQ(response.envelope_format(), v1::ENVELOPE_FORMAT_JSON);
  EXPECT_EQ(response.fields().at("Event"), "debug_demo");
  EXPECT_EQ(response.fields().at("CreateTime"), "1714037059");
}

TEST_F(ServerTest, DecryptPushDecryptsCompatibilityModeBody) {
  // Compatible mode: plain fields and Encrypt side by side.
  v1::DecryptPushRequest request =
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage);
  absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(request.body());
  ASSERT_THAT(envelope, IsOk());
  request.set_body(absl::StrCat(
      "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>",
      "<MsgType><![CDATA[text]]></MsgType>",
      "<Content><![CDATA[plain copy]]></Content><Encrypt><![CDATA[",
      envelope->encrypt, "]]></Encrypt></xml>"));
  v1::DecryptPushResponse response;
  ASSERT_TRUE(DecryptPush(*stub_, request, response).status.ok());
  EXPECT_TRUE(response.encrypted());
  EXPECT_EQ(response.message(), kTextMessage);
  EXPECT_EQ(response.fields().at("Content"), "你好");
}

TEST_F(ServerTest,
       BuildEncryptedReplyRoundTripsThroughDecryptPushInEveryFormat) {
  for (v1::EnvelopeFormat format :
       {v1::ENVELOPE_FORMAT_XML, v1::ENVELOPE_FORMAT_JSON,
        v1::ENVELOPE_FORMAT_JSON_LOWERCASE}) {
    SCOPED_TRACE(v1::EnvelopeFormat_Name(format));
    v1::BuildEncryptedReplyRequest request;
    request.set_app_id(kDocApp);
    request.set_message(R"({"demo_resp":"good luck"})");
    request.set_envelope_format(format);
    v1::BuildEncryptedReplyResponse reply;
    CallResult result = Call(
        *stub_, &v1::CryptoService::Stub::BuildEncryptedReply, request, reply);
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(reply.content_type(), format == v1::ENVELOPE_FORMAT_XML
                                        ? "application/xml"
                                        : "application/json");
    EXPECT_FALSE(reply.nonce().empty());
    EXPECT_NEAR(std::stoll(reply.timestamp()), absl::ToUnixSeconds(absl::Now()),
                60);
    EXPECT_EQ(reply.msg_signature(),
              ComputeMsgSignature("AAAAA", reply.timestamp(), reply.nonce(),
                                  reply.encrypt()));
    // WeChat opens the reply the way the service opens a push.
    v1::DecryptPushRequest push;
    push.set_app_id(kDocApp);
    push.set_msg_signature(reply.msg_signature());
    push.set_timestamp(reply.timestamp());
    push.set_nonce(reply.nonce());
    push.set_encrypt_type("aes");
    push.set_body(reply.body());
    v1::DecryptPushResponse opened;
    result = DecryptPush(*stub_, push, opened);
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(opened.message(), request.message());
    EXPECT_EQ(opened.envelope_format(), format);
  }
}

TEST_F(ServerTest, BuildEncryptedReplyUsesGivenTimestampAndNonce) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["reply"][0];
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kDocApp);
  request.set_message(v["reply_plaintext"].GetString());
  request.set_envelope_format(v1::ENVELOPE_FORMAT_JSON);
  request.set_timestamp(v["timestamp"].GetString());
  request.set_nonce(v["nonce"].GetString());
  v1::BuildEncryptedReplyResponse reply;
  ASSERT_TRUE(Call(*stub_, &v1::CryptoService::Stub::BuildEncryptedReply,
                   request, reply)
                  .status.ok());
  EXPECT_EQ(reply.timestamp(), v["timestamp"].GetString());
  EXPECT_EQ(reply.nonce(), v["nonce"].GetString());
  EXPECT_THAT(reply.body(), HasSubstr(absl::StrCat(
                                "\"TimeStamp\":", v["timestamp"].GetString())));
  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create({kKeyB}, kDocApp);
  absl::StatusOr<DecryptedMessage> opened = crypt->Decrypt(reply.encrypt());
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->message, v["reply_plaintext"].GetString());
}

TEST_F(ServerTest, BuildEncryptedReplyOfEmptyMessageIsAFullReply) {
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kOfficialApp);
  request.set_message("");
  request.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  v1::BuildEncryptedReplyResponse reply;
  ASSERT_TRUE(Call(*stub_, &v1::CryptoService::Stub::BuildEncryptedReply,
                   request, reply)
                  .status.ok());
  EXPECT_THAT(reply.body(), HasSubstr("<Encrypt><![CDATA["));
  EXPECT_THAT(reply.body(), HasSubstr("<MsgSignature><![CDATA["));
  absl::StatusOr<MessageCrypt> crypt =
      MessageCrypt::Create({kKeyA}, kOfficialApp);
  absl::StatusOr<DecryptedMessage> opened = crypt->Decrypt(reply.encrypt());
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->message, "");
}

TEST_F(ServerTest, BuildEncryptedReplyBuildsWidgetData) {
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kDocApp);
  request.set_envelope_format(v1::ENVELOPE_FORMAT_JSON);
  v1::WidgetData* widget = request.mutable_widget_data();
  widget->set_to_user_name("o9AgO5Kd5ggOC-bXrbNODIiE3bGY");
  widget->set_from_user_name("gh_97417a04a28d");
  widget->set_create_time(1714112445);
  widget->set_lifespan(60);
  widget->set_query(R"({"key":"北京 \"quoted\""})");
  widget->set_scene(1);
  widget->set_data(R"({"items":[1,2]})");
  v1::BuildEncryptedReplyResponse reply;
  CallResult result = Call(
      *stub_, &v1::CryptoService::Stub::BuildEncryptedReply, request, reply);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create({kKeyB}, kDocApp);
  absl::StatusOr<DecryptedMessage> opened = crypt->Decrypt(reply.encrypt());
  ASSERT_THAT(opened, IsOk());
  absl::StatusOr<FieldList> fields = ExtractMessageFields(opened->message);
  ASSERT_THAT(fields, IsOk());
  std::string content;
  std::string msg_type;
  for (const auto& [name, value] : *fields) {
    if (name == "Content") content = value;
    if (name == "MsgType") msg_type = value;
  }
  EXPECT_EQ(msg_type, "widget_data");
  absl::StatusOr<FieldList> inner = ExtractMessageFields(content);
  ASSERT_THAT(inner, IsOk());
  std::string query;
  std::string data;
  for (const auto& [name, value] : *inner) {
    if (name == "query") query = value;
    if (name == "data") data = value;
  }
  EXPECT_EQ(query, widget->query());
  EXPECT_EQ(data, widget->data());
}

TEST_F(ServerTest, DecryptUserDataOpensDemoVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["user_data"][0];
  v1::DecryptUserDataRequest request;
  request.set_app_id(v["app_id"].GetString());
  request.set_session_key(v["session_key"].GetString());
  request.set_encrypted_data(v["encrypted_data"].GetString());
  request.set_iv(v["iv"].GetString());
  v1::DecryptUserDataResponse response;
  CallResult result = Call(*stub_, &v1::CryptoService::Stub::DecryptUserData,
                           request, response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(response.data(), v["expected_plaintext"].GetString());
  EXPECT_EQ(response.watermark_app_id(), v["app_id"].GetString());
  EXPECT_EQ(response.watermark_timestamp(), 1477314187);
}

TEST_F(ServerTest, DecryptUserDataFailuresAreIndistinguishable) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  std::vector<v1::DecryptUserDataRequest> requests;
  for (const auto& v : doc["user_data"].GetArray()) {
    v1::DecryptUserDataRequest request;
    request.set_app_id(v["app_id"].GetString());
    request.set_session_key(v["session_key"].GetString());
    request.set_encrypted_data(v["encrypted_data"].GetString());
    request.set_iv(v["iv"].GetString());
    requests.push_back(request);
  }
  requests[0].set_app_id("wx0000000000000000");  // watermark mismatch
  v1::DecryptUserDataRequest too_old = requests[0];
  too_old.set_app_id(doc["user_data"][0]["app_id"].GetString());
  too_old.set_max_age_seconds(60);  // the demo watermark is from 2016
  requests.push_back(too_old);
  std::vector<CallResult> results;
  for (const auto& request : requests) {
    v1::DecryptUserDataResponse response;
    results.push_back(Call(*stub_, &v1::CryptoService::Stub::DecryptUserData,
                           request, response));
  }
  ASSERT_EQ(results.size(), 3u);
  for (const CallResult& result : results) {
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(result.status.error_message(), results[0].status.error_message());
    EXPECT_EQ(result.status.error_details(), results[0].status.error_details());
    EXPECT_EQ(result.wx_error_code, "-41003");
    EXPECT_EQ(result.reason, "USER_DATA_INVALID");
  }
}

TEST_F(ServerTest, VerifyRawDataChecksDocumentationVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["raw_data"][0];
  v1::VerifyRawDataRequest request;
  request.set_raw_data(v["raw_data"].GetString());
  request.set_signature(v["signature"].GetString());
  request.set_session_key(v["session_key"].GetString());
  v1::VerifyRawDataResponse response;
  ASSERT_TRUE(
      Call(*stub_, &v1::CryptoService::Stub::VerifyRawData, request, response)
          .status.ok());
  EXPECT_TRUE(response.valid());
  request.set_raw_data(request.raw_data() + " ");
  ASSERT_TRUE(
      Call(*stub_, &v1::CryptoService::Stub::VerifyRawData, request, response)
          .status.ok());
  EXPECT_FALSE(response.valid());
}

TEST_F(ServerTest, VerifyUrlEchoesForSignature) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["url_verify"][0];
  v1::VerifyUrlRequest request;
  request.set_app_id(kDocApp);
  request.set_signature(v["signature"].GetString());
  request.set_timestamp(v["timestamp"].GetString());
  request.set_nonce(v["nonce"].GetString());
  request.set_echostr(v["echostr"].GetString());
  v1::VerifyUrlResponse response;
  CallResult result =
      Call(*stub_, &v1::CryptoService::Stub::VerifyUrl, request, response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(response.echostr(), v["echostr"].GetString());
  request.set_nonce("1");
  result = Call(*stub_, &v1::CryptoService::Stub::VerifyUrl, request, response);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(result.wx_error_code, "-40001");
}

TEST_F(ServerTest, VerifyUrlDecryptsEchostrForMsgSignature) {
  // WeCom: echostr is encrypted for the corp id and covered by msg_signature.
  absl::StatusOr<MessageCrypt> crypt =
      MessageCrypt::Create({kKeyC}, kWeComCorpId);
  const std::string echostr = *crypt->Encrypt("1616140317555161061");
  v1::VerifyUrlRequest request;
  request.set_app_id(kWeComApp);
  request.set_timestamp("1700000000");
  request.set_nonce("42");
  request.set_echostr(echostr);
  request.set_msg_signature(
      ComputeMsgSignature("wecomtoken", "1700000000", "42", echostr));
  v1::VerifyUrlResponse response;
  CallResult result =
      Call(*stub_, &v1::CryptoService::Stub::VerifyUrl, request, response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(response.echostr(), "1616140317555161061");
}

// One row of the error table: a request and the status it must get.
struct ErrorCase {
  std::string name;
  v1::DecryptPushRequest request;
  grpc::StatusCode code;
  std::string wx_error_code;
  std::string reason;
};

TEST_F(ServerTest, DecryptPushErrorClassesCarryStatusAndMetadata) {
  const v1::DecryptPushRequest good =
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage);
  std::vector<ErrorCase> cases;
  auto add = [&](const std::string& name, auto mutate, grpc::StatusCode code,
                 const std::string& wx_code, const std::string& reason) {
    v1::DecryptPushRequest request = good;
    mutate(request);
    cases.push_back({name, request, code, wx_code, reason});
  };
  add(
      "unknown app", [](auto& r) { r.set_app_id("wxunknown"); },
      grpc::StatusCode::NOT_FOUND, "-40005", "APP_NOT_FOUND");
  add(
      "bad msg_signature",
      [](auto& r) { r.set_msg_signature(std::string(40, 'a')); },
      grpc::StatusCode::UNAUTHENTICATED, "-40001", "SIGNATURE_MISMATCH");
  add(
      "missing msg_signature", [](auto& r) { r.clear_msg_signature(); },
      grpc::StatusCode::UNAUTHENTICATED, "-40001", "SIGNATURE_MISSING");
  add(
      "other nonce", [](auto& r) { r.set_nonce("1"); },
      grpc::StatusCode::UNAUTHENTICATED, "-40001", "SIGNATURE_MISMATCH");
  add(
      "bad encrypt_type", [](auto& r) { r.set_encrypt_type("des"); },
      grpc::StatusCode::INVALID_ARGUMENT, "-40008", "ENCRYPT_TYPE_INVALID");
  add(
      "body not XML", [](auto& r) { r.set_body("not a body"); },
      grpc::StatusCode::INVALID_ARGUMENT, "-40002", "ENVELOPE_INVALID");
  add(
      "body with DOCTYPE",
      [](auto& r) {
        r.set_body(
            "<!DOCTYPE xml [<!ENTITY e "
            "\"x\">]><xml><Encrypt>&e;</Encrypt></xml>");
      },
      grpc::StatusCode::INVALID_ARGUMENT, "-40002", "ENVELOPE_INVALID");
  add(
      "no Encrypt",
      [](auto& r) { r.set_body("<xml><ToUserName>x</ToUserName></xml>"); },
      grpc::StatusCode::INVALID_ARGUMENT, "-40002", "ENCRYPT_MISSING");
  add(
      "plaintext, bad signature",
      [](auto& r) {
        r.clear_encrypt_type();
        r.set_signature(std::string(40, 'b'));
      },
      grpc::StatusCode::UNAUTHENTICATED, "-40001", "SIGNATURE_MISMATCH");
  cases.push_back({"plaintext to secure app",
                   [&] {
                     v1::DecryptPushRequest r = good;
                     r.set_app_id(kSecureApp);
                     r.clear_encrypt_type();
                     r.set_signature(ComputeUrlSignature("AAAAA", r.timestamp(),
                                                         r.nonce()));
                     return r;
                   }(),
                   grpc::StatusCode::FAILED_PRECONDITION, "-40001",
                   "PLAINTEXT_NOT_ALLOWED"});
  cases.push_back({"timestamp outside window",
                   SealPush(kWindowApp, "windowtoken", kKeyC, kWindowApp,
                            kTextMessage, EnvelopeFormat::kXml, "1409735669"),
                   grpc::StatusCode::UNAUTHENTICATED, "-40001",
                   "TIMESTAMP_OUT_OF_WINDOW"});
  cases.push_back({"timestamp not a number",
                   SealPush(kWindowApp, "windowtoken", kKeyC, kWindowApp,
                            kTextMessage, EnvelopeFormat::kXml, "soon"),
                   grpc::StatusCode::UNAUTHENTICATED, "-40001",
                   "TIMESTAMP_INVALID"});
  cases.push_back({"wrong receive id",
                   SealPush(kOfficialApp, "spamtest", kKeyA,
                            "wxsomeoneelse00000", kTextMessage),
                   grpc::StatusCode::INVALID_ARGUMENT, "-40005",
                   "RECEIVE_ID_MISMATCH"});
  cases.push_back(
      {"sealed with an unknown key",
       SealPush(kOfficialApp, "spamtest", kKeyC, kOfficialApp, kTextMessage),
       grpc::StatusCode::INVALID_ARGUMENT, "-40007", "DECRYPT_FAILED"});
  {
    // Encrypt that is not base64, correctly signed: reaches the decoder.
    v1::DecryptPushRequest r = good;
    const std::string encrypt = "not*base64";
    r.set_body("<xml><Encrypt><![CDATA[not*base64]]></Encrypt></xml>");
    r.set_msg_signature(
        ComputeMsgSignature("spamtest", r.timestamp(), r.nonce(), encrypt));
    cases.push_back({"Encrypt not base64", r,
                     grpc::StatusCode::INVALID_ARGUMENT, "-40010",
                     "BASE64_INVALID"});
  }
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    CallResult result = DecryptPush(*stub_, c.request);
    EXPECT_EQ(result.status.error_code(), c.code)
        << result.status.error_message();
    EXPECT_EQ(result.wx_error_code, c.wx_error_code);
    EXPECT_EQ(result.reason, c.reason);
    EXPECT_THAT(result.status.error_message(), Not(HasSubstr("spamtest")));
    EXPECT_THAT(result.status.error_message(), Not(HasSubstr(kKeyA)));
  }
}

TEST_F(ServerTest,
       BuildEncryptedReplyRejectsUnspecifiedFormatAndUnknownKeyIndex) {
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kOfficialApp);
  request.set_message("hi");
  v1::BuildEncryptedReplyResponse reply;
  CallResult result = Call(
      *stub_, &v1::CryptoService::Stub::BuildEncryptedReply, request, reply);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.wx_error_code, "-40011");
  EXPECT_EQ(result.reason, "ENVELOPE_FORMAT_INVALID");
  request.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  request.set_key_index(3);
  result = Call(*stub_, &v1::CryptoService::Stub::BuildEncryptedReply, request,
                reply);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.reason, "KEY_INDEX_INVALID");
  request.set_key_index(0);
  request.set_timestamp("12:00");
  result = Call(*stub_, &v1::CryptoService::Stub::BuildEncryptedReply, request,
                reply);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.wx_error_code, "-40011");
}

TEST_F(ServerTest, OversizedRequestIsResourceExhausted) {
  v1::DecryptPushRequest request =
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage);
  request.set_body(
      std::string(70000, 'x'));  // the server runs with a 64 KiB limit
  CallResult result = DecryptPush(*stub_, request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(result.reason, "REQUEST_TOO_LARGE");
  // Far beyond the limit the transport itself refuses; still
  // RESOURCE_EXHAUSTED.
  request.set_body(std::string(1 << 20, 'x'));
  result = DecryptPush(*stub_, request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServerTest, HealthServiceReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      server_->grpc_address(), grpc::InsecureChannelCredentials()));
  for (const char* service : {"", "wxcrypto.v1.CryptoService"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(ServerTest, MetricsScrapePassesPromtoolAndCountsRequests) {
  ASSERT_TRUE(DecryptPush(*stub_, SealPush(kOfficialApp, "spamtest", kKeyA,
                                           kOfficialApp, kTextMessage))
                  .status.ok());
  DecryptPush(*stub_,
              SealPush("wxunknown", "x", kKeyA, kOfficialApp, kTextMessage));
  absl::StatusOr<std::string> metrics =
      testing::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_THAT(metrics, IsOk());
  for (const char* name :
       {"wxcrypto_requests_total{", "wxcrypto_request_duration_seconds_bucket{",
        "wxcrypto_failures_total{", "wxcrypto_previous_key_decrypts_total{",
        "wxcrypto_config_reloads_total{", "wxcrypto_config_generation ",
        "wxcrypto_apps_configured ", "wxcrypto_build_info{"}) {
    EXPECT_THAT(*metrics, HasSubstr(name));
  }
  // prometheus-cpp writes labels sorted by name.
  EXPECT_THAT(
      *metrics,
      HasSubstr(R"(wxcrypto_requests_total{code="OK",method="DecryptPush"})"));
  EXPECT_THAT(*metrics, HasSubstr(R"(reason="APP_NOT_FOUND")"));
  EXPECT_THAT(*metrics, HasSubstr(R"(crypto_provider="openssl")"));
  EXPECT_THAT(*metrics, HasSubstr("wxcrypto_apps_configured 5"));
  // App ids come only from the config: the unknown one must not appear.
  EXPECT_THAT(*metrics, Not(HasSubstr("wxunknown")));
  absl::StatusOr<std::pair<int, std::string>> check =
      testing::RunWithInput("promtool check metrics", *metrics);
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->first, 0) << check->second;
}

TEST_F(ServerTest, LogsNeverContainSecrets) {
  DecryptPush(*stub_, SealPush(kOfficialApp, "spamtest", kKeyC, kOfficialApp,
                               kTextMessage));
  for (const std::string& line : server_->LogLines()) {
    EXPECT_THAT(line, Not(HasSubstr("spamtest")));
    EXPECT_THAT(line, Not(HasSubstr("windowtoken")));
    EXPECT_THAT(line, Not(HasSubstr(kKeyA)));
    EXPECT_THAT(line, Not(HasSubstr(kKeyB)));
    EXPECT_THAT(line, Not(HasSubstr("你好")));
  }
}

// Lifecycle tests start their own server.

std::unique_ptr<v1::CryptoService::Stub> StubFor(const ServerProcess& server) {
  return v1::CryptoService::NewStub(grpc::CreateChannel(
      server.grpc_address(), grpc::InsecureChannelCredentials()));
}

TEST(ServerLifecycleTest, KeyRotationByConfigRewriteLosesNoRequest) {
  TempDir dir;
  dir.WriteFile("config.json", TestConfig(kKeyA));
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({"--config=" + dir.path() + "/config.json",
                            "--config-poll-seconds=0.05"});
  ASSERT_THAT(server, IsOk());
  auto stub = StubFor(**server);
  // Pushes sealed with A, the key WeChat still uses during the rotation.
  const v1::DecryptPushRequest push =
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> opened_by_previous{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        v1::DecryptPushResponse response;
        CallResult result = DecryptPush(*stub, push, response);
        if (result.status.ok() && response.message() == kTextMessage) {
          ++ok;
          if (response.key_index() == 1) ++opened_by_previous;
        } else {
          ++failed;
        }
      }
    });
  }
  // Rotate: B becomes current and A previous, then back, several times.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    dir.WriteFile("config.json",
                  i % 2 == 0 ? TestConfig(kKeyB, kKeyA) : TestConfig(kKeyA));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_GT(opened_by_previous.load(), 0);
  absl::StatusOr<std::string> metrics =
      testing::HttpGet((*server)->metrics_port(), "/metrics");
  ASSERT_THAT(metrics, IsOk());
  EXPECT_THAT(*metrics, HasSubstr(absl::StrCat(
                            R"(wxcrypto_previous_key_decrypts_total{app_id=")",
                            kOfficialApp)));
  EXPECT_THAT(
      *metrics,
      Not(HasSubstr(R"(wxcrypto_config_reloads_total{result="success"} 0)")));
}

TEST(ServerLifecycleTest, BadConfigRewriteKeepsOldConfigServing) {
  TempDir dir;
  dir.WriteFile("config.json", TestConfig());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({"--config=" + dir.path() + "/config.json",
                            "--config-poll-seconds=0.05"});
  ASSERT_THAT(server, IsOk());
  dir.WriteFile("config.json",
                absl::StrReplaceAll(TestConfig(), {{kKeyA, "too-short"}}));
  ASSERT_TRUE((*server)->WaitForLogLine("config reload failed",
                                        std::chrono::seconds(10)));
  auto stub = StubFor(**server);
  CallResult result = DecryptPush(
      *stub,
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage));
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  absl::StatusOr<std::string> metrics =
      testing::HttpGet((*server)->metrics_port(), "/metrics");
  ASSERT_THAT(metrics, IsOk());
  EXPECT_THAT(
      *metrics,
      HasSubstr(R"(wxcrypto_config_reloads_total{result="failure"} 1)"));
  // The failure is logged naming the field, never the bad value.
  for (const std::string& line : (*server)->LogLines()) {
    EXPECT_THAT(line, Not(HasSubstr("too-short")));
  }
}

TEST(ServerLifecycleTest, SigtermDrainsInFlightCallsAndExitsZero) {
  TempDir dir;
  dir.WriteFile("config.json", TestConfig());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--config=" + dir.path() + "/config.json", "--drain-seconds=1",
       "--shutdown-timeout-seconds=5"});
  ASSERT_THAT(server, IsOk());
  auto stub = StubFor(**server);
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      (*server)->grpc_address(), grpc::InsecureChannelCredentials()));
  const v1::DecryptPushRequest push =
      SealPush(kOfficialApp, "spamtest", kKeyA, kOfficialApp, kTextMessage);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed_while_serving{0};
  std::mutex failures_mu;
  std::string failures;
  std::thread client([&] {
    while (!stop.load()) {
      CallResult result = DecryptPush(*stub, push);
      if (result.status.ok()) {
        ++ok;
      } else if (!((result.status.error_code() ==
                        grpc::StatusCode::UNAVAILABLE ||
                    result.status.error_code() ==
                        grpc::StatusCode::CANCELLED) &&
                   result.wx_error_code.empty())) {
        // Once gRPC's Shutdown starts, the transport refuses new calls
        // (UNAVAILABLE, or CANCELLED for a stream that raced the shutdown)
        // before any handler sees them. A call that reached the service
        // must never fail.
        ++failed_while_serving;
        std::lock_guard<std::mutex> lock(failures_mu);
        failures += absl::StrCat(result.status.error_code(), " ",
                                 result.status.error_message(), "\n");
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int ok_before = ok.load();
  (*server)->Signal(SIGTERM);
  ASSERT_TRUE(
      (*server)->WaitForLogLine("NOT_SERVING", std::chrono::seconds(5)));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("wxcrypto.v1.CryptoService");
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // During the drain the service still answers.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(ok.load(), ok_before);
  absl::StatusOr<int> exit_code =
      (*server)->WaitForExit(std::chrono::seconds(15));
  stop = true;
  client.join();
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_EQ(failed_while_serving.load(), 0) << failures;
}

TEST(ServerLifecycleTest, StartsOnEmbeddedDemoConfigAndSaysSo) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({});
  ASSERT_THAT(server, IsOk());
  EXPECT_TRUE((*server)->WaitForLogLine("EMBEDDED DEMO CONFIG",
                                        std::chrono::seconds(1)));
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  const auto& v = doc["push"][1];
  auto stub = StubFor(**server);
  v1::DecryptPushResponse response;
  CallResult result = DecryptPush(
      *stub, PushFromVector(v, v["receive_id"].GetString()), response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(response.message(), v["expected_plaintext"].GetString());
}

TEST(ServerLifecycleTest, RefusesToStartOnInvalidConfig) {
  TempDir dir;
  dir.WriteFile("config.json",
                R"({"apps":[{"app_id":"wx1","token":"t"}], "extra": 1})");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--config=" + dir.path() + "/config.json"}, std::chrono::seconds(10));
  EXPECT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("cannot load config"));
}

}  // namespace
}  // namespace wxcrypto
