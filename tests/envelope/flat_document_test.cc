// The fast paths of the envelope readers (server/envelope/document.h,
// text.h) against the general ones, differentially: on the shapes and
// hostile inputs of the other envelope tests, the official vectors, and
// random mutations of them, a fast path either declines (std::nullopt) or
// returns exactly what the general reader returns; and ReadXmlFields /
// ReadJsonFields, which try the fast path first, return exactly the general
// reader's result, errors included (code, WeChat code, reason, message).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/envelope/document.h"
#include "server/envelope/envelope.h"
#include "server/envelope/text.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::ReadTestJson;

constexpr absl::string_view kReason = "TEST_REASON";
constexpr absl::string_view kOnlyEncrypt[] = {"Encrypt"};
constexpr absl::string_view kOnlyEither[] = {"Encrypt", "encrypt"};

std::string Repeat(absl::string_view text, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(text.data(), text.size());
  return out;
}

// Prints a document for failure messages: C escapes for the unprintable.
std::string Printable(absl::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 300)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

bool SameFields(const std::vector<DocumentField>& a,
                const std::vector<DocumentField>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value ||
        a[i].kind != b[i].kind) {
      return false;
    }
  }
  return true;
}

bool SameResult(const absl::StatusOr<std::vector<DocumentField>>& a,
                const absl::StatusOr<std::vector<DocumentField>>& b) {
  if (a.ok() != b.ok()) return false;
  if (a.ok()) return SameFields(*a, *b);
  // Status equality covers code, message and payloads (WeChat code, reason).
  return a.status() == b.status();
}

// Counts how often the fast paths answered, so that a test cannot pass by
// having them always decline.
struct Coverage {
  std::size_t xml_fast = 0;
  std::size_t json_fast = 0;
};

// Checks one document against both readers, with and without a field
// filter.
void CheckDocument(absl::string_view text, Coverage& coverage) {
  for (absl::Span<const absl::string_view> only :
       {absl::Span<const absl::string_view>(),
        absl::Span<const absl::string_view>(kOnlyEncrypt),
        absl::Span<const absl::string_view>(kOnlyEither)}) {
    const absl::StatusOr<std::vector<DocumentField>> xml_full =
        ReadXmlFieldsWithPugixml(text, kReason, only);
    const std::optional<std::vector<DocumentField>> xml_fast =
        ReadFlatXmlFields(text, only);
    if (xml_fast.has_value()) {
      ++coverage.xml_fast;
      ASSERT_TRUE(xml_full.ok())
          << "fast XML path accepted what pugixml rejects ("
          << xml_full.status() << "): " << Printable(text);
      ASSERT_TRUE(SameFields(*xml_fast, *xml_full))
          << "fast XML path differs on: " << Printable(text);
    }
    ASSERT_TRUE(SameResult(ReadXmlFields(text, kReason, only), xml_full))
        << "ReadXmlFields differs from pugixml on: " << Printable(text);

    const absl::StatusOr<std::vector<DocumentField>> json_full =
        ReadJsonFieldsWithRapidJson(text, kReason, only);
    const std::optional<std::vector<DocumentField>> json_fast =
        ReadFlatJsonFields(text, only);
    if (json_fast.has_value()) {
      ++coverage.json_fast;
      ASSERT_TRUE(json_full.ok())
          << "fast JSON path accepted what RapidJSON rejects ("
          << json_full.status() << "): " << Printable(text);
      ASSERT_TRUE(SameFields(*json_fast, *json_full))
          << "fast JSON path differs on: " << Printable(text);
    }
    ASSERT_TRUE(SameResult(ReadJsonFields(text, kReason, only), json_full))
        << "ReadJsonFields differs from RapidJSON on: " << Printable(text);
  }
}

// Documents in the shapes WeChat sends and the hostile and borderline ones
// of document_test.cc, envelope_test.cc and message_fields_test.cc.
std::vector<std::string> Seeds() {
  std::vector<std::string> seeds = {
      // Flat XML, as WeChat sends it.
      "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA["
      "QUJD]]></Encrypt></xml>",
      "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA["
      "fromUser]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType>"
      "<![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>"
      "<MsgId>1234567890123456</MsgId></xml>",
      "<xml>\n  <A>  x \n y  </A>\n  <B/>\n  <C></C>\n</xml>\n",
      "  <xml><A>a&amp;b&lt;&gt;&quot;&apos;&#65;&#x4e2d;</A></xml>  ",
      "<xml><A>a<![CDATA[<b>&amp;]]>c<![CDATA[]]></A></xml>",
      "<xml><Encrypt><![CDATA[ab]]]]><![CDATA[>c]]></Encrypt></xml>",
      "<xml><A>1</A><A>2</A><a.b-c_d>3</a.b-c_d><_e>4</_e></xml>",
      "<xml><A>中文 \xf0\x9f\x98\x80 text</A><B>]]&gt;]]></B></xml>",
      "<xml><Encrypt>QUJD</Encrypt><MsgSignature>abc</MsgSignature>"
      "<TimeStamp>1409735669</TimeStamp><Nonce><![CDATA[n]]></Nonce></xml>",
      "<xml></xml>",
      "<xml/>",
      // XML the fast path must leave to pugixml, valid or not.
      "<xml><A>a\r\nb\rc</A></xml>",
      "<xml><A>1</A><B><C/></B></xml>",
      "<xml><List><List>a</List><List>b</List></List></xml>",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml><A>1</A></xml>",
      "<!-- push --><xml a=\"1\"><!-- x --><A>1</A></xml>",
      "<xml><A b=\"c\">1</A></xml>",
      "<xml ><A>1</A></xml>",
      "<xml><A >1</A ></xml>",
      "<xml><ns:A>1</ns:A></xml>",
      "<xml><\xe4\xb8\xad>1</\xe4\xb8\xad></xml>",
      "<xml><A><?pi x?>1</A></xml>",
      "<xml><A><!-- c -->1</A></xml>",
      "\xef\xbb\xbf<xml><Encrypt>a</Encrypt></xml>",
      "<!DOCTYPE xml><xml><Encrypt>a</Encrypt></xml>",
      "<!DOCTYPE xml [<!ENTITY e \"QUJD\">]><xml><Encrypt>&e;</Encrypt></xml>",
      "<xml><!DOCTYPE x><Encrypt>a</Encrypt></xml>",
      "<xml><Encrypt>&e;</Encrypt></xml>",
      "<xml><Encrypt>a & b</Encrypt></xml>",
      "<xml><Encrypt>a&#0;</Encrypt></xml>",
      "<xml><Encrypt>&#xD800;</Encrypt></xml>",
      "<xml><Encrypt>&#x110000;</Encrypt></xml>",
      "<xml><Encrypt>&#4294967361;</Encrypt></xml>",
      "<xml><Encrypt>&amp</Encrypt></xml>",
      "<xml><A>&e;</A><Encrypt>2</Encrypt></xml>",
      "<xml a=\"&e;\"><Encrypt>a</Encrypt></xml>",
      "<xml><Encrypt>a</Encrypt></xml><xml/>",
      "<xml><Encrypt>a</Encrypt></xml>x",
      "<xml>x<Encrypt>a</Encrypt></xml>",
      "<xml><![CDATA[x]]><Encrypt>a</Encrypt></xml>",
      "<xml><Encrypt>a</Encrypt>",
      "<xml><Encrypt>a</Encrypt></lmx>",
      "<xml><Encrypt>a</Encryp></xml>",
      "<xml><Encrypt>a</Encrypts></xml>",
      "<xml><Encrypt><![CDATA[a</Encrypt></xml>",
      std::string("<xml><Encrypt>a\0b</Encrypt></xml>", 33),
      std::string("<xml><Encrypt>a</Encrypt></xml>\0x", 33),
      "<xml><Encrypt>a\x01</Encrypt></xml>",
      "<xml><Encrypt>a\xc3\x28</Encrypt></xml>",
      "<xml><Encrypt>\xef\xbf\xbe</Encrypt></xml>",
      "<xml><Encrypt><a>QUJD</a></Encrypt></xml>",
      "<XML><A>1</A></XML>",
      "<xmlx><A>1</A></xmlx>",
      "<xml><1A>1</1A></xml>",
      "<xml><A>1</A></xml",
      "<xml>",
      "",
      "   ",
      // Flat JSON, as WeChat sends it.
      R"({"ToUserName":"gh_97417a04a28d","Encrypt":"QUJD"})",
      R"({"tousername":"ww1","encrypt":"QUJD","agentid":""})",
      R"({"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
      R"("CreateTime":1714112445,"MsgType":"event","Event":"debug_demo",)"
      R"("debug_str":"hello world"})",
      R"( { "a" : "1" , "b" : 2 , "a" : "3" , "t" : true , "f" : false , "n" : null } )",
      R"({"k\u0041":"\"q\" \\ \/ \b\f\n\r\t \u4e2d \ud83d\ude00","raw":"中文"})",
      R"({"a":-0,"b":0,"c":-123456789012345678,"d":123456789012345678})",
      R"({})",
      " {} ",
      "{\"Encrypt\":\"QUJD\"}\n",
      R"({"Encrypt":"a\u0000b"})",
      // JSON the fast path must leave to RapidJSON, valid or not.
      R"({"a":1.50,"b":-0,"c":1e308,"d":123456789012345678901234,"e":2E-3})",
      R"({"a":1234567890123456789})",
      R"({"a":1e400})",
      R"({"a":01})",
      R"({"a":-})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":+1})",
      R"({"o":{"x":[1,2.0,{"y":"A\""}],"e":{}},"l":[]})",
      "[1,2]",
      "42",
      "\"s\"",
      "{\"Encrypt\":1}",
      "{\"Encrypt\":{\"a\":\"b\"}}",
      "{\"Encrypt\":[\"QUJD\"]}",
      "{\"Encrypt\":\"a\",\"Encrypt\":\"a\"}",
      "{\"Encrypt\":\"a\",\"encrypt\":\"a\"}",
      "{\"Encrypt\":\"a\"} x",
      "{\"Encrypt\":\"a\"}{}",
      std::string("{\"Encrypt\":\"a\"}\0x", 17),
      std::string("{\"Encrypt\":\"a\0b\"}", 17),
      "{\"Encrypt\":\"a\"",
      "{\"Encrypt\":\"a\",}",
      "{,}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" 1}",
      "{'Encrypt':'a'}",
      "{/* c */\"Encrypt\":\"a\"}",
      "{\"Encrypt\":\"a\tb\"}",
      "{\"Encrypt\":\"\xff\"}",
      "{\"\xc0\xaf\":\"a\"}",
      "{\"Encrypt\":\"\\ud800\"}",
      "{\"Encrypt\":\"\\ud800\\u0041\"}",
      "{\"Encrypt\":\"\\udc00\"}",
      "{\"Encrypt\":\"\\q\"}",
      "{\"Encrypt\":\"\\u12\"}",
      "{\"Encrypt\":\"\\u12G4\"}",
      "{\"a\":tru}",
      "{\"a\":nul}",
      "{\"a\":truex}",
      "{\"a\":NaN}",
      "\xef\xbb\xbf{\"Encrypt\":\"a\"}",
      "{",
  };
  // The official vectors: push bodies and their plaintexts.
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  for (const rapidjson::Value& push : vectors["push"].GetArray()) {
    seeds.emplace_back(push["body"].GetString(),
                       push["body"].GetStringLength());
    seeds.emplace_back(push["expected_plaintext"].GetString(),
                       push["expected_plaintext"].GetStringLength());
  }
  for (const rapidjson::Value& reply : vectors["reply"].GetArray()) {
    seeds.emplace_back(reply["reply_plaintext"].GetString(),
                       reply["reply_plaintext"].GetStringLength());
  }
  // Bodies built by the envelope functions, in every dialect.
  for (EnvelopeFormat format : {EnvelopeFormat::kXml, EnvelopeFormat::kJson,
                                EnvelopeFormat::kJsonLowercase}) {
    seeds.push_back(*BuildPushEnvelope(format, "gh_97417a04a28d",
                                       Repeat("QUJD", 100) + "QQ=="));
    ReplyFields reply;
    reply.encrypt = "QUJD";
    reply.msg_signature = "0123456789abcdef0123456789abcdef01234567";
    reply.timestamp = "1409735669";
    reply.nonce = "n]]>once";
    if (format != EnvelopeFormat::kXml)
      seeds.push_back(*BuildReplyEnvelope(format, reply));
  }
  // Integers RapidJSON refuses: more than 308 digits overflow a double.
  seeds.push_back("{\"a\":" + Repeat("9", 400) + "}");
  seeds.push_back("{\"a\":-" + Repeat("1", 310) + "}");
  // The markup limit, on both sides of it.
  seeds.push_back("<xml>" + Repeat("<a>1</a>", (kMaxXmlMarkup - 2) / 2) +
                  "</xml>");
  seeds.push_back("<xml>" + Repeat("<a>1</a>", kMaxXmlMarkup / 2) + "</xml>");
  seeds.push_back("<xml>" + Repeat("<a><![CDATA[1]]></a>", kMaxXmlMarkup / 3) +
                  "</xml>");
  return seeds;
}

TEST(FlatDocumentTest, FastPathsAgreeWithTheGeneralReadersOnTheSeeds) {
  Coverage coverage;
  for (const std::string& seed : Seeds()) {
    CheckDocument(seed, coverage);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The common shapes went through the fast paths.
  EXPECT_GE(coverage.xml_fast, 30u);
  EXPECT_GE(coverage.json_fast, 30u);
}

TEST(FlatDocumentTest, FastPathsTakeTheShapesWeChatSends) {
  rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  for (const rapidjson::Value& push : vectors["push"].GetArray()) {
    const absl::string_view body(push["body"].GetString(),
                                 push["body"].GetStringLength());
    const absl::string_view plaintext(
        push["expected_plaintext"].GetString(),
        push["expected_plaintext"].GetStringLength());
    for (absl::string_view text : {body, plaintext}) {
      const bool fast = FirstNonSpace(text) == '<'
                            ? ReadFlatXmlFields(text).has_value()
                            : ReadFlatJsonFields(text).has_value();
      EXPECT_TRUE(fast) << text;
    }
  }
}

// Random edits of the seeds, biased towards the bytes and tokens that
// change the structure.
TEST(FlatDocumentTest, FastPathsAgreeWithTheGeneralReadersOnMutations) {
  const std::vector<std::string> seeds = Seeds();
  const std::vector<std::string> tokens = {"<",
                                           ">",
                                           "/",
                                           "/>",
                                           "</",
                                           "&",
                                           ";",
                                           "&amp;",
                                           "&#x41;",
                                           "&#0;",
                                           "&lt",
                                           "<![CDATA[",
                                           "]]>",
                                           "]",
                                           "<!--",
                                           "-->",
                                           "<?",
                                           "?>",
                                           "<!DOCTYPE x>",
                                           " a=\"b\"",
                                           "=",
                                           "\r",
                                           "\n",
                                           " ",
                                           "\t",
                                           std::string(1, '\0'),
                                           "\x01",
                                           "\xef\xbf\xbe",
                                           "\xe4\xb8\xad",
                                           "\xc3",
                                           "\xff",
                                           "\"",
                                           "\\",
                                           "\\u",
                                           "\\n",
                                           "\\ud800",
                                           "\\udc00",
                                           "\\ud83d\\ude00",
                                           ":",
                                           ",",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           "0",
                                           "-",
                                           ".",
                                           "e",
                                           "1e5",
                                           "true",
                                           "null",
                                           "<xml>",
                                           "</xml>",
                                           "<A>",
                                           "</A>",
                                           "<Encrypt>",
                                           "</Encrypt>",
                                           "\"Encrypt\":",
                                           "\"encrypt\":"};
  std::mt19937 random(20241121);  // Fixed seed: reproducible.
  Coverage coverage;
  for (int round = 0; round < 30000; ++round) {
    std::string input = seeds[random() % seeds.size()];
    if (input.size() > 4096) continue;  // The limit seeds, checked above.
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 5) {
        case 0:
          if (!input.empty() && at < input.size()) {
            input[at] = static_cast<char>(random() % 256);
          }
          break;
        case 1:
          input.erase(at, 1 + random() % 6);
          break;
        case 2:
        case 3:
          input.insert(at, tokens[random() % tokens.size()]);
          break;
        default:
          input.resize(at);
          break;
      }
    }
    CheckDocument(input, coverage);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GE(coverage.xml_fast, 500u);
  EXPECT_GE(coverage.json_fast, 500u);
}

// IsUtf8 and IsXmlText run 16 bytes at a time on x86-64 with SSSE3; they
// must agree with the portable one-character-at-a-time versions. Every
// sequence of up to two bytes, and three- and four-byte sequences over the
// boundary values of RFC 3629's table 3-7, at every position relative to a
// 16-byte block and at the end of the text.
TEST(FlatDocumentTest, VectorTextChecksAgreeWithThePortableOnes) {
  // Boundary values of RFC 3629 section 4 and of XML's Char production.
  const std::vector<std::uint8_t> edges = {
      0x00, 0x09, 0x0d, 0x1f, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbe,
      0xbf, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  std::size_t checked = 0;
  // `sequence` with `before` ASCII bytes in front (so it lands on every
  // position around a 16-byte block boundary) and `after` behind it.
  auto check = [&checked](const std::string& sequence,
                          std::initializer_list<std::size_t> befores,
                          std::initializer_list<std::size_t> afters) {
    for (std::size_t before : befores) {
      for (std::size_t after : afters) {
        const std::string text =
            std::string(before, 'a') + sequence + std::string(after, 'b');
        ASSERT_EQ(IsUtf8(text), internal::IsUtf8Portable(text))
            << Printable(text);
        ASSERT_EQ(IsXmlText(text), internal::IsXmlTextPortable(text))
            << Printable(text);
        ++checked;
      }
    }
  };
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      check({static_cast<char>(a), static_cast<char>(b)}, {0, 14, 15, 16},
            {0, 17});
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  for (std::uint8_t a : edges) {
    for (std::uint8_t b : edges) {
      for (std::uint8_t c : edges) {
        check(
            {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)},
            {13, 14, 15}, {0, 17});
        for (std::uint8_t d : edges) {
          check({static_cast<char>(a), static_cast<char>(b),
                 static_cast<char>(c), static_cast<char>(d)},
                {12, 13, 14}, {0, 17});
        }
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
  EXPECT_GT(checked, 1000000u);
}

// Long random texts: valid UTF-8 from random code points, then corrupted.
TEST(FlatDocumentTest, VectorTextChecksAgreeOnRandomTexts) {
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const std::size_t characters = random() % 80;
    for (std::size_t i = 0; i < characters; ++i) {
      std::uint32_t code_point;
      switch (random() % 4) {
        case 0:
          code_point = random() % 0x80;
          break;
        case 1:
          code_point = 0x80 + random() % (0x800 - 0x80);
          break;
        case 2:
          code_point = 0x800 + random() % (0x10000 - 0x800);
          if (code_point >= 0xd800 && code_point <= 0xdfff) code_point = 0xfffe;
          break;
        default:
          code_point = 0x10000 + random() % (0x110000 - 0x10000);
          break;
      }
      AppendUtf8(code_point, text);
    }
    if (round % 2 == 1 && !text.empty()) {
      text[random() % text.size()] = static_cast<char>(random() % 256);
    }
    if (round % 5 == 4 && !text.empty()) text.resize(random() % text.size());
    ASSERT_EQ(IsUtf8(text), internal::IsUtf8Portable(text)) << Printable(text);
    ASSERT_EQ(IsXmlText(text), internal::IsXmlTextPortable(text))
        << Printable(text);
  }
}

// IsNonEmptyOver checks 16 bytes at a time with SSSE3 when the alphabet is
// ASCII; it must agree with a plain byte loop.
TEST(FlatDocumentTest, VectorCharacterClassAgreesWithAByteLoop) {
  auto reference = [](absl::string_view text, absl::string_view alphabet) {
    if (text.empty()) return false;
    for (char c : text) {
      if (alphabet.find(c) == absl::string_view::npos) return false;
    }
    return true;
  };
  const std::vector<std::string> alphabets = {
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
      "0123456789abcdefABCDEF",
      "0123456789",
      "a",
      " \t",
      "\x7f\x01",
      std::string("\0a", 2),
      "\xe4\xb8\xad"};
  std::mt19937 random(3);
  std::size_t accepted = 0;
  for (int round = 0; round < 40000; ++round) {
    const std::string& alphabet = alphabets[random() % alphabets.size()];
    std::string text(random() % 70, '\0');
    for (char& c : text) c = alphabet[random() % alphabet.size()];
    // Most rounds leave one byte outside the alphabet somewhere.
    if (round % 3 != 0 && !text.empty()) {
      text[random() % text.size()] = static_cast<char>(random() % 256);
    }
    const bool expected = reference(text, alphabet);
    ASSERT_EQ(IsNonEmptyOver(text, alphabet), expected)
        << Printable(text) << " over " << Printable(alphabet);
    if (expected) ++accepted;
  }
  EXPECT_GT(accepted, 10000u);
}

}  // namespace
}  // namespace wxcrypto
