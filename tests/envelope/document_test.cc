// The strict XML and JSON readers under the envelope functions
// (server/envelope/document.h): field kinds, error reasons and limits.
#include "server/envelope/document.h"

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/error.h"
#include "server/envelope/envelope.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::StatusIs;
using ::wxcrypto::testing::WxStatusIs;

constexpr absl::string_view kReason = "TEST_REASON";

auto IsTestError() {
  return WxStatusIs(absl::StatusCode::kInvalidArgument,
                    WxErrorCode::kParseXmlError, kReason);
}

std::string Repeat(absl::string_view text, std::size_t n) {
  std::string out;
  out.reserve(text.size() * n);
  for (std::size_t i = 0; i < n; ++i) out.append(text.data(), text.size());
  return out;
}

// <xml> wrapped around `depth` - 1 nested <a> elements: `depth` levels.
std::string NestedXml(std::size_t depth) {
  return "<xml>" + Repeat("<a>", depth - 1) + "t" + Repeat("</a>", depth - 1) +
         "</xml>";
}

// A top-level object around `depth` - 1 nested arrays: `depth` levels.
std::string NestedJson(std::size_t depth) {
  return "{\"a\":" + Repeat("[", depth - 1) + Repeat("]", depth - 1) + "}";
}

TEST(DocumentTest, XmlFieldKindsTellTextFromNestedElements) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ReadXmlFields("<xml><A>1</A><B><C/></B></xml>", kReason));
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].kind, FieldKind::kText);
  EXPECT_EQ(fields[1].kind, FieldKind::kStructured);
  EXPECT_EQ(fields[1].value, "<C/>");
}

TEST(DocumentTest, JsonFieldKindsTellStringsNumbersAndOthers) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields,
      ReadJsonFields(R"({"s":"1","n":1,"t":true,"z":null,"o":{}})", kReason));
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[0].kind, FieldKind::kText);
  EXPECT_EQ(fields[1].kind, FieldKind::kNumber);
  EXPECT_EQ(fields[2].kind, FieldKind::kStructured);
  EXPECT_EQ(fields[3].kind, FieldKind::kStructured);
  EXPECT_EQ(fields[4].kind, FieldKind::kStructured);
}

TEST(DocumentTest, ReadersKeepDuplicatesForTheCallerToJudge) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      xml, ReadXmlFields("<xml><A>1</A><A>2</A></xml>", kReason));
  EXPECT_EQ(xml.size(), 2u);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(json,
                                ReadJsonFields(R"({"A":1,"A":2})", kReason));
  EXPECT_EQ(json.size(), 2u);
}

TEST(DocumentTest, ErrorsCarryTheCallersReason) {
  EXPECT_THAT(ReadXmlFields("<xml>", kReason), IsTestError());
  EXPECT_THAT(ReadJsonFields("{", kReason), IsTestError());
}

TEST(DocumentTest, XmlAcceptsTheMaximumNestingDepth) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      fields, ReadXmlFields(NestedXml(kMaxNestingDepth), kReason));
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].kind, FieldKind::kStructured);
}

TEST(DocumentTest, XmlRejectsOneLevelBeyondTheMaximumDepth) {
  EXPECT_THAT(ReadXmlFields(NestedXml(kMaxNestingDepth + 1), kReason),
              IsTestError());
}

TEST(DocumentTest, JsonAcceptsTheMaximumNestingDepth) {
  EXPECT_THAT(ReadJsonFields(NestedJson(kMaxNestingDepth), kReason), IsOk());
  EXPECT_THAT(CheckJsonText(Repeat("[", kMaxNestingDepth) +
                            Repeat("]", kMaxNestingDepth)),
              IsOk());
}

TEST(DocumentTest, JsonRejectsOneLevelBeyondTheMaximumDepth) {
  EXPECT_THAT(ReadJsonFields(NestedJson(kMaxNestingDepth + 1), kReason),
              IsTestError());
  EXPECT_THAT(CheckJsonText(Repeat("[", kMaxNestingDepth + 1) +
                            Repeat("]", kMaxNestingDepth + 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// 100k levels would overflow the stack of a recursive parser or destructor.
// (They exceed kMaxXmlMarkup, and are refused before parsing.)
TEST(DocumentTest, RejectsHundredThousandNestedElementsWithoutCrashing) {
  constexpr std::size_t kLevels = 100000;
  EXPECT_THAT(ReadXmlFields(NestedXml(kLevels), kReason), IsTestError());
  EXPECT_THAT(ReadXmlFields("<xml>" + Repeat("<a>", kLevels), kReason),
              IsTestError());
}

// As deep as kMaxXmlMarkup allows: parsed by pugixml, then refused by the
// depth check, neither of which may recurse.
TEST(DocumentTest, RejectsThirtyThousandNestedElementsAfterParsing) {
  constexpr std::size_t kLevels = 30000;
  ASSERT_LT(2 * kLevels, kMaxXmlMarkup);
  EXPECT_THAT(ReadXmlFields(NestedXml(kLevels), kReason), IsTestError());
}

TEST(DocumentTest, RejectsHundredThousandNestedArraysWithoutCrashing) {
  constexpr std::size_t kLevels = 100000;
  EXPECT_THAT(ReadJsonFields(NestedJson(kLevels), kReason), IsTestError());
  EXPECT_THAT(ReadJsonFields("{\"a\":" + Repeat("[", kLevels), kReason),
              IsTestError());
  EXPECT_THAT(ReadJsonFields(Repeat("{\"a\":", kLevels), kReason),
              IsTestError());
  EXPECT_THAT(CheckJsonText(Repeat("[", kLevels)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DocumentTest, RejectsDeepNestingThroughThePublicFunctions) {
  constexpr std::size_t kLevels = 100000;
  const std::string deep_xml = NestedXml(kLevels);
  const std::string deep_json = NestedJson(kLevels);
  for (const std::string* body : {&deep_xml, &deep_json}) {
    EXPECT_THAT(
        ParsePushEnvelope(*body),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid));
    EXPECT_THAT(
        ParseReplyEnvelope(*body),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid));
    EXPECT_THAT(
        ExtractMessageFields(*body),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kParseXmlError, reason::kMessageInvalid));
  }
}

TEST(DocumentTest, XmlAcceptsTheMaximumMarkup) {
  // <xml>, then pairs of start and end tags, then </xml>.
  std::string xml =
      "<xml>" + Repeat("<a>1</a>", (kMaxXmlMarkup - 2) / 2) + "</xml>";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ReadXmlFields(xml, kReason));
  EXPECT_EQ(fields.size(), (kMaxXmlMarkup - 2) / 2);
}

TEST(DocumentTest, XmlRejectsMoreMarkupThanTheLimit) {
  std::string xml = "<xml>" + Repeat("<a>1</a>", kMaxXmlMarkup / 2) + "</xml>";
  EXPECT_THAT(ReadXmlFields(xml, kReason), IsTestError());
}

TEST(DocumentTest, XmlCountsAttributesAndCommentsAgainstTheMarkupLimit) {
  EXPECT_THAT(ReadXmlFields("<xml " + Repeat("a=\"1\" ", kMaxXmlMarkup) + "/>",
                            kReason),
              IsTestError());
  EXPECT_THAT(
      ReadXmlFields("<xml>" + Repeat("<!---->", kMaxXmlMarkup) + "</xml>",
                    kReason),
      IsTestError());
}

TEST(DocumentTest, XmlDoesNotCountMarkupInsideCdataOrAttributeValues) {
  const std::string cdata = Repeat("<a b=c>", 500000);
  const std::string xml = "<xml><A q=\"" + Repeat("<=", kMaxXmlMarkup) +
                          "\"><![CDATA[" + cdata + "]]></A></xml>";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(fields, ReadXmlFields(xml, kReason));
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].value, cdata);
}

TEST(DocumentTest, ReadsOnlyTheFieldsAskedFor) {
  constexpr absl::string_view kOnly[] = {"B", "D"};
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      xml, ReadXmlFields("<xml><A>1</A><B>2</B><C><D>3</D></C></xml>", kReason,
                         kOnly));
  ASSERT_EQ(xml.size(), 1u);
  EXPECT_EQ(xml[0].name, "B");
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      json,
      ReadJsonFields(R"({"A":[1],"B":{"D":1},"C":"x","D":2})", kReason, kOnly));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].name, "B");
  EXPECT_EQ(json[0].value, R"({"D":1})");
  EXPECT_EQ(json[1].name, "D");
  EXPECT_EQ(json[1].value, "2");
}

TEST(DocumentTest, ChecksFieldsThatWereNotAskedFor) {
  constexpr absl::string_view kOnly[] = {"B"};
  EXPECT_THAT(ReadXmlFields("<xml><A>&e;</A><B>2</B></xml>", kReason, kOnly),
              IsTestError());
  EXPECT_THAT(ReadJsonFields(R"({"A":[1,tru],"B":2})", kReason, kOnly),
              IsTestError());
  EXPECT_THAT(ReadJsonFields("{\"A\":\"\xff\",\"B\":2}", kReason, kOnly),
              IsTestError());
  EXPECT_THAT(ReadJsonFields(NestedJson(kMaxNestingDepth + 1), kReason, kOnly),
              IsTestError());
}

TEST(DocumentTest, RejectsInputOverTheSizeLimit) {
  const std::string big(kMaxEnvelopeSize + 1, ' ');
  EXPECT_THAT(ReadXmlFields(big, kReason), IsTestError());
  EXPECT_THAT(ReadJsonFields(big, kReason), IsTestError());
  EXPECT_THAT(CheckJsonText(big), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Mutated and truncated versions of valid documents, and random bytes:
// every call must return, and every error must carry the WeChat code.
TEST(DocumentTest, SurvivesMutatedAndRandomInput) {
  const std::vector<std::string> seeds = {
      "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><A b=\"c\">&amp;&#65;"
      "<B><C/></B></A><!-- x --><Encrypt>QUJD</Encrypt></xml>",
      R"({"ToUserName":"gh_1","a":[1,{"b":null}],"c":"\u4e2d\"","Encrypt":"QUJD"})",
  };
  // Markup characters, and NUL.
  constexpr absl::string_view kSpecial("<>&;\"[]{}:,\\/!?-x\0", 18);
  std::mt19937 random(20240601);  // Fixed seed: reproducible.
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string input = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      const std::size_t at = random() % input.size();
      switch (random() % 4) {
        case 0:
          input[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          input.erase(at, 1 + random() % 8);
          break;
        case 2:
          input.insert(at, 1, kSpecial[random() % kSpecial.size()]);
          break;
        default:
          input.resize(at);
          break;
      }
    }
    if (round % 10 == 9) {
      input.resize(random() % 64);
      for (char& c : input) c = static_cast<char>(random() % 256);
    }
    absl::StatusOr<FieldList> fields = ExtractMessageFields(input);
    if (fields.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(GetErrorReason(fields.status()), reason::kMessageInvalid);
      EXPECT_EQ(GetWxErrorCode(fields.status()), WxErrorCode::kParseXmlError);
    }
    absl::StatusOr<PushEnvelope> push = ParsePushEnvelope(input);
    if (!push.ok()) {
      EXPECT_EQ(GetErrorReason(push.status()), reason::kEnvelopeInvalid);
    }
  }
  // Some mutations (inside text) leave a valid document.
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace wxcrypto
