#include "server/crypto/ct_json.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "tests/testing/ct_json_reference.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::Reference;
using ::wxcrypto::testing::ReferenceScan;

constexpr char kAppId[] = "wx4f4bc4dec97d474b";

CtJsonWatermark Scan(absl::string_view text,
                     absl::string_view app_id = kAppId) {
  return CtJsonScanWatermark(text, text.size(), app_id);
}

bool Valid(absl::string_view text) { return Scan(text).valid_mask != 0; }

// A document whose watermark is `watermark` (raw JSON text).
std::string WithWatermark(absl::string_view watermark) {
  return absl::StrCat(R"({"openId":"o","watermark":)", watermark, "}");
}

constexpr char kGoodWatermark[] =
    R"({"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"})";

// ---------------------------------------------------------------------------
// Validity, one grammar rule at a time.

struct ValidityCase {
  std::string name;
  std::string text;
  bool valid;
};

class CtJsonValidityTest : public ::testing::TestWithParam<ValidityCase> {};

TEST_P(CtJsonValidityTest, AcceptsExactlyTheJsonGrammar) {
  const ValidityCase& c = GetParam();
  const CtJsonWatermark scan = Scan(c.text);
  EXPECT_EQ(scan.valid_mask, c.valid ? ~std::uint64_t{0} : 0) << c.text;
  // Masks are all ones or zero, and nothing is found in an invalid text.
  EXPECT_TRUE(scan.found_mask == 0 || scan.found_mask == ~std::uint64_t{0});
  if (!c.valid) {
    EXPECT_EQ(scan.found_mask, 0u);
    EXPECT_EQ(scan.app_id_match_mask, 0u);
    EXPECT_EQ(scan.timestamp, 0);
  }
}

std::string Nested(int depth) {
  // depth - 1 arrays inside the top-level object.
  return absl::StrCat("{\"a\":", std::string(depth - 1, '['),
                      std::string(depth - 1, ']'), "}");
}

std::vector<ValidityCase> ValidityCases() {
  std::vector<ValidityCase> cases = {
      // The top level must be one object.
      {/*name=*/"EmptyObject", /*text=*/"{}", /*valid=*/true},
      {"EmptyText", "", false},
      {"OnlySpaces", "   ", false},
      {"TopLevelArray", "[]", false},
      {"TopLevelNumber", "1", false},
      {"TopLevelString", "\"s\"", false},
      {"TopLevelNull", "null", false},
      {"TopLevelTrue", "true", false},
      {"TwoObjects", "{}{}", false},
      {"TwoObjectsWithSpace", "{} {}", false},
      {"UnclosedObject", "{", false},
      {"ExtraClose", "{}}", false},
      {"TrailingGarbage", "{} x", false},
      {"TrailingComma", "{},", false},
      // Whitespace: space, tab, LF, CR around every token; nothing else.
      {"AllWhitespace",
       " \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, "
       "\t\r\n2 \t\r\n] \t\r\n} \t\r\n",
       true},
      {"FormFeed", "{}\f", false},
      {"VerticalTab", "\v{}", false},
      {"NoBreakSpace", "{\xc2\xa0}", false},
      {"ByteOrderMark", "\xef\xbb\xbf{}", false},
      {"LoneBomByte", "\xbb{}", false},
      {"NulAfterObject", std::string("{}\0", 3), false},
      {"NulAfterObjectThenGarbage", std::string("{}\0garbage", 10), false},
      {"NulInsideString", std::string("{\"a\":\"\0\"}", 9), false},
      // Objects.
      {"Member", R"({"a":1})", true},
      {"Members", R"({"a":1,"b":2,"c":3})", true},
      {"DuplicateNames", R"({"a":1,"a":2})", true},
      {"EmptyName", R"({"":1})", true},
      {"NameWithoutValue", R"({"a"})", false},
      {"NameWithoutColon", R"({"a" 1})", false},
      {"ColonWithoutValue", R"({"a":})", false},
      {"LeadingComma", R"({,"a":1})", false},
      {"OnlyComma", "{,}", false},
      {"TrailingCommaInObject", R"({"a":1,})", false},
      {"DoubleComma", R"({"a":1,,"b":2})", false},
      {"MissingComma", R"({"a":1 "b":2})", false},
      {"NumberAsName", R"({1:2})", false},
      {"SingleQuotes", R"({'a':1})", false},
      {"BareName", R"({a:1})", false},
      {"DoubleColon", R"({"a"::1})", false},
      // Arrays.
      {"EmptyArray", R"({"a":[]})", true},
      {"Array", R"({"a":[1,"x",true,false,null,{},[]]})", true},
      {"NestedArrays", R"({"a":[[[]],[[],[]]]})", true},
      {"TrailingCommaInArray", R"({"a":[1,]})", false},
      {"LeadingCommaInArray", R"({"a":[,1]})", false},
      {"MissingCommaInArray", R"({"a":[1 2]})", false},
      {"MemberInArray", R"({"a":["b":1]})", false},
      {"ArrayClosedByBrace", R"({"a":[1}})", false},
      {"ObjectClosedByBracket", R"({"a":{"b":1]})", false},
      {"EmptyObjectClosedByBracket", R"({"a":{]})", false},
      {"EmptyArrayClosedByBrace", R"({"a":[}})", false},
      {"TopLevelClosedByBracket", R"({"a":1])", false},
      {"UnclosedArray", R"({"a":[1})", false},
      // Literals.
      {"Literals", R"({"t":true,"f":false,"n":null})", true},
      {"TruncatedTrue", R"({"a":tru})", false},
      {"LongTrue", R"({"a":truee})", false},
      {"CapitalTrue", R"({"a":True})", false},
      {"TruncatedNull", R"({"a":nul})", false},
      {"LongNull", R"({"a":nulll})", false},
      {"TruncatedFalse", R"({"a":fals})", false},
      {"FalseWithSuffix", R"({"a":falsey})", false},
      {"LiteralThenNumber", R"({"a":true1})", false},
      {"NaN", R"({"a":NaN})", false},
      {"Infinity", R"({"a":Infinity})", false},
      // Numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      {"Numbers",
       R"({"a":[0,-0,1,-1,123,1.5,-1.5,0.5,1e5,1E5,1e+5,1e-5,1.5e-5,0e0,)"
       R"(-0.0e-0,123456789012345678901234567890]})",
       true},
      {"NumberBeforeBrace", R"({"a":1})", true},
      {"NumberBeforeSpace", R"({"a":1 })", true},
      {"LeadingZero", R"({"a":01})", false},
      {"NegativeLeadingZero", R"({"a":-01})", false},
      {"TrailingDot", R"({"a":1.})", false},
      {"LeadingDot", R"({"a":.5})", false},
      {"OnlyMinus", R"({"a":-})", false},
      {"Plus", R"({"a":+1})", false},
      {"EmptyExponent", R"({"a":1e})", false},
      {"SignOnlyExponent", R"({"a":1e+})", false},
      {"DotBeforeExponent", R"({"a":1.e5})", false},
      {"Hex", R"({"a":0x1})", false},
      {"TwoDots", R"({"a":1.5.5})", false},
      {"TwoMinus", R"({"a":--1})", false},
      {"MinusLetter", R"({"a":-a})", false},
      {"Underscore", R"({"a":1_000})", false},
      {"NumberThenLetter", R"({"a":1x})", false},
      {"NumberThenQuote", R"({"a":1"x"})", false},
      {"TwoExponents", R"({"a":1e5e5})", false},
      // Strings.
      {"Strings", R"({"a":["","abc"," "]})", true},
      {"SimpleEscapes", R"({"a":"\"\\\/\b\f\n\r\t"})", true},
      {"UnicodeEscapes", R"({"a":"\u0041\u00e9\u00E9\uFFFF\u0000"})", true},
      {"SurrogatePair", R"({"a":"\uD83D\uDE00\ud83d\ude00"})", true},
      {"HighestSurrogatePair", R"({"a":"\udbff\udfff"})", true},
      {"BadEscape", R"({"a":"\x"})", false},
      {"SingleQuoteEscape", R"({"a":"\'"})", false},
      {"CapitalUEscape", R"({"a":"\U0041"})", false},
      {"ShortUnicodeEscape", R"({"a":"\u12"})", false},
      {"NonHexUnicodeEscape", R"({"a":"\u12G4"})", false},
      {"LoneHighSurrogate", R"({"a":"\uD800"})", false},
      {"HighSurrogateThenText", R"({"a":"\uD800x"})", false},
      {"HighSurrogateThenNonSurrogate", R"({"a":"\uD800\u0041"})", false},
      {"HighSurrogateThenHigh", R"({"a":"\uD800\uD800"})", false},
      {"HighSurrogateThenBadEscape", R"({"a":"\uD800\n"})", false},
      {"LoneLowSurrogate", R"({"a":"\uDC00"})", false},
      {"LoneLowSurrogateEnd", R"({"a":"\uDFFF"})", false},
      {"LastBelowSurrogates", R"({"a":"\uD7FF"})", true},
      {"FirstAboveSurrogates", R"({"a":"\uE000"})", true},
      {"RawTab", "{\"a\":\"\t\"}", false},
      {"RawNewline", "{\"a\":\"\n\"}", false},
      {"RawControl", "{\"a\":\"\x01\"}", false},
      {"RawUnitSeparator", "{\"a\":\"\x1f\"}", false},
      {"RawDelete", "{\"a\":\"\x7f\"}", true},
      {"UnterminatedString", R"({"a":"abc})", false},
      {"BackslashAtEnd", R"({"a":"\)", false},
      // UTF-8 (RFC 3629): boundaries of each sequence length.
      {"Utf8TwoBytes", "{\"a\":\"\xc2\x80\xdf\xbf\"}", true},
      {"Utf8ThreeBytes",
       "{\"a\":\"\xe0\xa0\x80\xe1\x80\x80\xec\xbf\xbf\xed\x80\x80\xed\x9f\xbf"
       "\xee\x80\x80\xef\xbf\xbf\"}",
       true},
      {"Utf8FourBytes",
       "{\"a\":\"\xf0\x90\x80\x80\xf1\x80\x80\x80\xf3\xbf\xbf\xbf\xf4\x80\x80"
       "\x80\xf4\x8f\xbf\xbf\"}",
       true},
      {"Utf8Chinese", "{\"a\":\"\xe4\xb8\xad\xe6\x96\x87\"}", true},
      {"Utf8OverlongC0", "{\"a\":\"\xc0\x80\"}", false},
      {"Utf8OverlongC1", "{\"a\":\"\xc1\xbf\"}", false},
      {"Utf8OverlongE0", "{\"a\":\"\xe0\x80\x80\"}", false},
      {"Utf8OverlongE0High", "{\"a\":\"\xe0\x9f\xbf\"}", false},
      {"Utf8SurrogateLow", "{\"a\":\"\xed\xa0\x80\"}", false},
      {"Utf8SurrogateHigh", "{\"a\":\"\xed\xbf\xbf\"}", false},
      {"Utf8OverlongF0", "{\"a\":\"\xf0\x80\x80\x80\"}", false},
      {"Utf8OverlongF0High", "{\"a\":\"\xf0\x8f\xbf\xbf\"}", false},
      {"Utf8AboveMax", "{\"a\":\"\xf4\x90\x80\x80\"}", false},
      {"Utf8F5", "{\"a\":\"\xf5\x80\x80\x80\"}", false},
      {"Utf8FF", "{\"a\":\"\xff\"}", false},
      {"Utf8LoneContinuation", "{\"a\":\"\x80\"}", false},
      {"Utf8TruncatedTwo", "{\"a\":\"\xc2\"}", false},
      {"Utf8TruncatedThree", "{\"a\":\"\xe0\xa0\"}", false},
      {"Utf8TruncatedFour", "{\"a\":\"\xf0\x90\x80\"}", false},
      {"Utf8BadContinuation", "{\"a\":\"\xc2\x41\"}", false},
      {"Utf8FiveBytes", "{\"a\":\"\xf8\x88\x80\x80\x80\"}", false},
      {"Utf8OutsideString", "{\"a\":1\xc2\xa0}", false},
      {"Utf8InName", "{\"\xe4\xb8\xad\":1}", true},
      {"Utf8OverlongInName", "{\"\xc0\x80\":1}", false},
      {"Utf8SurrogateInName", "{\"\xed\xa0\x80\":1}", false},
      // Member names may not contain escapes (ct_json.h, difference 6).
      {"EscapeInName", R"({"a\nb":1})", false},
      {"UnicodeEscapeInName", R"({"water\u006dark":1})", false},
      {"QuoteEscapeInName", R"({"\"":1})", false},
      {"ControlInName", "{\"a\x01\":1}", false},
      // Nesting: kCtJsonMaxDepth levels, not one more.
      {"MaxDepth", Nested(kCtJsonMaxDepth), true},
      {"TooDeep", Nested(kCtJsonMaxDepth + 1), false},
      {"FarTooDeep", Nested(200), false},
      {"DeepObjects",
       absl::StrCat(
           std::string(kCtJsonMaxDepth - 1, ' '), "{",
           [] {
             std::string s;
             for (std::size_t i = 1; i < kCtJsonMaxDepth; ++i) {
               s += "\"a\":{";
             }
             return s;
           }(),
           std::string(kCtJsonMaxDepth, '}')),
       true},
  };
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, CtJsonValidityTest, ::testing::ValuesIn(ValidityCases()),
    [](const ::testing::TestParamInfo<ValidityCase>& param) {
      return param.param.name;
    });

TEST(CtJsonTest, RejectsEveryProperPrefixOfADocument) {
  const std::string doc = WithWatermark(kGoodWatermark);
  ASSERT_TRUE(Valid(doc));
  for (std::size_t size = 0; size < doc.size(); ++size) {
    EXPECT_FALSE(Valid(doc.substr(0, size))) << size;
  }
}

TEST(CtJsonTest, ReadsBytesPastSizeAsSpaces) {
  const std::string doc = WithWatermark(kGoodWatermark);
  for (const std::string& tail :
       {std::string("\x03\x03\x03"), std::string("garbage"),
        std::string("\0\xff", 2), std::string(16, '\x10')}) {
    const std::string text = doc + tail;
    EXPECT_EQ(Scan(text).valid_mask, 0u);
    const CtJsonWatermark scan = CtJsonScanWatermark(text, doc.size(), kAppId);
    EXPECT_NE(scan.valid_mask, 0u);
    EXPECT_NE(scan.app_id_match_mask, 0u);
    EXPECT_EQ(scan.timestamp, 1477314187);
  }
  // A size past the end is clamped; a size inside the document cuts it.
  EXPECT_NE(CtJsonScanWatermark(doc, doc.size() + 100, kAppId).valid_mask, 0u);
  EXPECT_NE(
      CtJsonScanWatermark(doc, std::numeric_limits<std::size_t>::max(), kAppId)
          .valid_mask,
      0u);
  EXPECT_EQ(CtJsonScanWatermark(doc, doc.size() - 1, kAppId).valid_mask, 0u);
  EXPECT_EQ(CtJsonScanWatermark(doc, 0, kAppId).valid_mask, 0u);
}

// The scan copies and runs a text in chunks of 1 KiB: documents whose
// watermark, appid, timestamp or end (and bytes past `size`) fall on either
// side of a chunk boundary, at every offset, scan as short ones do.
TEST(CtJsonTest, ScansLongDocumentsAcrossChunkBoundaries) {
  const std::string watermark =
      R"({"timestamp":-1477314187,"appid":"wx4f4bc4dec97d474b"})";
  for (std::size_t pad : {std::size_t{900}, std::size_t{1900}}) {
    for (std::size_t extra = 0; extra < 160; ++extra) {
      const std::string doc =
          absl::StrCat(R"({"p":")", std::string(pad + extra, 'x'),
                       R"(","watermark":)", watermark, "}");
      const CtJsonWatermark scan = Scan(doc);
      EXPECT_NE(scan.valid_mask, 0u) << doc.size();
      EXPECT_NE(scan.found_mask, 0u) << doc.size();
      EXPECT_NE(scan.app_id_match_mask, 0u) << doc.size();
      EXPECT_EQ(scan.timestamp, -1477314187) << doc.size();
      EXPECT_EQ(Scan(doc, "wx4f4bc4dec97d474c").app_id_match_mask, 0u)
          << doc.size();
      EXPECT_EQ(Scan(doc, "xx4f4bc4dec97d474b").app_id_match_mask, 0u)
          << doc.size();

      // The same document followed by padding-like bytes, cut at its end.
      const std::string text = doc + std::string(16, '\x10');
      EXPECT_EQ(Scan(text).valid_mask, 0u) << doc.size();
      const CtJsonWatermark cut = CtJsonScanWatermark(text, doc.size(), kAppId);
      EXPECT_NE(cut.app_id_match_mask, 0u) << doc.size();
      EXPECT_EQ(cut.timestamp, -1477314187) << doc.size();
    }
  }
}

// ---------------------------------------------------------------------------
// Extraction.

struct ExtractionCase {
  std::string name;
  std::string text;
  bool found;
  bool matches;            // the appid equals kAppId
  std::int64_t timestamp;  // when found
};

class CtJsonExtractionTest : public ::testing::TestWithParam<ExtractionCase> {};

TEST_P(CtJsonExtractionTest, FindsTheWatermarkAsTheDomWould) {
  const ExtractionCase& c = GetParam();
  const CtJsonWatermark scan = Scan(c.text);
  ASSERT_NE(scan.valid_mask, 0u) << c.text;
  EXPECT_EQ(scan.found_mask != 0, c.found) << c.text;
  EXPECT_EQ(scan.app_id_match_mask != 0, c.matches) << c.text;
  EXPECT_EQ(scan.timestamp, c.found ? c.timestamp : 0) << c.text;
}

std::vector<ExtractionCase> ExtractionCases() {
  const std::string ok = kGoodWatermark;
  return {
      {/*name=*/"Watermark", /*text=*/WithWatermark(ok), /*found=*/true,
       /*matches=*/true, /*timestamp=*/1477314187},
      {"OnlyWatermark", "{\"watermark\":" + ok + "}", true, true, 1477314187},
      {"SpacesEverywhere",
       R"({ "watermark" : { "appid" : "wx4f4bc4dec97d474b" , )"
       R"("timestamp" : 7 } } )",
       true, true, 7},
      {"OtherAppId",
       WithWatermark(R"({"timestamp":1,"appid":"wx0000000000000000"})"), true,
       false, 1},
      {"AppIdPrefix",
       WithWatermark(R"({"timestamp":1,"appid":"wx4f4bc4dec97d474"})"), true,
       false, 1},
      {"AppIdLonger",
       WithWatermark(R"({"timestamp":1,"appid":"wx4f4bc4dec97d474bb"})"), true,
       false, 1},
      {"AppIdEmpty", WithWatermark(R"({"timestamp":1,"appid":""})"), true,
       false, 1},
      // The first member of a name wins, at each level.
      {"FirstWatermarkWins",
       R"({"watermark":{"timestamp":1,"appid":"x"},"watermark":)" + ok + "}",
       true, false, 1},
      {"FirstWatermarkWinsInOrder",
       "{\"watermark\":" + ok + R"(,"watermark":{"timestamp":1,"appid":"x"}})",
       true, true, 1477314187},
      {"FirstWatermarkNotObject", R"({"watermark":1,"watermark":)" + ok + "}",
       false, false, 0},
      {"FirstAppIdWins",
       R"({"watermark":{"appid":"wx4f4bc4dec97d474b","appid":"x",)"
       R"("timestamp":1}})",
       true, true, 1},
      {"FirstAppIdNotString",
       R"({"watermark":{"appid":1,"appid":"wx4f4bc4dec97d474b",)"
       R"("timestamp":1}})",
       false, false, 0},
      {"FirstTimestampWins",
       R"({"watermark":{"timestamp":5,"timestamp":"6",)"
       R"("appid":"wx4f4bc4dec97d474b"}})",
       true, true, 5},
      {"FirstTimestampNotNumber",
       R"({"watermark":{"timestamp":"1","timestamp":1,)"
       R"("appid":"wx4f4bc4dec97d474b"}})",
       false, false, 0},
      // The watermark must be an object.
      {"WatermarkString", R"({"watermark":"wx4f4bc4dec97d474b"})", false, false,
       0},
      {"WatermarkNumber", R"({"watermark":-1})", false, false, 0},
      {"WatermarkArray", R"({"watermark":[)" + ok + "]}", false, false, 0},
      {"WatermarkNull", R"({"watermark":null})", false, false, 0},
      {"WatermarkTrue", R"({"watermark":true})", false, false, 0},
      {"WatermarkEmpty", R"({"watermark":{}})", false, false, 0},
      // Only the top level, and only directly inside the watermark.
      {"WatermarkNested", R"({"a":{"watermark":)" + ok + "}}", false, false, 0},
      {"WatermarkInArray", R"({"a":[{"watermark":)" + ok + "}]}", false, false,
       0},
      {"MembersNested",
       R"({"watermark":{"x":{"timestamp":1,"appid":"wx4f4bc4dec97d474b"}}})",
       false, false, 0},
      {"MembersNestedThenDirect",
       R"({"watermark":{"x":{"appid":"y","timestamp":2},)"
       R"("y":[{"appid":"z"}],"timestamp":1,"appid":"wx4f4bc4dec97d474b"}})",
       true, true, 1},
      {"ContainersAround",
       R"({"a":[{"b":{}},[]],"watermark":)" + ok + R"(,"c":{"d":[1,2]}})", true,
       true, 1477314187},
      {"NameValuesThatLookLikeNames",
       R"({"x":"watermark","watermark":{"y":"appid","z":"timestamp",)"
       R"("appid":"wx4f4bc4dec97d474b","timestamp":3}})",
       true, true, 3},
      {"NamesThatAlmostMatch",
       R"({"watermar":1,"watermarks":2,"Watermark":3,"watermark":{)"
       R"("appi":1,"appidd":2,"timestam":3,"timestamps":4,)"
       R"("appid":"wx4f4bc4dec97d474b","timestamp":9}})",
       true, true, 9},
      // Missing members.
      {"NoAppId", R"({"watermark":{"timestamp":1}})", false, false, 0},
      {"NoTimestamp", R"({"watermark":{"appid":"wx4f4bc4dec97d474b"}})", false,
       false, 0},
      {"NoWatermark", R"({"openId":"o"})", false, false, 0},
      // The appid must be a string, written without escapes.
      {"AppIdNumber", WithWatermark(R"({"timestamp":1,"appid":1})"), false,
       false, 0},
      {"AppIdNull", WithWatermark(R"({"timestamp":1,"appid":null})"), false,
       false, 0},
      {"AppIdObject", WithWatermark(R"({"timestamp":1,"appid":{}})"), false,
       false, 0},
      {"AppIdArray",
       WithWatermark(R"({"timestamp":1,"appid":["wx4f4bc4dec97d474b"]})"),
       false, false, 0},
      {"AppIdEscaped",
       WithWatermark(R"({"timestamp":1,"appid":"\u0077x4f4bc4dec97d474b"})"),
       true, false, 1},
      {"AppIdEscapedSlash",
       WithWatermark(R"({"timestamp":1,"appid":"wx4f4bc4dec97d474\/"})"), true,
       false, 1},
      // The timestamp must be an int64: no fraction, no exponent.
      {"TimestampNegative",
       WithWatermark(R"({"timestamp":-1,"appid":"wx4f4bc4dec97d474b"})"), true,
       true, -1},
      {"TimestampZero",
       WithWatermark(R"({"timestamp":0,"appid":"wx4f4bc4dec97d474b"})"), true,
       true, 0},
      {"TimestampNegativeZero",
       WithWatermark(R"({"timestamp":-0,"appid":"wx4f4bc4dec97d474b"})"), true,
       true, 0},
      {"TimestampMax",
       WithWatermark(
           R"({"timestamp":9223372036854775807,"appid":"wx4f4bc4dec97d474b"})"),
       true, true, std::numeric_limits<std::int64_t>::max()},
      {"TimestampMin",
       WithWatermark(
           R"({"timestamp":-9223372036854775808,"appid":"wx4f4bc4dec97d474b"})"),
       true, true, std::numeric_limits<std::int64_t>::min()},
      {"TimestampAboveMax",
       WithWatermark(
           R"({"timestamp":9223372036854775808,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampBelowMin",
       WithWatermark(
           R"({"timestamp":-9223372036854775809,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampUint64Max",
       WithWatermark(
           R"({"timestamp":18446744073709551615,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampTwentyDigits",
       WithWatermark(
           R"({"timestamp":10000000000000000000,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampWraps",
       WithWatermark(
           R"({"timestamp":18446744073709551617,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampHuge",
       WithWatermark(absl::StrCat(R"({"timestamp":)", std::string(400, '9'),
                                  R"(,"appid":"wx4f4bc4dec97d474b"})")),
       false, false, 0},
      {"TimestampFraction",
       WithWatermark(R"({"timestamp":1.0,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampExponent",
       WithWatermark(R"({"timestamp":1e3,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampCapitalExponent",
       WithWatermark(R"({"timestamp":1E3,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampZeroExponent",
       WithWatermark(R"({"timestamp":0e0,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampString",
       WithWatermark(R"({"timestamp":"1","appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampNull",
       WithWatermark(R"({"timestamp":null,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampTrue",
       WithWatermark(R"({"timestamp":true,"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampObject",
       WithWatermark(R"({"timestamp":{},"appid":"wx4f4bc4dec97d474b"})"), false,
       false, 0},
      {"TimestampArray",
       WithWatermark(R"({"timestamp":[1],"appid":"wx4f4bc4dec97d474b"})"),
       false, false, 0},
      {"TimestampLast",
       R"({"watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":12}})", true,
       true, 12},
      {"TimestampLastWithSpace",
       R"({"watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":-12 }})", true,
       true, -12},
      {"TimestampInArrayDoesNotCount",
       R"({"watermark":{"appid":"wx4f4bc4dec97d474b","x":[1],"timestamp":3}})",
       true, true, 3},
      // A later watermark-looking document part does not change the result.
      {"NumbersAfterWatermark",
       R"({"openId":"o","watermark":)" + ok + R"(,"n":[1.5,-2e9]})", true, true,
       1477314187},
  };
}

INSTANTIATE_TEST_SUITE_P(
    Members, CtJsonExtractionTest, ::testing::ValuesIn(ExtractionCases()),
    [](const ::testing::TestParamInfo<ExtractionCase>& param) {
      return param.param.name;
    });

TEST(CtJsonTest, MatchesAppIdsUpToTheCapacity) {
  for (std::size_t size : {std::size_t{1}, std::size_t{18}, std::size_t{63},
                           kCtJsonAppIdCapacity}) {
    const std::string app_id(size, 'w');
    const std::string doc = WithWatermark(
        absl::StrCat(R"({"timestamp":1,"appid":")", app_id, R"("})"));
    EXPECT_NE(Scan(doc, app_id).app_id_match_mask, 0u) << size;
    EXPECT_EQ(Scan(doc, app_id + "w").app_id_match_mask, 0u) << size;
    EXPECT_EQ(Scan(doc, app_id.substr(1)).app_id_match_mask, 0u) << size;
    std::string other = app_id;
    other.back() = 'x';
    EXPECT_EQ(Scan(doc, other).app_id_match_mask, 0u) << size;
    other = app_id;
    other.front() = 'x';
    EXPECT_EQ(Scan(doc, other).app_id_match_mask, 0u) << size;
  }
  const std::string long_id(kCtJsonAppIdCapacity + 1, 'w');
  const std::string doc = WithWatermark(
      absl::StrCat(R"({"timestamp":1,"appid":")", long_id, R"("})"));
  const CtJsonWatermark scan = Scan(doc, long_id);
  EXPECT_NE(scan.found_mask, 0u);
  EXPECT_EQ(scan.app_id_match_mask, 0u);
  // 64 + 64 bytes: the comparison position wraps inside its buffer.
  const std::string wrapped = long_id.substr(1) + long_id.substr(1);
  EXPECT_EQ(Scan(WithWatermark(absl::StrCat(R"({"timestamp":1,"appid":")",
                                            wrapped, R"("})")),
                 long_id.substr(1))
                .app_id_match_mask,
            0u);
}

TEST(CtJsonTest, MatchesNonAsciiAppIdsByteForByte) {
  const std::string app_id = "\xe4\xb8\xad\xf0\x9f\x98\x80";
  const std::string doc = WithWatermark(
      absl::StrCat(R"({"timestamp":1,"appid":")", app_id, R"("})"));
  EXPECT_NE(Scan(doc, app_id).app_id_match_mask, 0u);
  EXPECT_EQ(Scan(doc, "\xe4\xb8\xad").app_id_match_mask, 0u);
}

TEST(CtJsonTest, NeverMatchesAnAppIdThatNeedsEscaping) {
  for (const std::string& app_id :
       {std::string("a\"b"), std::string("a\\b"), std::string("a\nb"),
        std::string("a\x01")}) {
    // Even the same unescaped value, written escaped in the document.
    std::string escaped;
    for (char c : app_id) {
      if (c == '"' || c == '\\') {
        escaped += '\\';
        escaped += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        escaped += absl::StrCat("\\u00", c < 0x10 ? "0" : "",
                                absl::Hex(static_cast<int>(c)));
      } else {
        escaped += c;
      }
    }
    const std::string doc = WithWatermark(
        absl::StrCat(R"({"timestamp":1,"appid":")", escaped, R"("})"));
    const CtJsonWatermark scan = Scan(doc, app_id);
    EXPECT_NE(scan.found_mask, 0u) << doc;
    EXPECT_EQ(scan.app_id_match_mask, 0u) << doc;
  }
}

// ---------------------------------------------------------------------------
// Differential test against RapidJSON.

// Counts of what the differential test saw.
struct Tally {
  int total = 0;
  int valid = 0;
  int found = 0;
  int matched = 0;
  int undecided = 0;
};

// Checks the scanner against the reference on `text`.
void CheckAgainstReference(const std::string& text, Tally& tally) {
  ++tally.total;
  const Reference ref = ReferenceScan(text);
  const CtJsonWatermark scan = Scan(text);
  const std::string shown = absl::CHexEscape(text);
  if (ref.undecided) {
    ++tally.undecided;
    return;
  }
  if (ref.valid) ++tally.valid;
  ASSERT_EQ(scan.valid_mask != 0, ref.valid) << shown;
  ASSERT_EQ(scan.found_mask != 0, ref.found) << shown;
  if (!ref.found) {
    ASSERT_EQ(scan.app_id_match_mask, 0u) << shown;
    ASSERT_EQ(scan.timestamp, 0) << shown;
    return;
  }
  ++tally.found;
  ASSERT_EQ(scan.timestamp, ref.timestamp) << shown;
  // The appid matches exactly when it was written without escapes
  // (difference 7) and fits.
  const bool comparable =
      !ref.app_id_escaped && ref.app_id.size() <= kCtJsonAppIdCapacity;
  ASSERT_EQ(Scan(text, ref.app_id).app_id_match_mask != 0, comparable) << shown;
  ASSERT_EQ(scan.app_id_match_mask != 0, comparable && ref.app_id == kAppId)
      << shown;
  ASSERT_EQ(Scan(text, ref.app_id + "x").app_id_match_mask, 0u) << shown;
  if (scan.app_id_match_mask != 0) ++tally.matched;
}

// Every JSON object text in the published vectors.
std::vector<std::string> VectorTexts() {
  std::vector<std::string> texts;
  const rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  std::vector<const rapidjson::Value*> pending = {&doc};
  while (!pending.empty()) {
    const rapidjson::Value* value = pending.back();
    pending.pop_back();
    if (value->IsObject()) {
      for (const auto& member : value->GetObject()) {
        pending.push_back(&member.value);
      }
    } else if (value->IsArray()) {
      for (const auto& element : value->GetArray()) pending.push_back(&element);
    } else if (value->IsString() && value->GetStringLength() > 0 &&
               value->GetString()[0] == '{') {
      texts.emplace_back(value->GetString(), value->GetStringLength());
    }
  }
  // The plaintexts of the open-data vectors, including the one that
  // decrypts to garbage.
  for (const auto& v : doc["user_data"].GetArray()) {
    std::string plaintext;
    EXPECT_THAT(AesCbcDecryptNoPadding(
                    *Base64Decode(v["session_key"].GetString()),
                    *Base64Decode(v["iv"].GetString()),
                    *Base64Decode(v["encrypted_data"].GetString()), plaintext),
                IsOk());
    texts.push_back(plaintext);
  }
  return texts;
}

std::vector<std::string> Seeds() {
  const std::string ok =
      R"("watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"})";
  std::vector<std::string> seeds = VectorTexts();
  for (const ExtractionCase& c : ExtractionCases()) seeds.push_back(c.text);
  for (const ValidityCase& c : ValidityCases()) seeds.push_back(c.text);
  const std::vector<std::string> more = {
      "{" + ok + "}",
      R"({"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band",)" + ok +
          "}",
      R"({"phoneNumber":"13800138000","purePhoneNumber":"13800138000",)"
      R"("countryCode":"86",)" +
          ok + "}",
      R"({"nickName":"\u4e2d\u6587","avatarUrl":"https:\/\/x\/0",)" + ok + "}",
      R"({"stepInfoList":[{"timestamp":1445866601,"step":100},)"
      R"({"timestamp":1445876601,"step":120}],)" +
          ok + "}",
      R"({"openGId":"OPENGID",)" + ok + "}",
      "{\"nickName\":\"\xe4\xb8\xad\xf0\x9f\x98\x80\"," + ok + "}",
      R"({"n":[1e308,1e309,-1e400,123456789012345678901234567890],)" + ok + "}",
  };
  seeds.insert(seeds.end(), more.begin(), more.end());
  // Longer than two of the scan's 1 KiB chunks, so that mutations land on
  // either side of their boundaries.
  std::string steps;
  for (int i = 0; i < 60; ++i) {
    absl::StrAppend(&steps, i == 0 ? "" : ",", R"({"timestamp":)",
                    1445866601 + i * 86400, R"(,"step":)", i * 37, "}");
  }
  seeds.push_back(absl::StrCat(R"({"stepInfoList":[)", steps, "],", ok, "}"));
  return seeds;
}

TEST(CtJsonDifferentialTest, AgreesWithRapidJsonOnTheSeeds) {
  Tally tally;
  for (const std::string& seed : Seeds()) {
    CheckAgainstReference(seed, tally);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(tally.found, 30);
  EXPECT_GE(tally.matched, 20);
  // Only the deliberate 1e309 and -1e400 seed.
  EXPECT_LE(tally.undecided, 2);
}

TEST(CtJsonDifferentialTest, AgreesWithRapidJsonOnMutations) {
  const std::vector<std::string> seeds = Seeds();
  const std::vector<std::string> tokens = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ":",
                                           "\"",
                                           "\\",
                                           "\\u",
                                           "\\u0000",
                                           "\\udc00",
                                           "\\ud800",
                                           "\\n",
                                           "1",
                                           "0",
                                           "-",
                                           ".5",
                                           "e9",
                                           "E-1",
                                           "true",
                                           "null",
                                           "\"watermark\":",
                                           "\"appid\":",
                                           "\"timestamp\":",
                                           "\"wx4f4bc4dec97d474b\"",
                                           "{\"a\":1}",
                                           std::string(1, '\0'),
                                           "\xef\xbb\xbf",
                                           "\xff",
                                           "\xc2",
                                           "\xed\xa0\x80",
                                           "\xe4\xb8\xad",
                                           "\xf0\x9f\x98\x80",
                                           " ",
                                           "\t"};
  // Three mutations in four start from a text with a watermark, so that
  // the extraction is exercised as much as the grammar.
  std::vector<std::string> with_watermark;
  for (const std::string& seed : seeds) {
    if (ReferenceScan(seed).found) with_watermark.push_back(seed);
  }
  ASSERT_GE(with_watermark.size(), 30u);
  std::mt19937 random(20261121);  // Fixed seed: reproducible.
  Tally tally;
  constexpr int kRounds = 100000;
  for (int round = 0; round < kRounds; ++round) {
    const std::vector<std::string>& pool =
        random() % 4 == 0 ? seeds : with_watermark;
    std::string input = pool[random() % pool.size()];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 5) {
        case 0:  // flip bits of a byte
          if (at < input.size()) {
            input[at] = static_cast<char>(input[at] ^ (1 + random() % 255));
          }
          break;
        case 1:  // delete a few bytes
          input.erase(at, 1 + random() % 4);
          break;
        case 2:  // truncate
          input.resize(at);
          break;
        default:  // insert a token
          input.insert(at, tokens[random() % tokens.size()]);
          break;
      }
    }
    CheckAgainstReference(input, tally);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The mutations reach every outcome.
  EXPECT_GE(tally.valid, 10000);
  EXPECT_GE(tally.found, 5000);
  EXPECT_GE(tally.matched, 2000);
  EXPECT_LE(tally.undecided, kRounds / 100);
}

}  // namespace
}  // namespace wxcrypto
