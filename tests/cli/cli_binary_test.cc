// Runs the real wxcrypto-cli binary (WXCRYPTO_CLI_PATH) as a shell script
// would: exit codes, stdout and the stderr error line.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

extern char** environ;

namespace wxcrypto {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::string_view kToken = "spamtest";
constexpr absl::string_view kKey =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kReceiveId = "wx2c2769f8efd9abc2";

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteAll(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

class CliBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/wxcrypto_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const char* name : {"stdin", "stdout", "stderr", "reply"}) {
      std::remove((dir_ + "/" + name).c_str());
    }
    rmdir(dir_.c_str());
  }

  std::string Path(const char* name) const { return dir_ + "/" + name; }

  // Runs wxcrypto-cli with `args`, `stdin_text` on stdin, and collects its
  // output through files (no pipe can fill up and block it).
  Result Run(const std::vector<std::string>& args,
             const std::string& stdin_text = "") {
    WriteAll(Path("stdin"), stdin_text);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, Path("stdin").c_str(),
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, Path("stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, Path("stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    std::string program = WXCRYPTO_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    Result result;
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr,
                                    argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawned, 0) << "cannot run " << program;
    if (spawned != 0) return result;
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ReadAll(Path("stdout"));
    result.err = ReadAll(Path("stderr"));
    return result;
  }

  std::string dir_;
};

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::vector<std::string> SealArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {"seal-push",
                                   "--token",
                                   std::string(kToken),
                                   "--encoding-aes-key",
                                   std::string(kKey),
                                   "--receive-id",
                                   std::string(kReceiveId),
                                   "--timestamp",
                                   "1409735669",
                                   "--nonce",
                                   "1320562132"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> OpenArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {"open-reply",           "--token",
                                   std::string(kToken),    "--encoding-aes-key",
                                   std::string(kKey),      "--receive-id",
                                   std::string(kReceiveId)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A gateway's reply to a push, built with the crypto core.
std::string GatewayReply(EnvelopeFormat format, absl::string_view message) {
  const absl::string_view keys[] = {kKey};
  auto crypt = MessageCrypt::Create(keys, kReceiveId);
  EXPECT_TRUE(crypt.ok()) << crypt.status();
  auto encrypt = crypt->Encrypt(message);
  EXPECT_TRUE(encrypt.ok()) << encrypt.status();
  ReplyFields fields;
  fields.encrypt = *encrypt;
  fields.timestamp = "1713424427";
  fields.nonce = "gw-nonce";
  fields.msg_signature = ComputeMsgSignature(kToken, fields.timestamp,
                                             fields.nonce, fields.encrypt);
  auto body = BuildReplyEnvelope(format, fields);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : "";
}

TEST_F(CliBinaryTest, SealPushOutputBodyPrintsOnlyTheXmlBody) {
  Result result = Run(SealArgs(
      {"--message", "<xml><Content>hi</Content></xml>", "--output", "body"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
  EXPECT_THAT(result.out, StartsWith("<xml>"));
  EXPECT_THAT(result.out, EndsWith("</xml>"));  // no newline added
  auto push = ParsePushEnvelope(result.out);
  ASSERT_TRUE(push.ok()) << push.status();
  EXPECT_EQ(push->format, EnvelopeFormat::kXml);
  const absl::string_view keys[] = {kKey};
  auto crypt = MessageCrypt::Create(keys, kReceiveId);
  ASSERT_TRUE(crypt.ok());
  auto decrypted = crypt->Decrypt(push->encrypt);
  ASSERT_TRUE(decrypted.ok()) << decrypted.status();
  EXPECT_EQ(decrypted->message, "<xml><Content>hi</Content></xml>");
}

TEST_F(CliBinaryTest, SealPushReadsTheMessageFromStdinAndPrintsJson) {
  Result result =
      Run(SealArgs({"--message-file", "-", "--format", "json_lowercase"}),
          R"({"msgtype":"text"})");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_THAT(result.out, EndsWith("}\n"));
  rapidjson::Document doc = ParseJson(result.out);
  EXPECT_STREQ(doc["format"].GetString(), "JSON_LOWERCASE");
  EXPECT_EQ(doc["msg_signature"].GetString(),
            ComputeMsgSignature(kToken, "1409735669", "1320562132",
                                doc["encrypt"].GetString()));
}

TEST_F(CliBinaryTest, OpenReplyOpensAGatewayReplyFromAFileAndFromStdin) {
  const std::string reply = GatewayReply(EnvelopeFormat::kJson, R"({"ok":1})");
  WriteAll(Path("reply"), reply);
  Result result = Run(OpenArgs({"--body-file", Path("reply")}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  rapidjson::Document doc = ParseJson(result.out);
  EXPECT_STREQ(doc["format"].GetString(), "JSON");
  EXPECT_STREQ(doc["message"].GetString(), R"({"ok":1})");
  EXPECT_STREQ(doc["timestamp"].GetString(), "1713424427");
  EXPECT_STREQ(doc["nonce"].GetString(), "gw-nonce");
  EXPECT_EQ(doc["key_index"].GetUint(), 0u);

  result = Run(OpenArgs({"--body-file", "-", "--output", "message"}), reply);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, R"({"ok":1})");
}

TEST_F(CliBinaryTest, OpenReplyOfATamperedReplyExits1WithMinus40001) {
  std::string reply = GatewayReply(EnvelopeFormat::kXml, "<xml/>");
  auto parsed = ParseReplyEnvelope(reply);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::string& signature = parsed->second.msg_signature;
  std::string tampered = signature;
  tampered[0] = tampered[0] == 'a' ? 'b' : 'a';
  reply.replace(reply.find(signature), signature.size(), tampered);

  Result result = Run(OpenArgs({"--body", reply}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.out, IsEmpty());
  ASSERT_THAT(result.err, EndsWith("}\n"));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
  rapidjson::Document doc = ParseJson(result.err);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNAUTHENTICATED");
  EXPECT_EQ(doc["error"]["wx_error_code"].GetInt(), -40001);
  EXPECT_STREQ(doc["error"]["reason"].GetString(), "SIGNATURE_MISMATCH");
  EXPECT_THAT(result.err, Not(HasSubstr(std::string(kKey))));
  EXPECT_THAT(result.err, Not(HasSubstr(std::string(kToken))));
}

TEST_F(CliBinaryTest, UsageErrorsExit2WithAJsonLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {},
           {"no-such-command"},
           {"seal-push", "--no-such-flag", "x"},
           {"seal-push", "--token"},
           OpenArgs({}),
       }) {
    Result result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_THAT(result.out, IsEmpty());
    rapidjson::Document doc = ParseJson(result.err);
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("error")) << result.err;
    EXPECT_STREQ(doc["error"]["reason"].GetString(), "USAGE");
  }
}

TEST_F(CliBinaryTest, HelpExits0OnStdout) {
  Result result = Run({"help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("Exit codes"));
  EXPECT_THAT(result.err, IsEmpty());
}

TEST_F(CliBinaryTest, UnreachableServerExits3) {
  // Port 1 on loopback: reserved (tcpmux) and not served on a test machine,
  // so the connection is refused at once.
  Result result = Run({"verify-url", "--app-id", "wx", "--echostr", "e",
                       "--addr", "127.0.0.1:1", "--timeout-seconds", "10"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  rapidjson::Document doc = ParseJson(result.err);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNAVAILABLE");
}

// A plaintext gRPC server whose every method is UNIMPLEMENTED (the
// generated base class): a server that is reachable but is not wxcrypto.
class UnimplementedServerTest : public CliBinaryTest {
 protected:
  void SetUp() override {
    CliBinaryTest::SetUp();
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
    CliBinaryTest::TearDown();
  }

  v1::CryptoService::Service service_;
  std::unique_ptr<grpc::Server> server_;
  std::string addr_;
};

TEST_F(UnimplementedServerTest, AnErrorWithoutWxMetadataExits1) {
  Result result =
      Run({"verify-url", "--app-id", "wx", "--echostr", "e", "--addr", addr_});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  rapidjson::Document doc = ParseJson(result.err);
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNIMPLEMENTED");
  EXPECT_FALSE(doc["error"].HasMember("wx_error_code"));
  EXPECT_FALSE(doc["error"].HasMember("reason"));
}

TEST_F(UnimplementedServerTest, FailedTlsHandshakeExits3WithOnlyTheJsonLine) {
  Result result = Run({"verify-url", "--app-id", "wx", "--echostr", "e",
                       "--addr", addr_, "--tls", "--timeout-seconds", "5"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  // gRPC's own log lines would come first; stderr must be the JSON alone.
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  rapidjson::Document doc = ParseJson(result.err);
  ASSERT_TRUE(doc.IsObject()) << result.err;
  EXPECT_STREQ(doc["error"]["code"].GetString(), "UNAVAILABLE");
}

}  // namespace
}  // namespace wxcrypto
