// Push envelopes: ParsePushEnvelope, BuildPushEnvelope, format names and
// content types.
#include "server/envelope/envelope.h"

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::testing::Pair;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

constexpr absl::string_view kEncrypt = "aGVsbG8gd29ybGQ=";

auto IsEnvelopeInvalid() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid);
}

TEST(EnvelopeTest, FormatNamesMatchTheProtoEnum) {
  EXPECT_EQ(EnvelopeFormatName(EnvelopeFormat::kXml), "XML");
  EXPECT_EQ(EnvelopeFormatName(EnvelopeFormat::kJson), "JSON");
  EXPECT_EQ(EnvelopeFormatName(EnvelopeFormat::kJsonLowercase),
            "JSON_LOWERCASE");
  EXPECT_EQ(EnvelopeFormatName(static_cast<EnvelopeFormat>(0)), "");
}

TEST(EnvelopeTest, ContentTypeFollowsTheDialect) {
  EXPECT_EQ(EnvelopeContentType(EnvelopeFormat::kXml), "application/xml");
  EXPECT_EQ(EnvelopeContentType(EnvelopeFormat::kJson), "application/json");
  EXPECT_EQ(EnvelopeContentType(EnvelopeFormat::kJsonLowercase),
            "application/json");
  EXPECT_EQ(EnvelopeContentType(static_cast<EnvelopeFormat>(7)), "");
}

// Every `push` vector of tests/testdata/wechat_vectors.json: the official
// WXBizMsgCrypt sample (XML, compatible mode) and the mini program
// documentation's JSON push.
TEST(EnvelopeTest, ParsePushExtractsEncryptOfEveryPushVector) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& push = vectors["push"];
  ASSERT_TRUE(push.IsArray());
  ASSERT_GE(push.Size(), 2u);
  for (const rapidjson::Value& vector : push.GetArray()) {
    SCOPED_TRACE(vector["name"].GetString());
    const std::string format = vector["envelope_format"].GetString();
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(
        envelope, ParsePushEnvelope(vector["body"].GetString()));
    EXPECT_TRUE(envelope.has_encrypt);
    EXPECT_EQ(envelope.encrypt, vector["encrypt"].GetString());
    EXPECT_EQ(EnvelopeFormatName(envelope.format),
              format == "xml" ? "XML" : "JSON");
  }
}

TEST(EnvelopeTest, ParsePushOfCompatibleModeXmlHasPlainFieldsAndEncrypt) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& sample = vectors["push"][0];
  ASSERT_STREQ(sample["name"].GetString(), "official-mp-sample-xml");
  const std::string body = sample["body"].GetString();
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(envelope, ParsePushEnvelope(body));
  EXPECT_EQ(envelope.format, EnvelopeFormat::kXml);
  EXPECT_TRUE(envelope.has_encrypt);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ExtractMessageFields(body));
  ASSERT_EQ(fields.size(), 7u);
  EXPECT_THAT(fields[0], Pair("ToUserName", "gh_10f6c3c3ac5a"));
  EXPECT_THAT(fields[4], Pair("Content", "abcdteT"));
  EXPECT_THAT(fields[6], Pair("Encrypt", sample["encrypt"].GetString()));
}

TEST(EnvelopeTest, ParsePushOfPlaintextXmlHasNoEncrypt) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope("<xml><ToUserName><![CDATA[gh_1]]>"
                                  "</ToUserName><Content>hi</Content></xml>"));
  EXPECT_EQ(envelope.format, EnvelopeFormat::kXml);
  EXPECT_FALSE(envelope.has_encrypt);
  EXPECT_EQ(envelope.encrypt, "");
}

TEST(EnvelopeTest, ParsePushOfPlaintextJsonHasNoEncrypt) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope(R"({"ToUserName":"gh_1","MsgType":"text"})"));
  EXPECT_EQ(envelope.format, EnvelopeFormat::kJson);
  EXPECT_FALSE(envelope.has_encrypt);
}

TEST(EnvelopeTest, ParsePushDetectsLowercaseJsonByItsEncryptKey) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope(R"({"tousername":"ww1","encrypt":"QUJD",)"
                                  R"("agentid":"1000002"})"));
  EXPECT_EQ(envelope.format, EnvelopeFormat::kJsonLowercase);
  EXPECT_TRUE(envelope.has_encrypt);
  EXPECT_EQ(envelope.encrypt, "QUJD");
}

TEST(EnvelopeTest, ParsePushOfCompatibleModeJsonHasEncrypt) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope,
      ParsePushEnvelope(R"({"ToUserName":"gh_1","MsgType":"text",)"
                        R"("CreateTime":1714112445,)"
                        R"("Nested":{"Encrypt":1},"Encrypt":"QUJD"})"));
  EXPECT_EQ(envelope.format, EnvelopeFormat::kJson);
  EXPECT_EQ(envelope.encrypt, "QUJD");
}

TEST(EnvelopeTest, ParsePushAllowsSurroundingWhitespace) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      xml, ParsePushEnvelope(" \r\n\t<xml><Encrypt>QUJD</Encrypt></xml>\n "));
  EXPECT_EQ(xml.encrypt, "QUJD");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      json, ParsePushEnvelope("\n\t {\"Encrypt\" : \"QUJD\"} \r\n"));
  EXPECT_EQ(json.encrypt, "QUJD");
}

TEST(EnvelopeTest, ParsePushAllowsXmlDeclarationCommentsAndAttributes) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<!-- push --><xml a=\"1\"><!-- x -->"
                                  "<Encrypt>QU<!-- y -->JD</Encrypt></xml>"));
  EXPECT_EQ(envelope.encrypt, "QUJD");
}

TEST(EnvelopeTest, ParsePushDecodesPredefinedAndNumericReferences) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope,
      ParsePushEnvelope("<xml><Encrypt>a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;"
                        "</Encrypt></xml>"));
  EXPECT_EQ(envelope.encrypt, "a&b<>\"'AB");
}

TEST(EnvelopeTest, ParsePushJoinsCdataSectionsAndText) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope("<xml><Encrypt><![CDATA[ab]]]]><![CDATA[>c]]>"
                                  "d</Encrypt></xml>"));
  EXPECT_EQ(envelope.encrypt, "ab]]>cd");
}

TEST(EnvelopeTest, ParsePushUnescapesJsonStrings) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope(R"({"Encrypt":"a\/b\u0041\u4e2d"})"));
  EXPECT_EQ(envelope.encrypt, "a/bA\xe4\xb8\xad");
}

TEST(EnvelopeTest, ParsePushIgnoresEncryptBelowTheRoot) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      envelope, ParsePushEnvelope("<xml><A><Encrypt>x</Encrypt></A></xml>"));
  EXPECT_FALSE(envelope.has_encrypt);
}

TEST(EnvelopeTest, ParsePushRejectsBodyOverTheSizeLimit) {
  std::string body = "<xml><Encrypt>";
  body.append(kMaxEnvelopeSize, 'A');
  body.append("</Encrypt></xml>");
  EXPECT_THAT(
      ParsePushEnvelope(body),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kParseXmlError, reason::kEnvelopeTooLarge));
}

TEST(EnvelopeTest, ParsePushAcceptsBodyOfExactlyTheSizeLimit) {
  const std::string prefix = "{\"Encrypt\":\"";
  const std::string suffix = "\"}";
  std::string body = prefix;
  body.append(kMaxEnvelopeSize - prefix.size() - suffix.size(), 'A');
  body.append(suffix);
  ASSERT_EQ(body.size(), kMaxEnvelopeSize);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(envelope, ParsePushEnvelope(body));
  EXPECT_EQ(envelope.encrypt.size(),
            kMaxEnvelopeSize - prefix.size() - suffix.size());
}

struct RejectCase {
  std::string name;
  std::string body;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class ParsePushRejectsTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ParsePushRejectsTest, ParsePushRejectsMalformedOrAmbiguousBody) {
  EXPECT_THAT(ParsePushEnvelope(GetParam().body), IsEnvelopeInvalid());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ParsePushRejectsTest,
    ::testing::Values(
        RejectCase{/*name=*/"Empty", /*body=*/""},
        RejectCase{/*name=*/"OnlyWhitespace", /*body=*/" \r\n\t "},
        RejectCase{/*name=*/"PlainText", /*body=*/"Encrypt=QUJD"},
        RejectCase{/*name=*/"Utf8Bom",
                   /*body=*/"\xef\xbb\xbf<xml><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"Doctype",
                   /*body=*/"<!DOCTYPE xml><xml><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"DoctypeWithCustomEntity",
                   /*body=*/"<!DOCTYPE xml [<!ENTITY e \"QUJD\">]>"
                            "<xml><Encrypt>&e;</Encrypt></xml>"},
        RejectCase{/*name=*/"DoctypeWithExternalEntity",
                   /*body=*/"<!DOCTYPE xml [<!ENTITY e SYSTEM "
                            "\"file:///etc/passwd\">]>"
                            "<xml><Encrypt>&e;</Encrypt></xml>"},
        RejectCase{/*name=*/"BillionLaughs",
                   /*body=*/"<!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\">"
                            "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                            "<xml><Encrypt>&b;</Encrypt></xml>"},
        RejectCase{/*name=*/"DoctypeInsideRoot",
                   /*body=*/"<xml><!DOCTYPE x><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"UndefinedEntity",
                   /*body=*/"<xml><Encrypt>&e;</Encrypt></xml>"},
        RejectCase{/*name=*/"BareAmpersand",
                   /*body=*/"<xml><Encrypt>a & b</Encrypt></xml>"},
        RejectCase{/*name=*/"ReferenceToNul",
                   /*body=*/"<xml><Encrypt>a&#0;b</Encrypt></xml>"},
        RejectCase{/*name=*/"ReferenceToSurrogate",
                   /*body=*/"<xml><Encrypt>&#xD800;</Encrypt></xml>"},
        RejectCase{/*name=*/"ReferenceBeyondUnicode",
                   /*body=*/"<xml><Encrypt>&#x110000;</Encrypt></xml>"},
        RejectCase{/*name=*/"ReferenceOverflowingUint32",
                   /*body=*/"<xml><Encrypt>&#4294967361;</Encrypt></xml>"},
        RejectCase{/*name=*/"BadReferenceInAttribute",
                   /*body=*/"<xml a=\"&e;\"><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"RootNotXml",
                   /*body=*/"<root><Encrypt>a</Encrypt></root>"},
        RejectCase{/*name=*/"RootXmlInOtherCase",
                   /*body=*/"<XML><Encrypt>a</Encrypt></XML>"},
        RejectCase{/*name=*/"TwoRoots",
                   /*body=*/"<xml><Encrypt>a</Encrypt></xml><xml/>"},
        RejectCase{/*name=*/"TextBeforeRoot",
                   /*body=*/"x<xml><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"TextAfterRoot",
                   /*body=*/"<xml><Encrypt>a</Encrypt></xml>x"},
        RejectCase{/*name=*/"TextDirectlyInRoot",
                   /*body=*/"<xml>x<Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"CdataDirectlyInRoot",
                   /*body=*/"<xml><![CDATA[x]]><Encrypt>a</Encrypt></xml>"},
        RejectCase{/*name=*/"Unclosed", /*body=*/"<xml><Encrypt>a</Encrypt>"},
        RejectCase{/*name=*/"MismatchedTags",
                   /*body=*/"<xml><Encrypt>a</Encrypt></lmx>"},
        RejectCase{/*name=*/"UnterminatedCdata",
                   /*body=*/"<xml><Encrypt><![CDATA[a</Encrypt></xml>"},
        RejectCase{
            /*name=*/"NulInXml",
            /*body=*/std::string("<xml><Encrypt>a\0b</Encrypt></xml>", 33)},
        RejectCase{
            /*name=*/"NulAfterXml",
            /*body=*/std::string("<xml><Encrypt>a</Encrypt></xml>\0x", 33)},
        RejectCase{/*name=*/"ControlCharacterInXml",
                   /*body=*/"<xml><Encrypt>a\x01</Encrypt></xml>"},
        RejectCase{/*name=*/"InvalidUtf8InXml",
                   /*body=*/"<xml><Encrypt>a\xc3\x28</Encrypt></xml>"},
        RejectCase{/*name=*/"DuplicateXmlEncrypt",
                   /*body=*/"<xml><Encrypt>a</Encrypt><Encrypt>a</Encrypt>"
                            "</xml>"},
        RejectCase{/*name=*/"XmlEncryptWithChildElement",
                   /*body=*/"<xml><Encrypt><a>QUJD</a></Encrypt></xml>"},
        RejectCase{/*name=*/"JsonArray", /*body=*/"[\"QUJD\"]"},
        RejectCase{/*name=*/"JsonString", /*body=*/"\"QUJD\""},
        RejectCase{/*name=*/"JsonEncryptNumber", /*body=*/"{\"Encrypt\":1}"},
        RejectCase{/*name=*/"JsonEncryptNull", /*body=*/"{\"Encrypt\":null}"},
        RejectCase{/*name=*/"JsonEncryptBool", /*body=*/"{\"Encrypt\":true}"},
        RejectCase{/*name=*/"JsonEncryptObject",
                   /*body=*/"{\"Encrypt\":{\"a\":\"b\"}}"},
        RejectCase{/*name=*/"JsonEncryptArray",
                   /*body=*/"{\"Encrypt\":[\"QUJD\"]}"},
        RejectCase{/*name=*/"JsonLowercaseEncryptNumber",
                   /*body=*/"{\"encrypt\":1}"},
        RejectCase{/*name=*/"DuplicateJsonEncrypt",
                   /*body=*/"{\"Encrypt\":\"a\",\"Encrypt\":\"a\"}"},
        RejectCase{/*name=*/"DuplicateJsonLowercaseEncrypt",
                   /*body=*/"{\"encrypt\":\"a\",\"encrypt\":\"b\"}"},
        RejectCase{/*name=*/"BothJsonEncryptSpellings",
                   /*body=*/"{\"Encrypt\":\"a\",\"encrypt\":\"a\"}"},
        RejectCase{/*name=*/"TrailingGarbage",
                   /*body=*/"{\"Encrypt\":\"a\"} x"},
        RejectCase{/*name=*/"SecondJsonValue",
                   /*body=*/"{\"Encrypt\":\"a\"}{}"},
        RejectCase{/*name=*/"NulAfterJson",
                   /*body=*/std::string("{\"Encrypt\":\"a\"}\0x", 17)},
        RejectCase{/*name=*/"NulInJsonString",
                   /*body=*/std::string("{\"Encrypt\":\"a\0b\"}", 17)},
        RejectCase{/*name=*/"UnclosedJson", /*body=*/"{\"Encrypt\":\"a\""},
        RejectCase{/*name=*/"TrailingComma",
                   /*body=*/"{\"Encrypt\":\"a\",}"},
        RejectCase{/*name=*/"SingleQuotes", /*body=*/"{'Encrypt':'a'}"},
        RejectCase{/*name=*/"JsonComment",
                   /*body=*/"{/* c */\"Encrypt\":\"a\"}"},
        RejectCase{/*name=*/"RawControlInJsonString",
                   /*body=*/"{\"Encrypt\":\"a\tb\"}"},
        RejectCase{/*name=*/"InvalidUtf8InJsonString",
                   /*body=*/"{\"Encrypt\":\"\xff\"}"},
        RejectCase{/*name=*/"OverlongUtf8InJsonKey",
                   /*body=*/"{\"\xc0\xaf\":\"a\"}"},
        RejectCase{/*name=*/"LoneHighSurrogateEscape",
                   /*body=*/"{\"Encrypt\":\"\\ud800\"}"},
        RejectCase{/*name=*/"LoneLowSurrogateEscape",
                   /*body=*/"{\"Encrypt\":\"\\udc00\"}"},
        RejectCase{/*name=*/"BadEscape", /*body=*/"{\"Encrypt\":\"\\q\"}"}),
    [](const ::testing::TestParamInfo<RejectCase>& param_info) {
      return param_info.param.name;
    });

TEST(EnvelopeTest, BuildPushWritesTheXmlDialect) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildPushEnvelope(EnvelopeFormat::kXml, "gh_1", kEncrypt));
  EXPECT_EQ(body,
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
            "<Encrypt><![CDATA[aGVsbG8gd29ybGQ=]]></Encrypt></xml>");
}

TEST(EnvelopeTest, BuildPushWritesTheJsonDialect) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildPushEnvelope(EnvelopeFormat::kJson, "gh_1", kEncrypt));
  EXPECT_EQ(body, R"({"ToUserName":"gh_1","Encrypt":"aGVsbG8gd29ybGQ="})");
}

TEST(EnvelopeTest, BuildPushWritesTheLowercaseJsonDialectWithEmptyAgentId) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildPushEnvelope(EnvelopeFormat::kJsonLowercase, "ww1", kEncrypt));
  EXPECT_EQ(
      body,
      R"({"tousername":"ww1","encrypt":"aGVsbG8gd29ybGQ=","agentid":""})");
}

TEST(EnvelopeTest, BuildPushRoundTripsThroughParsePushInEveryDialect) {
  // Quotes, backslashes, CJK and a CDATA terminator in ToUserName.
  const std::string to_user_name = "gh_\"q\"\\ ]]> \xe4\xb8\xad</xml>";
  for (EnvelopeFormat format : {EnvelopeFormat::kXml, EnvelopeFormat::kJson,
                                EnvelopeFormat::kJsonLowercase}) {
    SCOPED_TRACE(EnvelopeFormatName(format));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(
        body, BuildPushEnvelope(format, to_user_name, kEncrypt));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(envelope, ParsePushEnvelope(body));
    EXPECT_EQ(envelope.format, format);
    EXPECT_TRUE(envelope.has_encrypt);
    EXPECT_EQ(envelope.encrypt, kEncrypt);
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ExtractMessageFields(body));
    ASSERT_FALSE(fields.empty());
    EXPECT_EQ(fields[0].second, to_user_name);
  }
}

TEST(EnvelopeTest, BuildPushRejectsEmptyOrNonBase64Encrypt) {
  for (absl::string_view encrypt : {"", "QU JD", "QUJD]]>", "QUJD\n"}) {
    EXPECT_THAT(
        BuildPushEnvelope(EnvelopeFormat::kXml, "gh_1", encrypt),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid))
        << encrypt;
  }
}

TEST(EnvelopeTest, BuildPushRejectsToUserNameThatIsNotText) {
  EXPECT_THAT(
      BuildPushEnvelope(EnvelopeFormat::kJson, "\xff", kEncrypt),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid));
  // XML cannot carry a NUL or other C0 control at all.
  EXPECT_THAT(
      BuildPushEnvelope(EnvelopeFormat::kXml, std::string("a\0b", 3), kEncrypt),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid));
  EXPECT_THAT(BuildPushEnvelope(EnvelopeFormat::kJson, std::string("a\0b", 3),
                                kEncrypt),
              IsOk());
}

TEST(EnvelopeTest, BuildPushRejectsUnknownFormat) {
  EXPECT_THAT(
      BuildPushEnvelope(static_cast<EnvelopeFormat>(0), "gh_1", kEncrypt),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid));
}

}  // namespace
}  // namespace wxcrypto
