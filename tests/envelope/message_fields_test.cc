// ExtractMessageFields: the top-level fields of decrypted messages.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/error.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

auto IsMessageInvalid() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kParseXmlError, reason::kMessageInvalid);
}

// The expected values are read off the plaintext of the official
// WXBizMsgCrypt sample (wechat_vectors.json, push[0].expected_plaintext).
TEST(MessageFieldsTest, ExtractsFieldsOfTheOfficialXmlSample) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& sample = vectors["push"][0];
  ASSERT_STREQ(sample["envelope_format"].GetString(), "xml");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields(sample["expected_plaintext"].GetString()));
  EXPECT_THAT(fields,
              ElementsAre(Pair("ToUserName", "gh_10f6c3c3ac5a"),
                          Pair("FromUserName", "oyORnuP8q7ou2gfYjqLzSIWZf0rs"),
                          Pair("CreateTime", "1409735668"),
                          Pair("MsgType", "text"), Pair("Content", "abcdteT"),
                          Pair("MsgId", "6054768590064713728")));
}

// From the mini program message-push documentation's JSON message
// (wechat_vectors.json, push[1].expected_plaintext).
TEST(MessageFieldsTest, ExtractsFieldsOfTheDocumentedJsonMessage) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& sample = vectors["push"][1];
  ASSERT_STREQ(sample["envelope_format"].GetString(), "json");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields(sample["expected_plaintext"].GetString()));
  EXPECT_THAT(fields,
              ElementsAre(Pair("ToUserName", "gh_97417a04a28d"),
                          Pair("FromUserName", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
                          Pair("CreateTime", "1714112445"),
                          Pair("MsgType", "event"), Pair("Event", "debug_demo"),
                          Pair("debug_str", "hello world")));
}

TEST(MessageFieldsTest, DecodesXmlReferencesAndUnwrapsCdata) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields,
      ExtractMessageFields(
          "<xml><A>&lt;b&gt; &amp; &quot;&apos; &#20013;&#x6587;&#x1F600;</A>"
          "<B><![CDATA[<b> &amp; ]]]]><![CDATA[>]]></B>"
          "<C>x<![CDATA[y]]>z</C></xml>"));
  EXPECT_THAT(fields,
              ElementsAre(Pair("A",
                               "<b> & \"' \xe4\xb8\xad\xe6\x96\x87"
                               "\xf0\x9f\x98\x80"),
                          Pair("B", "<b> &amp; ]]>"), Pair("C", "xyz")));
}

TEST(MessageFieldsTest, KeepsXmlWhitespaceAndEmptyElements) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields("<xml>\n  <A>  x \n y  </A>\n  <B/>\n"
                                   "  <C></C>\r\n  <D> </D></xml>"));
  EXPECT_THAT(fields, ElementsAre(Pair("A", "  x \n y  "), Pair("B", ""),
                                  Pair("C", ""), Pair("D", " ")));
}

TEST(MessageFieldsTest, NormalisesXmlLineEndings) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields("<xml><A>a\r\nb\rc</A></xml>"));
  EXPECT_THAT(fields, ElementsAre(Pair("A", "a\nb\nc")));
}

TEST(MessageFieldsTest, ReturnsInnerXmlOfNestedElementsVerbatim) {
  // The shape of a scancode_push event; the inner XML keeps CDATA,
  // references, comments, attributes (with '>' and '/' in quotes) and
  // self-closing tags exactly as received.
  const std::string inner =
      "<ScanType><![CDATA[qrcode]]></ScanType>\r\n"
      "<ScanResult a=\"x>y\" b='/>'>1 &amp; 2</ScanResult><!-- </ScanCodeInfo>"
      " --><Empty/><Deep><D><D>t</D></D></Deep>";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields(absl::StrCat(
                  "<xml><MsgType><![CDATA[event]]></MsgType><ScanCodeInfo>",
                  inner, "</ScanCodeInfo><After>z</After></xml>")));
  EXPECT_THAT(fields,
              ElementsAre(Pair("MsgType", "event"), Pair("ScanCodeInfo", inner),
                          Pair("After", "z")));
}

TEST(MessageFieldsTest, ReturnsInnerXmlOfElementsRepeatedInside) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields("<xml><List><List>a</List><List>b</List>"
                                   "</List><X>1</X></xml>"));
  EXPECT_THAT(fields, ElementsAre(Pair("List", "<List>a</List><List>b</List>"),
                                  Pair("X", "1")));
}

TEST(MessageFieldsTest, KeepsTheFirstOfRepeatedXmlNames) {
  // subscribe_msg_popup_event repeats <List> at the top level.
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields("<xml><List><T>1</T></List><A>a</A>"
                                   "<List><T>2</T></List><A>b</A></xml>"));
  EXPECT_THAT(fields, ElementsAre(Pair("List", "<T>1</T>"), Pair("A", "a")));
}

TEST(MessageFieldsTest, KeepsTheFirstOfRepeatedJsonKeys) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields(R"({"a":"1","b":2,"a":"3"})"));
  EXPECT_THAT(fields, ElementsAre(Pair("a", "1"), Pair("b", "2")));
}

TEST(MessageFieldsTest, UnescapesJsonStringsAndKeys) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields,
      ExtractMessageFields(R"({"k\u0041":"\"q\" \\ \/ \b\f\n\r\t \u4e2d)"
                           R"( \ud83d\ude00","raw":"中文"})"));
  EXPECT_THAT(fields, ElementsAre(Pair("kA",
                                       "\"q\" \\ / \b\f\n\r\t \xe4\xb8\xad "
                                       "\xf0\x9f\x98\x80"),
                                  Pair("raw", "中文")));
}

TEST(MessageFieldsTest, KeepsJsonNumbersExactlyAsWritten) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ExtractMessageFields(
                  R"({"a":1.50,"b":-0,"c":1e308,"d":123456789012345678901234,)"
                  R"("e":2E-3})"));
  EXPECT_THAT(
      fields,
      ElementsAre(Pair("a", "1.50"), Pair("b", "-0"), Pair("c", "1e308"),
                  Pair("d", "123456789012345678901234"), Pair("e", "2E-3")));
}

// RFC 8259 section 9 lets a parser limit the range of numbers; RapidJSON 1.1
// rejects exponents beyond double's range even when it keeps the text.
TEST(MessageFieldsTest, RejectsJsonNumbersBeyondTheRangeOfDouble) {
  EXPECT_THAT(ExtractMessageFields(R"({"a":1e400})"), IsMessageInvalid());
}

TEST(MessageFieldsTest, WritesOtherJsonValuesAsCompactJson) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields,
      ExtractMessageFields(
          "{ \"t\" : true , \"f\":false,\"n\":null,\n"
          " \"o\" : { \"x\" : [ 1 , 2.0 , { \"y\" : \"\\u0041\\\"\" } ] ,"
          " \"e\" : { } },\"a\":[ ],\"s\":\"\\u00e9\"}"));
  EXPECT_THAT(
      fields,
      ElementsAre(Pair("t", "true"), Pair("f", "false"), Pair("n", "null"),
                  Pair("o", R"({"x":[1,2.0,{"y":"A\""}],"e":{}})"),
                  Pair("a", "[]"), Pair("s", "\xc3\xa9")));
}

TEST(MessageFieldsTest, AcceptsEmptyRootAndEmptyObject) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(xml, ExtractMessageFields("<xml/>"));
  EXPECT_TRUE(xml.empty());
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(json, ExtractMessageFields(" {} "));
  EXPECT_TRUE(json.empty());
}

TEST(MessageFieldsTest, RejectsMessageThatIsNeitherXmlNorJson) {
  EXPECT_THAT(ExtractMessageFields(""), IsMessageInvalid());
  EXPECT_THAT(ExtractMessageFields("hello"), IsMessageInvalid());
  EXPECT_THAT(ExtractMessageFields("[1,2]"), IsMessageInvalid());
  EXPECT_THAT(ExtractMessageFields("42"), IsMessageInvalid());
}

TEST(MessageFieldsTest, RejectsMalformedMessagesWithMessageInvalid) {
  for (absl::string_view message :
       {"<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>&e;</A></xml>",
        "<xml><A>&e;</A></xml>", "<root><A>1</A></root>", "<xml><A>1</A>",
        "<xml><A>1</B></xml>", "<xml>text</xml>", "{\"a\":1", "{\"a\":1}]",
        "{\"a\":01}", "{\"a\":.5}", "{\"a\":NaN}", "{\"a\":undefined}"}) {
    EXPECT_THAT(ExtractMessageFields(message), IsMessageInvalid()) << message;
  }
}

TEST(MessageFieldsTest, RejectsMessageOverTheSizeLimitWithMessageInvalid) {
  std::string message = "<xml><A>";
  message.append(kMaxEnvelopeSize, 'a');
  message.append("</A></xml>");
  EXPECT_THAT(ExtractMessageFields(message), IsMessageInvalid());
}

TEST(MessageFieldsTest, HandlesManyFieldsWithRepeatedNames) {
  // 200k fields, half of them repeats: the first-wins rule must not be
  // quadratic.
  std::string message = "{";
  for (int i = 0; i < 200000; ++i) {
    absl::StrAppend(&message, i == 0 ? "" : ",", "\"k", i % 100000, "\":", i);
  }
  message.append("}");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ExtractMessageFields(message));
  ASSERT_EQ(fields.size(), 100000u);
  EXPECT_THAT(fields[99999], Pair("k99999", "99999"));
}

}  // namespace
}  // namespace wxcrypto
