// BuildWidgetDataReply: the search widget's double-encoded reply.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/error.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::WxStatusIs;

// A query and data holding everything that must survive two levels of
// encoding: quotes, backslashes, control characters, CJK, an emoji, a CDATA
// terminator and markup.
constexpr absl::string_view kHostileQuery =
    "{\"keyword\":\"\xe5\x92\x96\xe5\x95\xa1 \\\"latte\\\" \\\\ ]]> "
    "</Content>\",\"scene\":1,\"tab\":\"\\u0001\"}";
constexpr absl::string_view kHostileData =
    "{\"items\":[{\"title\":\"a]]>b \xf0\x9f\x98\x80\","
    "\"price\":\"\\u00a5 12\",\"path\":\"C:\\\\x\",\"ok\":true}],"
    "\"n\":1.50}";

WidgetDataReply SimpleReply() {
  WidgetDataReply reply;
  reply.to_user_name = "oUser";
  reply.from_user_name = "gh_app";
  reply.create_time = 1714112445;
  reply.lifespan = 3600;
  reply.query = R"({"keyword":"coffee"})";
  reply.scene = 1;
  reply.data = R"({"items":[]})";
  return reply;
}

WidgetDataReply HostileReply() {
  WidgetDataReply reply = SimpleReply();
  reply.query = std::string(kHostileQuery);
  reply.data = std::string(kHostileData);
  reply.scene = 7;
  return reply;
}

auto IsReplyInvalid() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kGenReturnXmlError, reason::kReplyInvalid);
}

// Returns the value of `name` in `fields`, failing the test if absent.
std::string FieldValue(const FieldList& fields, absl::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  ADD_FAILURE() << "no field " << name;
  return "";
}

// Layout from envelope.h: {"lifespan":N,"query":"<query>","scene":S,
// "data":"<data>"} inside <Content> CDATA.
TEST(WidgetReplyTest, BuildsTheXmlReply) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildWidgetDataReply(EnvelopeFormat::kXml, SimpleReply()));
  EXPECT_EQ(body,
            "<xml><ToUserName><![CDATA[oUser]]></ToUserName>"
            "<FromUserName><![CDATA[gh_app]]></FromUserName>"
            "<CreateTime>1714112445</CreateTime>"
            "<MsgType><![CDATA[widget_data]]></MsgType>"
            "<Content><![CDATA[{\"lifespan\":3600,"
            "\"query\":\"{\\\"keyword\\\":\\\"coffee\\\"}\",\"scene\":1,"
            "\"data\":\"{\\\"items\\\":[]}\"}]]></Content></xml>");
}

TEST(WidgetReplyTest, BuildsTheJsonReplyWithContentAsAJsonString) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildWidgetDataReply(EnvelopeFormat::kJson, SimpleReply()));
  EXPECT_EQ(
      body,
      "{\"ToUserName\":\"oUser\",\"FromUserName\":\"gh_app\","
      "\"CreateTime\":1714112445,\"MsgType\":\"widget_data\","
      "\"Content\":\"{\\\"lifespan\\\":3600,\\\"query\\\":"
      "\\\"{\\\\\\\"keyword\\\\\\\":\\\\\\\"coffee\\\\\\\"}\\\","
      "\\\"scene\\\":1,\\\"data\\\":\\\"{\\\\\\\"items\\\\\\\":[]}\\\"}\"}");
}

TEST(WidgetReplyTest, TreatsLowercaseJsonAsJson) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      json, BuildWidgetDataReply(EnvelopeFormat::kJson, HostileReply()));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      lowercase,
      BuildWidgetDataReply(EnvelopeFormat::kJsonLowercase, HostileReply()));
  EXPECT_EQ(lowercase, json);
}

// Parses the reply, takes Content, parses that as JSON and checks that query
// and data come back byte for byte.
TEST(WidgetReplyTest, QueryAndDataSurviveDoubleEncodingInEveryDialect) {
  const WidgetDataReply reply = HostileReply();
  for (EnvelopeFormat format : {EnvelopeFormat::kXml, EnvelopeFormat::kJson,
                                EnvelopeFormat::kJsonLowercase}) {
    SCOPED_TRACE(EnvelopeFormatName(format));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(body, BuildWidgetDataReply(format, reply));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(outer, ExtractMessageFields(body));
    ASSERT_EQ(outer.size(), 5u);
    EXPECT_THAT(outer[0], Pair("ToUserName", "oUser"));
    EXPECT_THAT(outer[1], Pair("FromUserName", "gh_app"));
    EXPECT_THAT(outer[2], Pair("CreateTime", "1714112445"));
    EXPECT_THAT(outer[3], Pair("MsgType", "widget_data"));
    ASSERT_EQ(outer[4].first, "Content");
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(content,
                                  ExtractMessageFields(outer[4].second));
    EXPECT_THAT(content, ElementsAre(Pair("lifespan", "3600"),
                                     Pair("query", std::string(kHostileQuery)),
                                     Pair("scene", "7"),
                                     Pair("data", std::string(kHostileData))));
    // And the data, taken out as a string, is the JSON document it was.
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(
        data, ExtractMessageFields(FieldValue(content, "data")));
    EXPECT_THAT(data,
                ElementsAre(Pair("items", ::testing::_), Pair("n", "1.50")));
  }
}

TEST(WidgetReplyTest, SplitsCdataAroundTerminatorsInXml) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildWidgetDataReply(EnvelopeFormat::kXml, HostileReply()));
  EXPECT_THAT(body, HasSubstr("]]]]><![CDATA[>"));
  // Parsed back, Content holds the terminator unchanged.
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(envelope_fields, ExtractMessageFields(body));
  EXPECT_THAT(FieldValue(envelope_fields, "Content"), HasSubstr("a]]>b"));
}

TEST(WidgetReplyTest, EscapesNamesInXmlAndJson) {
  WidgetDataReply reply = SimpleReply();
  reply.to_user_name = "o]]>\"\\<x>";
  for (EnvelopeFormat format : {EnvelopeFormat::kXml, EnvelopeFormat::kJson}) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(body, BuildWidgetDataReply(format, reply));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ExtractMessageFields(body));
    EXPECT_EQ(FieldValue(fields, "ToUserName"), reply.to_user_name);
  }
}

TEST(WidgetReplyTest, AcceptsDataThatIsAnyJsonValue) {
  WidgetDataReply reply = SimpleReply();
  for (absl::string_view data : {"[1,2]", "\"text\"", "0", "null", " {} "}) {
    reply.data = std::string(data);
    EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply), IsOk())
        << data;
  }
}

TEST(WidgetReplyTest, WritesNegativeCreateTimeAndZeroLifespan) {
  WidgetDataReply reply = SimpleReply();
  reply.create_time = -5;
  reply.lifespan = 0;
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildWidgetDataReply(EnvelopeFormat::kXml, reply));
  EXPECT_THAT(body, HasSubstr("<CreateTime>-5</CreateTime>"));
  EXPECT_THAT(body, HasSubstr("{\"lifespan\":0,"));
}

TEST(WidgetReplyTest, RejectsDataThatIsNotValidJson) {
  WidgetDataReply reply = SimpleReply();
  for (absl::string_view data :
       {"", " ", "{", "{}x", "{}{}", "{'a':1}", "{\"a\":\"\xff\"}",
        "{\"a\":\"\\udc00\"}", "text"}) {
    reply.data = std::string(data);
    EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply),
                IsReplyInvalid())
        << data;
  }
}

TEST(WidgetReplyTest, RejectsDataNestedTooDeeply) {
  WidgetDataReply reply = SimpleReply();
  reply.data = std::string(kMaxNestingDepth + 1, '[') +
               std::string(kMaxNestingDepth + 1, ']');
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kXml, reply),
              IsReplyInvalid());
  reply.data =
      std::string(kMaxNestingDepth, '[') + std::string(kMaxNestingDepth, ']');
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kXml, reply), IsOk());
}

TEST(WidgetReplyTest, RejectsNegativeLifespan) {
  WidgetDataReply reply = SimpleReply();
  reply.lifespan = -1;
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kXml, reply),
              IsReplyInvalid());
}

TEST(WidgetReplyTest, RejectsTextThatIsNotUtf8) {
  WidgetDataReply reply = SimpleReply();
  reply.query = "\xc3";
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply),
              IsReplyInvalid());
  reply = SimpleReply();
  reply.from_user_name = "\xed\xa0\x80";  // An encoded surrogate.
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply),
              IsReplyInvalid());
}

TEST(WidgetReplyTest, RejectsInXmlNamesXmlCannotCarry) {
  WidgetDataReply reply = SimpleReply();
  reply.to_user_name = std::string("a\0b", 3);
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kXml, reply),
              IsReplyInvalid());
  // JSON escapes it.
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply), IsOk());
}

TEST(WidgetReplyTest, RejectsInXmlQueryWithNonCharacter) {
  WidgetDataReply reply = SimpleReply();
  reply.query = "\xef\xbf\xbf";  // U+FFFF: UTF-8, but not an XML Char.
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kXml, reply),
              IsReplyInvalid());
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply), IsOk());
}

TEST(WidgetReplyTest, RejectsUnknownFormat) {
  EXPECT_THAT(
      BuildWidgetDataReply(static_cast<EnvelopeFormat>(9), SimpleReply()),
      IsReplyInvalid());
}

TEST(WidgetReplyTest, RejectsReplyOverTheSizeLimit) {
  WidgetDataReply reply = SimpleReply();
  reply.query = std::string(kMaxEnvelopeSize, 'q');
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply),
              IsReplyInvalid());
  // Within the limit on input, beyond it once every quote is escaped twice.
  reply.query = std::string(kMaxEnvelopeSize / 3, '"');
  EXPECT_THAT(BuildWidgetDataReply(EnvelopeFormat::kJson, reply),
              IsReplyInvalid());
}

}  // namespace
}  // namespace wxcrypto
