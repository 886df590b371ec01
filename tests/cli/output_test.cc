#include "client/cli/output.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/error.h"
#include "tests/testing/status_matchers.h"
#include "wxcrypto/v1/crypto_service.pb.h"

namespace wxcrypto {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

TEST(IsValidUtf8Test, AcceptsAsciiAndMultiByteCharacters) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("<xml>abc</xml>"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9"));                  // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xe4\xbd\xa0\xe5\xa5\xbd"));  // 你好
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));          // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

// Invalid forms from RFC 3629, sections 3 and 10.
TEST(IsValidUtf8Test, RejectsMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xe4\xbd"));  // truncated 你
}

TEST(ErrorJsonTest, PrintsCodeMessageWxErrorCodeAndReason) {
  ErrorReport report;
  report.code = "UNAUTHENTICATED";
  report.message = "msg_signature \"mismatch\"";
  report.wx_error_code = -40001;
  report.reason = "SIGNATURE_MISMATCH";
  EXPECT_EQ(
      ErrorJson(report),
      R"({"error":{"code":"UNAUTHENTICATED","message":"msg_signature \"mismatch\"","wx_error_code":-40001,"reason":"SIGNATURE_MISMATCH"}})");
}

TEST(ErrorJsonTest, LeavesOutWxErrorCodeAndReasonWhenAbsent) {
  ErrorReport report;
  report.code = "UNAVAILABLE";
  report.message = "failed to connect";
  EXPECT_EQ(
      ErrorJson(report),
      R"({"error":{"code":"UNAVAILABLE","message":"failed to connect"}})");
}

TEST(ReportFromStatusTest, CopiesTheCoreErrorPayloads) {
  ErrorReport report = ReportFromStatus(WxError(
      absl::StatusCode::kUnauthenticated, WxErrorCode::kValidateSignatureError,
      reason::kSignatureMismatch, "msg_signature does not match"));
  EXPECT_EQ(report.code, "UNAUTHENTICATED");
  EXPECT_EQ(report.message, "msg_signature does not match");
  EXPECT_EQ(report.wx_error_code, -40001);
  EXPECT_EQ(report.reason, "SIGNATURE_MISMATCH");
}

TEST(ReportFromStatusTest, HasNoWxErrorCodeForAPlainStatus) {
  ErrorReport report = ReportFromStatus(absl::InternalError("boom"));
  EXPECT_EQ(report.code, "INTERNAL");
  EXPECT_FALSE(report.wx_error_code.has_value());
  EXPECT_EQ(report.reason, "");
}

TEST(UsageReportTest, IsInvalidArgumentWithReasonUsage) {
  EXPECT_EQ(
      ErrorJson(UsageReport("unknown flag --x")),
      R"({"error":{"code":"INVALID_ARGUMENT","message":"unknown flag --x","reason":"USAGE"}})");
}

TEST(MessageToJsonTest, UsesProtoFieldNamesPrintsDefaultsAndAddsText) {
  v1::DecryptPushResponse response;
  response.set_message("<xml>\xe4\xbd\xa0</xml>");
  response.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  (*response.mutable_fields())["MsgType"] = "text";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(json, MessageToJson(response));
  rapidjson::Document doc = ParseJson(json);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["message"].GetString(), "PHhtbD7kvaA8L3htbD4=");
  EXPECT_STREQ(doc["message_text"].GetString(), "<xml>\xe4\xbd\xa0</xml>");
  EXPECT_STREQ(doc["envelope_format"].GetString(), "ENVELOPE_FORMAT_XML");
  ASSERT_TRUE(doc.HasMember("encrypted"));
  EXPECT_FALSE(doc["encrypted"].GetBool());
  ASSERT_TRUE(doc.HasMember("key_index"));
  EXPECT_EQ(doc["key_index"].GetUint(), 0u);
  EXPECT_STREQ(doc["fields"]["MsgType"].GetString(), "text");
}

TEST(MessageToJsonTest, LeavesOutTheTextOfBytesThatAreNotUtf8) {
  v1::DecryptUserDataResponse response;
  response.set_data("\xff\xfe");
  response.set_watermark_timestamp(1700000000);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(json, MessageToJson(response));
  rapidjson::Document doc = ParseJson(json);
  EXPECT_STREQ(doc["data"].GetString(), "//4=");
  EXPECT_FALSE(doc.HasMember("data_text"));
  // proto3 JSON writes int64 as a string.
  EXPECT_STREQ(doc["watermark_timestamp"].GetString(), "1700000000");
}

TEST(MessageToJsonTest, AddsNoTextForAnUnsetOneofBytesField) {
  v1::BuildEncryptedReplyRequest request;
  request.mutable_widget_data()->set_data("{}");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(json, MessageToJson(request));
  EXPECT_THAT(json, Not(HasSubstr("message_text")));
  request.set_message("<xml/>");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(with_message, MessageToJson(request));
  EXPECT_THAT(with_message, HasSubstr(R"("message_text":"<xml/>")"));
}

}  // namespace
}  // namespace cli
}  // namespace wxcrypto
