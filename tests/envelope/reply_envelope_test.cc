// Reply envelopes: BuildReplyEnvelope and ParseReplyEnvelope.
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
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

using ::testing::HasSubstr;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

constexpr EnvelopeFormat kAllFormats[] = {EnvelopeFormat::kXml,
                                          EnvelopeFormat::kJson,
                                          EnvelopeFormat::kJsonLowercase};

// Well-formed values; timestamp and nonce are those of the official
// WXBizMsgCrypt sample (tests/testdata/wechat_vectors.json, push[0]).
ReplyFields SampleFields() {
  ReplyFields fields;
  fields.encrypt = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvz/Q==";
  fields.msg_signature = "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1";
  fields.timestamp = "1409735669";
  fields.nonce = "1320562132";
  return fields;
}

auto IsReplyInvalid() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kGenReturnXmlError, reason::kReplyInvalid);
}

auto IsEnvelopeInvalid() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid);
}

void ExpectSameFields(const ReplyFields& actual, const ReplyFields& expected) {
  EXPECT_EQ(actual.encrypt, expected.encrypt);
  EXPECT_EQ(actual.msg_signature, expected.msg_signature);
  EXPECT_EQ(actual.timestamp, expected.timestamp);
  EXPECT_EQ(actual.nonce, expected.nonce);
}

// The layouts below are the ones documented in envelope.h (from the official
// WXBizMsgCrypt samples and the mini program message-push documentation).
TEST(ReplyEnvelopeTest, BuildReplyWritesTheXmlDialect) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildReplyEnvelope(EnvelopeFormat::kXml, SampleFields()));
  EXPECT_EQ(body,
            "<xml><Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbp80MNLoAUWvz/Q==]]>"
            "</Encrypt><MsgSignature><![CDATA["
            "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1]]></MsgSignature>"
            "<TimeStamp>1409735669</TimeStamp>"
            "<Nonce><![CDATA[1320562132]]></Nonce></xml>");
}

TEST(ReplyEnvelopeTest, BuildReplyWritesJsonTimeStampAsANumber) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildReplyEnvelope(EnvelopeFormat::kJson, SampleFields()));
  EXPECT_EQ(body,
            R"({"Encrypt":"ELGduP2YcVatjqIS+eZbp80MNLoAUWvz/Q==",)"
            R"("MsgSignature":"1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",)"
            R"("TimeStamp":1409735669,"Nonce":"1320562132"})");
}

TEST(ReplyEnvelopeTest, BuildReplyWritesLowercaseJsonWithAllStrings) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildReplyEnvelope(EnvelopeFormat::kJsonLowercase, SampleFields()));
  EXPECT_EQ(body,
            R"({"encrypt":"ELGduP2YcVatjqIS+eZbp80MNLoAUWvz/Q==",)"
            R"("msgsignature":"1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",)"
            R"("timestamp":"1409735669","nonce":"1320562132"})");
}

// tests/testdata/wechat_vectors.json `reply`: the mini program
// documentation's JSON reply, whose body the documentation shows as
// {"Encrypt":..,"MsgSignature":..,"TimeStamp":1713424427,"Nonce":..}.
TEST(ReplyEnvelopeTest, BuildReplyMatchesTheDocumentedJsonReplyVector) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const rapidjson::Value& reply = vectors["reply"][0];
  ReplyFields fields;
  fields.encrypt = reply["expected_encrypt"].GetString();
  fields.msg_signature = reply["expected_msg_signature"].GetString();
  fields.timestamp = reply["timestamp"].GetString();
  fields.nonce = reply["nonce"].GetString();
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildReplyEnvelope(EnvelopeFormat::kJson, fields));
  EXPECT_EQ(body, std::string("{\"Encrypt\":\"") + fields.encrypt +
                      "\",\"MsgSignature\":\"" + fields.msg_signature +
                      "\",\"TimeStamp\":1713424427,\"Nonce\":\"415670741\"}");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
  EXPECT_EQ(parsed.first, EnvelopeFormat::kJson);
  ExpectSameFields(parsed.second, fields);
}

TEST(ReplyEnvelopeTest, BuildAndParseReplyRoundTripInEveryDialect) {
  ReplyFields fields = SampleFields();
  // Every character XML and JSON must escape or quote, but no "]]>".
  fields.nonce = "a<b>&c\"d'e\\f]]g ]>h";
  fields.timestamp = "18446744073709551615";  // 20 digits.
  for (EnvelopeFormat format : kAllFormats) {
    SCOPED_TRACE(EnvelopeFormatName(format));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(body, BuildReplyEnvelope(format, fields));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
    EXPECT_EQ(parsed.first, format);
    ExpectSameFields(parsed.second, fields);
  }
}

TEST(ReplyEnvelopeTest, BuildReplyEscapesNonceInJson) {
  ReplyFields fields = SampleFields();
  fields.nonce = "\"\\";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      body, BuildReplyEnvelope(EnvelopeFormat::kJson, fields));
  EXPECT_THAT(body, HasSubstr(R"("Nonce":"\"\\")"));
}

TEST(ReplyEnvelopeTest, BuildReplyAllowsCdataTerminatorInJsonNonce) {
  ReplyFields fields = SampleFields();
  fields.nonce = "a]]>b";
  for (EnvelopeFormat format :
       {EnvelopeFormat::kJson, EnvelopeFormat::kJsonLowercase}) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(body, BuildReplyEnvelope(format, fields));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
    EXPECT_EQ(parsed.second.nonce, "a]]>b");
  }
}

TEST(ReplyEnvelopeTest, BuildReplyAllowsLeadingZeroTimeStampOutsideJson) {
  ReplyFields fields = SampleFields();
  fields.timestamp = "0001";
  for (EnvelopeFormat format :
       {EnvelopeFormat::kXml, EnvelopeFormat::kJsonLowercase}) {
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(body, BuildReplyEnvelope(format, fields));
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(parsed, ParseReplyEnvelope(body));
    EXPECT_EQ(parsed.second.timestamp, "0001");
  }
  fields.timestamp = "0";
  EXPECT_THAT(BuildReplyEnvelope(EnvelopeFormat::kJson, fields), IsOk());
}

struct BadReplyCase {
  std::string name;
  EnvelopeFormat format;
  ReplyFields fields;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const BadReplyCase& c, std::ostream* os) { *os << c.name; }

BadReplyCase With(std::string name, EnvelopeFormat format,
                  std::string ReplyFields::*member, std::string value) {
  BadReplyCase c{std::move(name), format, SampleFields()};
  c.fields.*member = std::move(value);
  return c;
}

class BuildReplyRejectsTest : public ::testing::TestWithParam<BadReplyCase> {};

TEST_P(BuildReplyRejectsTest, BuildReplyRejectsBadField) {
  EXPECT_THAT(BuildReplyEnvelope(GetParam().format, GetParam().fields),
              IsReplyInvalid());
}

constexpr EnvelopeFormat kXml = EnvelopeFormat::kXml;
constexpr EnvelopeFormat kJson = EnvelopeFormat::kJson;

INSTANTIATE_TEST_SUITE_P(
    Fields, BuildReplyRejectsTest,
    ::testing::Values(
        With(/*name=*/"EmptyEncrypt", kXml, &ReplyFields::encrypt, ""),
        With(/*name=*/"EncryptWithCdataEnd", kXml, &ReplyFields::encrypt,
             "QUJD]]>"),
        With(/*name=*/"EncryptWithQuote", kJson, &ReplyFields::encrypt,
             "QUJD\""),
        With(/*name=*/"EmptyMsgSignature", kXml, &ReplyFields::msg_signature,
             ""),
        With(/*name=*/"NonHexMsgSignature", kJson, &ReplyFields::msg_signature,
             "1b93g"),
        With(/*name=*/"EmptyTimeStamp", kXml, &ReplyFields::timestamp, ""),
        With(/*name=*/"NegativeTimeStamp", kJson, &ReplyFields::timestamp,
             "-1"),
        With(/*name=*/"FractionalTimeStamp", kJson, &ReplyFields::timestamp,
             "1.5"),
        With(/*name=*/"TimeStampWithSpace", kXml, &ReplyFields::timestamp,
             "1 2"),
        With(/*name=*/"TimeStampOf21Digits", kXml, &ReplyFields::timestamp,
             "123456789012345678901"),
        With(/*name=*/"JsonTimeStampWithLeadingZero", kJson,
             &ReplyFields::timestamp, "01"),
        With(/*name=*/"EmptyNonce", kXml, &ReplyFields::nonce, ""),
        With(/*name=*/"NonceOf129Characters", kJson, &ReplyFields::nonce,
             std::string(129, 'n')),
        With(/*name=*/"NonceWithNewline", kJson, &ReplyFields::nonce, "a\nb"),
        With(/*name=*/"NonceWithNul", kJson, &ReplyFields::nonce,
             std::string("a\0b", 3)),
        With(/*name=*/"NonceWithDelete", kXml, &ReplyFields::nonce, "a\x7f"),
        With(/*name=*/"NonceNotAscii", kJson, &ReplyFields::nonce,
             "\xe4\xb8\xad"),
        With(/*name=*/"XmlNonceWithCdataEnd", kXml, &ReplyFields::nonce,
             "a]]>b"),
        BadReplyCase{/*name=*/"UnknownFormat",
                     /*format=*/static_cast<EnvelopeFormat>(0),
                     /*fields=*/SampleFields()}),
    [](const ::testing::TestParamInfo<BadReplyCase>& param_info) {
      return param_info.param.name;
    });

TEST(ReplyEnvelopeTest, BuildReplyAcceptsNonceOf128Characters) {
  ReplyFields fields = SampleFields();
  fields.nonce = std::string(128, '~');
  EXPECT_THAT(BuildReplyEnvelope(EnvelopeFormat::kXml, fields), IsOk());
}

TEST(ReplyEnvelopeTest, ParseReplyAcceptsJsonTimeStampAsString) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      parsed, ParseReplyEnvelope(R"({"Encrypt":"QUJD","MsgSignature":"ab",)"
                                 R"("TimeStamp":"123","Nonce":"n"})"));
  EXPECT_EQ(parsed.first, EnvelopeFormat::kJson);
  EXPECT_EQ(parsed.second.timestamp, "123");
}

TEST(ReplyEnvelopeTest, ParseReplyAcceptsLowercaseTimeStampAsNumber) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      parsed, ParseReplyEnvelope(R"({"encrypt":"QUJD","msgsignature":"ab",)"
                                 R"("timestamp":123,"nonce":"n"})"));
  EXPECT_EQ(parsed.first, EnvelopeFormat::kJsonLowercase);
  EXPECT_EQ(parsed.second.timestamp, "123");
}

TEST(ReplyEnvelopeTest, ParseReplyIgnoresUnknownFields) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      parsed, ParseReplyEnvelope("<xml><Extra><a/></Extra>"
                                 "<Encrypt>QUJD</Encrypt>"
                                 "<MsgSignature>ab</MsgSignature>"
                                 "<TimeStamp>1</TimeStamp><Nonce>n</Nonce>"
                                 "</xml>"));
  EXPECT_EQ(parsed.first, EnvelopeFormat::kXml);
  EXPECT_EQ(parsed.second.encrypt, "QUJD");
}

TEST(ReplyEnvelopeTest, ParseReplyRejectsBodyOverTheSizeLimit) {
  std::string body(kMaxEnvelopeSize + 1, ' ');
  body[0] = '{';
  EXPECT_THAT(
      ParseReplyEnvelope(body),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kParseXmlError, reason::kEnvelopeTooLarge));
}

struct BadBodyCase {
  std::string name;
  std::string body;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const BadBodyCase& c, std::ostream* os) { *os << c.name; }

class ParseReplyRejectsTest : public ::testing::TestWithParam<BadBodyCase> {};

TEST_P(ParseReplyRejectsTest, ParseReplyRejectsBadBody) {
  EXPECT_THAT(ParseReplyEnvelope(GetParam().body), IsEnvelopeInvalid());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ParseReplyRejectsTest,
    ::testing::Values(
        BadBodyCase{/*name=*/"Empty", /*body=*/""},
        BadBodyCase{/*name=*/"MissingNonce",
                    /*body=*/"<xml><Encrypt>QUJD</Encrypt><MsgSignature>ab"
                             "</MsgSignature><TimeStamp>1</TimeStamp></xml>"},
        BadBodyCase{/*name=*/"DuplicateNonce",
                    /*body=*/"<xml><Encrypt>QUJD</Encrypt><MsgSignature>ab"
                             "</MsgSignature><TimeStamp>1</TimeStamp>"
                             "<Nonce>n</Nonce><Nonce>m</Nonce></xml>"},
        BadBodyCase{/*name=*/"NestedTimeStamp",
                    /*body=*/"<xml><Encrypt>QUJD</Encrypt><MsgSignature>ab"
                             "</MsgSignature><TimeStamp><a>1</a></TimeStamp>"
                             "<Nonce>n</Nonce></xml>"},
        BadBodyCase{/*name=*/"XmlTimeStampNotDigits",
                    /*body=*/"<xml><Encrypt>QUJD</Encrypt><MsgSignature>ab"
                             "</MsgSignature><TimeStamp>1a</TimeStamp>"
                             "<Nonce>n</Nonce></xml>"},
        BadBodyCase{/*name=*/"JsonTimeStampWithExponent",
                    /*body=*/R"({"Encrypt":"QUJD","MsgSignature":"ab",)"
                             R"("TimeStamp":1e9,"Nonce":"n"})"},
        BadBodyCase{/*name=*/"JsonEncryptNotString",
                    /*body=*/R"({"Encrypt":1,"MsgSignature":"ab",)"
                             R"("TimeStamp":1,"Nonce":"n"})"},
        BadBodyCase{/*name=*/"JsonNonceNumber",
                    /*body=*/R"({"Encrypt":"QUJD","MsgSignature":"ab",)"
                             R"("TimeStamp":1,"Nonce":1})"},
        BadBodyCase{/*name=*/"JsonMixedSpellings",
                    /*body=*/R"({"Encrypt":"QUJD","msgsignature":"ab",)"
                             R"("timestamp":1,"nonce":"n"})"},
        BadBodyCase{/*name=*/"BothEncryptSpellings",
                    /*body=*/R"({"Encrypt":"QUJD","encrypt":"QUJD",)"
                             R"("MsgSignature":"ab","TimeStamp":1,)"
                             R"("Nonce":"n"})"},
        BadBodyCase{/*name=*/"NoEncrypt",
                    /*body=*/R"({"MsgSignature":"ab","TimeStamp":1,)"
                             R"("Nonce":"n"})"},
        BadBodyCase{/*name=*/"Doctype",
                    /*body=*/"<!DOCTYPE xml><xml><Encrypt>QUJD</Encrypt>"
                             "<MsgSignature>ab</MsgSignature><TimeStamp>1"
                             "</TimeStamp><Nonce>n</Nonce></xml>"}),
    [](const ::testing::TestParamInfo<BadBodyCase>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace wxcrypto
