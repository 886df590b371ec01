// The README's walkthrough, automated: wxcrypto-cli acts as WeChat and as
// the gateway against the real server binary.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/server_process.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ServerProcess;

constexpr char kApp[] = "wxba5fad812f8e6fb9";
constexpr char kToken[] = "AAAAA";
constexpr char kKey[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// Quotes `text` for /bin/sh.
std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted.push_back(c);
    }
  }
  return quoted + "'";
}

// Runs the CLI; returns its stdout as parsed JSON, failing the test on a
// non-zero exit.
rapidjson::Document Cli(const std::string& args) {
  const std::string command = absl::StrCat(WXCRYPTO_CLI_PATH, " ", args);
  absl::StatusOr<std::pair<int, std::string>> result =
      testing::RunWithInput(command, "");
  rapidjson::Document doc;
  EXPECT_THAT(result, IsOk());
  if (!result.ok()) return doc;
  EXPECT_EQ(result->first, 0) << command << "\n" << result->second;
  doc.Parse(result->second.c_str());
  EXPECT_FALSE(doc.HasParseError()) << result->second;
  return doc;
}

class CliRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CliRoundTripTest, SealDecryptReplyOpen) {
  // The embedded demo config serves the documentation's app.
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({});
  ASSERT_THAT(server, IsOk());
  const std::string addr = "--addr " + (*server)->grpc_address();
  const std::string format = GetParam();
  const std::string message =
      format == "xml"
          ? "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello "
            "你好]]></Content></xml>"
          : R"({"ToUserName":"gh_97417a04a28d","MsgType":"text","Content":"hello 你好"})";

  rapidjson::Document push =
      Cli(absl::StrCat("seal-push --token ", kToken, " --encoding-aes-key ",
                       kKey, " --receive-id ", kApp, " --format ", format,
                       " --message ", Quote(message)));
  ASSERT_TRUE(push.IsObject());

  rapidjson::Document decrypted = Cli(absl::StrCat(
      "decrypt-push ", addr, " --app-id ", kApp,
      " --encrypt-type aes --msg-signature ", push["msg_signature"].GetString(),
      " --timestamp ", push["timestamp"].GetString(), " --nonce ",
      push["nonce"].GetString(), " --body ", Quote(push["body"].GetString())));
  ASSERT_TRUE(decrypted.IsObject());
  EXPECT_EQ(std::string(decrypted["message_text"].GetString()), message);
  EXPECT_EQ(std::string(decrypted["fields"]["Content"].GetString()),
            "hello 你好");
  EXPECT_EQ(decrypted["key_index"].GetInt(), 0);

  const std::string reply_text =
      format == "xml" ? "<xml><Content><![CDATA[hi back]]></Content></xml>"
                      : R"({"Content":"hi back"})";
  rapidjson::Document reply =
      Cli(absl::StrCat("build-reply ", addr, " --app-id ", kApp, " --format ",
                       format, " --key-index ", decrypted["key_index"].GetInt(),
                       " --message ", Quote(reply_text)));
  ASSERT_TRUE(reply.IsObject());

  rapidjson::Document opened =
      Cli(absl::StrCat("open-reply --token ", kToken, " --encoding-aes-key ",
                       kKey, " --receive-id ", kApp, " --body ",
                       Quote(reply["body_text"].GetString())));
  ASSERT_TRUE(opened.IsObject());
  EXPECT_EQ(std::string(opened["message"].GetString()), reply_text);
}

INSTANTIATE_TEST_SUITE_P(Formats, CliRoundTripTest,
                         ::testing::Values("xml", "json", "json_lowercase"));

TEST(CliAgainstServerTest, FailedRpcExitsOneWithWeChatCode) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({});
  ASSERT_THAT(server, IsOk());
  absl::StatusOr<std::pair<int, std::string>> result = testing::RunWithInput(
      absl::StrCat(WXCRYPTO_CLI_PATH, " decrypt-push --addr ",
                   (*server)->grpc_address(), " --app-id ", kApp,
                   " --encrypt-type aes --msg-signature ", std::string(40, '0'),
                   " --timestamp 1 --nonce 2 --body ",
                   Quote("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")),
      "");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->first, 1);
  EXPECT_THAT(result->second, HasSubstr("\"wx_error_code\":-40001"));
  EXPECT_THAT(result->second, HasSubstr("SIGNATURE_MISMATCH"));
}

}  // namespace
}  // namespace wxcrypto
