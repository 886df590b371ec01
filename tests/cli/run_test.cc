// Runs wxcrypto-cli's commands in-process: RPC commands against a fake
// CryptoService on a local port (flag-to-field mapping, output, error lines,
// exit codes), offline commands and usage errors directly.
#include "client/cli/run.h"

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::string_view kToken = "spamtest";
constexpr absl::string_view kKey =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kReceiveId = "wx2c2769f8efd9abc2";

// Records each request and answers from canned values. app_id "reject"
// fails like the real service does for a bad signature; "slow" answers
// after a second.
class FakeCryptoService final : public v1::CryptoService::Service {
 public:
  grpc::Status DecryptPush(grpc::ServerContext* context,
                           const v1::DecryptPushRequest* request,
                           v1::DecryptPushResponse* response) override {
    Record(*request);
    if (request->app_id() == "reject") {
      context->AddTrailingMetadata("wx-error-code", "-40001");
      context->AddTrailingMetadata("error-reason", "SIGNATURE_MISMATCH");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "msg_signature does not match");
    }
    response->set_message(
        "<xml><Content><![CDATA[\xe4\xbd\xa0]]></Content></xml>");
    response->set_envelope_format(v1::ENVELOPE_FORMAT_XML);
    response->set_encrypted(true);
    (*response->mutable_fields())["Content"] = "\xe4\xbd\xa0";
    return grpc::Status::OK;
  }

  grpc::Status BuildEncryptedReply(
      grpc::ServerContext*, const v1::BuildEncryptedReplyRequest* request,
      v1::BuildEncryptedReplyResponse* response) override {
    Record(*request);
    response->set_body("<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>");
    response->set_content_type("application/xml");
    response->set_encrypt("abc");
    return grpc::Status::OK;
  }

  grpc::Status DecryptUserData(grpc::ServerContext*,
                               const v1::DecryptUserDataRequest* request,
                               v1::DecryptUserDataResponse* response) override {
    Record(*request);
    response->set_data(R"({"openId":"o1"})");
    response->set_watermark_app_id(request->app_id());
    response->set_watermark_timestamp(1477314187);
    return grpc::Status::OK;
  }

  grpc::Status VerifyRawData(grpc::ServerContext*,
                             const v1::VerifyRawDataRequest* request,
                             v1::VerifyRawDataResponse* response) override {
    Record(*request);
    response->set_valid(request->signature() == "good");
    return grpc::Status::OK;
  }

  grpc::Status VerifyUrl(grpc::ServerContext*,
                         const v1::VerifyUrlRequest* request,
                         v1::VerifyUrlResponse* response) override {
    Record(*request);
    if (request->app_id() == "slow") {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (request->app_id() == "draining") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    }
    response->set_echostr(request->echostr());
    return grpc::Status::OK;
  }

  // Returns the requests received so far, in text format.
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // Returns the last request received, parsed as `T`.
  template <typename T>
  T last() {
    absl::MutexLock lock(&mu_);
    T message;
    EXPECT_FALSE(requests_.empty());
    if (!requests_.empty()) message.ParseFromString(requests_.back());
    return message;
  }

 private:
  void Record(const google::protobuf::Message& request) {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request.SerializeAsString());
  }

  absl::Mutex mu_;
  std::vector<std::string> requests_;
};

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunCli(std::vector<std::string> args,
              const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out;
  std::ostringstream err;
  const int exit_code = Run(args, in, out, err);
  return {exit_code, out.str(), err.str()};
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

// Checks that `result` failed with `exit_code` and one JSON error line, and
// returns the parsed "error" object.
rapidjson::Document ExpectError(const Result& result, int exit_code) {
  EXPECT_EQ(result.exit_code, exit_code) << result.err;
  EXPECT_THAT(result.out, IsEmpty());
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  rapidjson::Document doc = ParseJson(result.err);
  EXPECT_TRUE(doc.IsObject() && doc.HasMember("error")) << result.err;
  return doc;
}

// Returns a local port nothing listens on.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

class RunRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    addr_ = absl::StrCat("127.0.0.1:", port);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // `args` plus --addr of the fake.
  Result Call(std::vector<std::string> args,
              const std::string& stdin_text = "") {
    args.push_back("--addr");
    args.push_back(addr_);
    return RunCli(std::move(args), stdin_text);
  }

  FakeCryptoService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string addr_;
};

TEST_F(RunRpcTest, DecryptPushSendsEachFlagAsItsFieldAndPrintsJson) {
  Result result =
      Call({"decrypt-push", "--app-id", "wx1", "--msg-signature", "ms",
            "--signature", "s", "--timestamp", "123", "--nonce", "n",
            "--encrypt-type", "aes", "--body", "<xml/>"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
  auto request = service_.last<v1::DecryptPushRequest>();
  EXPECT_EQ(request.app_id(), "wx1");
  EXPECT_EQ(request.msg_signature(), "ms");
  EXPECT_EQ(request.signature(), "s");
  EXPECT_EQ(request.timestamp(), "123");
  EXPECT_EQ(request.nonce(), "n");
  EXPECT_EQ(request.encrypt_type(), "aes");
  EXPECT_EQ(request.body(), "<xml/>");

  ASSERT_EQ(result.out.back(), '\n');
  rapidjson::Document doc = ParseJson(result.out);
  EXPECT_STREQ(doc["message_text"].GetString(),
               "<xml><Content><![CDATA[\xe4\xbd\xa0]]></Content></xml>");
  EXPECT_TRUE(doc["message"].IsString());
  EXPECT_STREQ(doc["envelope_format"].GetString(), "ENVELOPE_FORMAT_XML");
  EXPECT_TRUE(doc["encrypted"].GetBool());
  EXPECT_EQ(doc["key_index"].GetUint(), 0u);
  EXPECT_STREQ(doc["fields"]["Content"].GetString(), "\xe4\xbd\xa0");
}

TEST_F(RunRpcTest, DecryptPushTakesQueryParametersAndFlagsOverrideThem) {
  Result result =
      Call({"decrypt-push", "--app-id", "wx1", "--query",
            "https://gw.example/wechat?signature=s1&timestamp=1409735669&nonce="
            "a%20b&openid=o1&encrypt_type=aes&msg_signature=m1",
            "--nonce", "override", "--body", "x"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = service_.last<v1::DecryptPushRequest>();
  EXPECT_EQ(request.signature(), "s1");
  EXPECT_EQ(request.timestamp(), "1409735669");
  EXPECT_EQ(request.nonce(), "override");
  EXPECT_EQ(request.encrypt_type(), "aes");
  EXPECT_EQ(request.msg_signature(), "m1");
}

TEST_F(RunRpcTest, DecryptPushReadsTheBodyFromStdin) {
  Result result = Call({"decrypt-push", "--app-id", "wx1", "--body-file", "-"},
                       std::string("<xml>\0</xml>", 12));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(service_.last<v1::DecryptPushRequest>().body(),
            std::string("<xml>\0</xml>", 12));
}

TEST_F(RunRpcTest, DecryptPushOutputMessagePrintsOnlyTheMessageBytes) {
  Result result = Call({"decrypt-push", "--app-id", "wx1", "--body", "x",
                        "--output", "message"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "<xml><Content><![CDATA[\xe4\xbd\xa0]]></Content></xml>");
}

TEST_F(RunRpcTest, RpcErrorPrintsCodeWxErrorCodeAndReasonAndExits1) {
  Result result = Call({"decrypt-push", "--app-id", "reject", "--body", "x"});
  rapidjson::Document doc = ExpectError(result, 1);
  const rapidjson::Value& error = doc["error"];
  EXPECT_STREQ(error["code"].GetString(), "UNAUTHENTICATED");
  EXPECT_STREQ(error["message"].GetString(), "msg_signature does not match");
  EXPECT_EQ(error["wx_error_code"].GetInt(), -40001);
  EXPECT_STREQ(error["reason"].GetString(), "SIGNATURE_MISMATCH");
}

TEST_F(RunRpcTest, BuildReplySendsMessageFormatAndOptionalFields) {
  Result result =
      Call({"build-reply", "--app-id", "wx1", "--format",
            "ENVELOPE_FORMAT_JSON_LOWERCASE", "--message", "{}", "--timestamp",
            "1", "--nonce", "n", "--key-index", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = service_.last<v1::BuildEncryptedReplyRequest>();
  EXPECT_EQ(request.envelope_format(), v1::ENVELOPE_FORMAT_JSON_LOWERCASE);
  EXPECT_EQ(request.reply_case(), v1::BuildEncryptedReplyRequest::kMessage);
  EXPECT_EQ(request.message(), "{}");
  EXPECT_EQ(request.timestamp(), "1");
  EXPECT_EQ(request.nonce(), "n");
  EXPECT_EQ(request.key_index(), 2u);
  rapidjson::Document doc = ParseJson(result.out);
  EXPECT_STREQ(doc["body_text"].GetString(),
               "<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>");
  EXPECT_STREQ(doc["content_type"].GetString(), "application/xml");
  EXPECT_STREQ(doc["msg_signature"].GetString(), "");
}

TEST_F(RunRpcTest, BuildReplyOutputBodyPrintsOnlyTheBody) {
  Result result = Call({"build-reply", "--app-id", "wx1", "--format", "xml",
                        "--output", "body"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>");
  // No message and no widget: the oneof stays unset (an empty reply).
  EXPECT_EQ(service_.last<v1::BuildEncryptedReplyRequest>().reply_case(),
            v1::BuildEncryptedReplyRequest::REPLY_NOT_SET);
}

TEST_F(RunRpcTest, BuildReplySendsWidgetData) {
  Result result =
      Call({"build-reply", "--app-id", "wx1", "--format", "json",
            "--widget-to-user-name", "o_user", "--widget-from-user-name",
            "gh_1", "--widget-create-time", "1700000000", "--widget-lifespan",
            "60", "--widget-query", R"({"q":1})", "--widget-scene", "1",
            "--widget-data", R"({"items":[]})"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = service_.last<v1::BuildEncryptedReplyRequest>();
  ASSERT_EQ(request.reply_case(), v1::BuildEncryptedReplyRequest::kWidgetData);
  EXPECT_EQ(request.widget_data().to_user_name(), "o_user");
  EXPECT_EQ(request.widget_data().from_user_name(), "gh_1");
  EXPECT_EQ(request.widget_data().create_time(), 1700000000);
  EXPECT_EQ(request.widget_data().lifespan(), 60);
  EXPECT_EQ(request.widget_data().query(), R"({"q":1})");
  EXPECT_EQ(request.widget_data().scene(), 1);
  EXPECT_EQ(request.widget_data().data(), R"({"items":[]})");
}

TEST_F(RunRpcTest, BuildReplyRejectsMessageWithWidgetFlagsAndSendsNothing) {
  Result result = Call({"build-reply", "--app-id", "wx1", "--format", "xml",
                        "--message", "x", "--widget-data", "{}"});
  rapidjson::Document doc = ExpectError(result, 2);
  EXPECT_STREQ(doc["error"]["reason"].GetString(), "USAGE");
  EXPECT_THAT(service_.requests(), IsEmpty());
}

TEST_F(RunRpcTest, BuildReplyRequiresFormat) {
  Result result = Call({"build-reply", "--app-id", "wx1", "--message", "x"});
  rapidjson::Document doc = ExpectError(result, 2);
  EXPECT_THAT(doc["error"]["message"].GetString(), HasSubstr("--format"));
  EXPECT_THAT(service_.requests(), IsEmpty());
}

TEST_F(RunRpcTest, BuildReplyRejectsAKeyIndexOutOfRange) {
  Result result = Call({"build-reply", "--app-id", "wx1", "--format", "xml",
                        "--key-index", "-1"});
  ExpectError(result, 2);
  EXPECT_THAT(service_.requests(), IsEmpty());
}

TEST_F(RunRpcTest, DecryptUserDataSendsFieldsAndPrintsDataText) {
  Result result = Call({"decrypt-user-data", "--app-id", "wx4f",
                        "--session-key", "sk==", "--encrypted-data",
                        "ed==", "--iv", "iv==", "--max-age-seconds", "600"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = service_.last<v1::DecryptUserDataRequest>();
  EXPECT_EQ(request.app_id(), "wx4f");
  EXPECT_EQ(request.session_key(), "sk==");
  EXPECT_EQ(request.encrypted_data(), "ed==");
  EXPECT_EQ(request.iv(), "iv==");
  EXPECT_EQ(request.max_age_seconds(), 600);
  rapidjson::Document doc = ParseJson(result.out);
  EXPECT_STREQ(doc["data_text"].GetString(), R"({"openId":"o1"})");
  EXPECT_STREQ(doc["watermark_app_id"].GetString(), "wx4f");
  EXPECT_STREQ(doc["watermark_timestamp"].GetString(), "1477314187");
}

TEST_F(RunRpcTest, DecryptUserDataRequiresTheIv) {
  Result result = Call({"decrypt-user-data", "--app-id", "wx4f",
                        "--session-key", "sk==", "--encrypted-data", "ed=="});
  rapidjson::Document doc = ExpectError(result, 2);
  EXPECT_THAT(doc["error"]["message"].GetString(),
              HasSubstr("missing required flag --iv"));
}

TEST_F(RunRpcTest, VerifyRawDataPrintsValidFalseAndStillExits0) {
  Result result = Call({"verify-raw-data", "--raw-data", "{}", "--signature",
                        "bad", "--session-key", "sk"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"valid\":false}\n");
  result = Call({"verify-raw-data", "--raw-data", "{}", "--signature", "good",
                 "--session-key", "sk"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"valid\":true}\n");
  auto request = service_.last<v1::VerifyRawDataRequest>();
  EXPECT_EQ(request.raw_data(), "{}");
  EXPECT_EQ(request.session_key(), "sk");
}

TEST_F(RunRpcTest, VerifyUrlUrlDecodesQueryValues) {
  Result result =
      Call({"verify-url", "--app-id", "ww1", "--query",
            "msg_signature=m&timestamp=1&nonce=2&echostr=a%2Bb%3D%3D"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto request = service_.last<v1::VerifyUrlRequest>();
  EXPECT_EQ(request.msg_signature(), "m");
  EXPECT_EQ(request.timestamp(), "1");
  EXPECT_EQ(request.nonce(), "2");
  EXPECT_EQ(request.echostr(), "a+b==");
  EXPECT_EQ(result.out, "{\"echostr\":\"a+b==\"}\n");
}

TEST_F(RunRpcTest, VerifyUrlRejectsABadPercentEscape) {
  ExpectError(Call({"verify-url", "--app-id", "ww1", "--query", "echostr=%zz"}),
              2);
  EXPECT_THAT(service_.requests(), IsEmpty());
}

TEST_F(RunRpcTest, DeadlineExceededExits3) {
  Result result = Call({"verify-url", "--app-id", "slow", "--echostr", "e",
                        "--timeout-seconds", "0.2"});
  rapidjson::Document doc = ExpectError(result, 3);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "DEADLINE_EXCEEDED");
  EXPECT_FALSE(doc["error"].HasMember("wx_error_code"));
}

TEST_F(RunRpcTest, UnavailableFromTheServerExits3) {
  Result result =
      Call({"verify-url", "--app-id", "draining", "--echostr", "e"});
  rapidjson::Document doc = ExpectError(result, 3);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNAVAILABLE");
}

TEST_F(RunRpcTest, TlsToAPlaintextServerFailsAsUnreachable) {
  ExpectError(Call({"verify-url", "--app-id", "ww1", "--echostr", "e", "--tls",
                    "--timeout-seconds", "2"}),
              3);
}

TEST_F(RunRpcTest, UnreadableTlsFilesAreAUsageError) {
  Result result = Call({"verify-url", "--app-id", "ww1", "--echostr", "e",
                        "--tls-ca", "/nonexistent/ca.pem"});
  rapidjson::Document doc = ExpectError(result, 2);
  EXPECT_THAT(doc["error"]["message"].GetString(), HasSubstr("--tls-ca"));
  ExpectError(Call({"verify-url", "--app-id", "ww1", "--echostr", "e",
                    "--tls-cert", "/nonexistent/cert.pem"}),
              2);
}

TEST_F(RunRpcTest, BadTimeoutIsAUsageError) {
  for (const char* timeout : {"0", "-1", "abc", "nan", "1e9"}) {
    SCOPED_TRACE(timeout);
    ExpectError(
        Call({"verify-url", "--app-id", "ww1", "--timeout-seconds", timeout}),
        2);
  }
  EXPECT_THAT(service_.requests(), IsEmpty());
}

TEST(RunTest, UnreachableServerExits3WithUnavailable) {
  Result result = RunCli({"verify-url", "--app-id", "ww1", "--echostr", "e",
                          "--addr", absl::StrCat("127.0.0.1:", UnusedPort())});
  rapidjson::Document doc = ExpectError(result, 3);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNAVAILABLE");
}

TEST(RunTest, NoArgumentsIsAUsageError) {
  rapidjson::Document doc = ExpectError(RunCli({}), 2);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "INVALID_ARGUMENT");
  EXPECT_STREQ(doc["error"]["reason"].GetString(), "USAGE");
}

TEST(RunTest, UnknownCommandIsAUsageErrorNamingIt) {
  rapidjson::Document doc = ExpectError(RunCli({"decrypt-pushh"}), 2);
  EXPECT_THAT(doc["error"]["message"].GetString(),
              HasSubstr("unknown command 'decrypt-pushh'"));
}

TEST(RunTest, UnknownFlagIsAUsageErrorNamingCommandAndFlag) {
  rapidjson::Document doc =
      ExpectError(RunCli({"seal-push", "--tokn", "x"}), 2);
  EXPECT_THAT(doc["error"]["message"].GetString(),
              HasSubstr("seal-push: unknown flag --tokn"));
}

TEST(RunTest, ConnectionFlagsAreUnknownToOfflineCommands) {
  ExpectError(RunCli({"seal-push", "--addr", "127.0.0.1:1"}), 2);
}

TEST(RunTest, HelpListsEveryCommandAndTheExitCodes) {
  Result result = RunCli({"help"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.err, IsEmpty());
  for (const char* name : {"decrypt-push", "build-reply", "decrypt-user-data",
                           "verify-raw-data", "verify-url", "seal-push",
                           "open-reply", "Exit codes", "message_text"}) {
    EXPECT_THAT(result.out, HasSubstr(name));
  }
  EXPECT_EQ(RunCli({"--help"}).out, result.out);
}

TEST(RunTest, CommandHelpPrintsItsFlags) {
  Result result = RunCli({"help", "decrypt-push"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("--body-file"));
  EXPECT_THAT(result.out, HasSubstr("--timeout-seconds"));
  EXPECT_EQ(RunCli({"decrypt-push", "--help"}).out, result.out);
  result = RunCli({"seal-push", "--help"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("--encoding-aes-key"));
  EXPECT_THAT(result.out, Not(HasSubstr("--timeout-seconds")));
  ExpectError(RunCli({"help", "nope"}), 2);
}

TEST(RunTest, SealPushPrintsEveryFieldAndTheSameQueryAsOutputQuery) {
  const std::vector<std::string> base = {"seal-push",
                                         "--token",
                                         std::string(kToken),
                                         "--encoding-aes-key",
                                         std::string(kKey),
                                         "--receive-id",
                                         std::string(kReceiveId),
                                         "--message",
                                         R"({"MsgType":"text"})",
                                         "--format",
                                         "json",
                                         "--timestamp",
                                         "1409735669",
                                         "--nonce",
                                         "1320562132"};
  Result result = RunCli(base);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  rapidjson::Document doc = ParseJson(result.out);
  for (const char* name :
       {"msg_signature", "signature", "timestamp", "nonce", "encrypt_type",
        "encrypt", "format", "content_type", "body", "query"}) {
    EXPECT_TRUE(doc.HasMember(name) && doc[name].IsString()) << name;
  }
  EXPECT_STREQ(doc["encrypt_type"].GetString(), "aes");
  EXPECT_STREQ(doc["format"].GetString(), "JSON");
  EXPECT_STREQ(doc["content_type"].GetString(), "application/json");
  EXPECT_THAT(doc["body"].GetString(),
              StartsWith("{\"ToUserName\":\"gh_test\""));
  // The signature and query do not depend on the random prefix.
  std::vector<std::string> query_args = base;
  query_args.insert(query_args.end(), {"--output", "query"});
  Result query = RunCli(query_args);
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_THAT(query.out, StartsWith(absl::StrCat(
                             "signature=", doc["signature"].GetString(),
                             "&timestamp=1409735669&nonce=1320562132"
                             "&encrypt_type=aes&msg_signature=")));
}

TEST(RunTest, SealPushDefaultsTimestampToNowAndNonceToRandomDigits) {
  Result result =
      RunCli({"seal-push", "--token", "t", "--encoding-aes-key",
              std::string(kKey), "--receive-id", "wx", "--message", "<xml/>"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  rapidjson::Document doc = ParseJson(result.out);
  const std::string timestamp = doc["timestamp"].GetString();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_NEAR(std::stoll(timestamp), now, 60);
  const std::string nonce = doc["nonce"].GetString();
  EXPECT_EQ(nonce.size(), 10u);
  EXPECT_EQ(nonce.find_first_not_of("0123456789"), std::string::npos);
  EXPECT_STREQ(doc["format"].GetString(), "XML");
}

TEST(RunTest, SealPushFailureNeverPrintsTheKeyOrToken) {
  Result result =
      RunCli({"seal-push", "--token", "my-token-value", "--encoding-aes-key",
              "short-secret-key", "--receive-id", "wx", "--message", "x"});
  rapidjson::Document doc = ExpectError(result, 1);
  EXPECT_EQ(doc["error"]["wx_error_code"].GetInt(), -40004);
  EXPECT_STREQ(doc["error"]["reason"].GetString(), "AES_KEY_INVALID");
  EXPECT_THAT(result.err, Not(HasSubstr("short-secret-key")));
  EXPECT_THAT(result.err, Not(HasSubstr("my-token-value")));
}

TEST(RunTest, SealPushRequiresAMessageAndAKnownFormat) {
  const std::vector<std::string> base = {
      "seal-push",       "--token",      "t", "--encoding-aes-key",
      std::string(kKey), "--receive-id", "wx"};
  ExpectError(RunCli(base), 2);
  std::vector<std::string> bad_format = base;
  bad_format.insert(bad_format.end(), {"--message", "x", "--format", "yaml"});
  ExpectError(RunCli(bad_format), 2);
  std::vector<std::string> both = base;
  both.insert(both.end(), {"--message", "x", "--message-file", "-"});
  ExpectError(RunCli(both), 2);
}

TEST(RunTest, OpenReplyRequiresABody) {
  rapidjson::Document doc =
      ExpectError(RunCli({"open-reply", "--token", "t", "--encoding-aes-key",
                          std::string(kKey), "--receive-id", "wx"}),
                  2);
  EXPECT_THAT(doc["error"]["message"].GetString(), HasSubstr("--body"));
}

TEST(RunTest, OpenReplyOfAFileThatDoesNotExistIsAUsageError) {
  ExpectError(RunCli({"open-reply", "--token", "t", "--encoding-aes-key",
                      std::string(kKey), "--receive-id", "wx", "--body-file",
                      "/nonexistent/reply.xml"}),
              2);
}

}  // namespace
}  // namespace cli
}  // namespace wxcrypto
