// Character-level helpers of server/envelope/text.h.
#include "server/envelope/text.h"

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wxcrypto {
namespace {

TEST(TextTest, FirstNonSpaceSkipsTheFourWhitespaceBytes) {
  EXPECT_EQ(FirstNonSpace(" \t\r\n<"), '<');
  EXPECT_EQ(FirstNonSpace("\f{"), '\f');  // Form feed is not whitespace.
  EXPECT_EQ(FirstNonSpace(" \n"), '\0');
  EXPECT_EQ(FirstNonSpace(""), '\0');
}

// Sequences from RFC 3629 section 3 and the Unicode Table 3-7 boundaries.
TEST(TextTest, IsUtf8AcceptsWellFormedSequences) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ASCII, long enough for the 8-byte path"));
  EXPECT_TRUE(IsUtf8("\xc2\x80"));              // U+0080
  EXPECT_TRUE(IsUtf8("\xdf\xbf"));              // U+07FF
  EXPECT_TRUE(IsUtf8("\xe0\xa0\x80"));          // U+0800
  EXPECT_TRUE(IsUtf8("\xed\x9f\xbf"));          // U+D7FF
  EXPECT_TRUE(IsUtf8("\xee\x80\x80"));          // U+E000
  EXPECT_TRUE(IsUtf8("\xef\xbf\xbf"));          // U+FFFF
  EXPECT_TRUE(IsUtf8("\xf0\x90\x80\x80"));      // U+10000
  EXPECT_TRUE(IsUtf8("\xf4\x8f\xbf\xbf"));      // U+10FFFF
  EXPECT_TRUE(IsUtf8(std::string("a\0b", 3)));  // NUL is UTF-8.
  EXPECT_TRUE(IsUtf8("12345678\xe4\xb8\xad\xe6\x96\x87 mixed after ASCII"));
}

TEST(TextTest, IsUtf8RejectsMalformedSequences) {
  EXPECT_FALSE(IsUtf8("\x80"));              // Lone continuation.
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));          // Overlong '/'.
  EXPECT_FALSE(IsUtf8("\xc1\xbf"));          // Overlong.
  EXPECT_FALSE(IsUtf8("\xe0\x9f\xbf"));      // Overlong U+07FF.
  EXPECT_FALSE(IsUtf8("\xf0\x8f\xbf\xbf"));  // Overlong U+FFFF.
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));      // Surrogate U+D800.
  EXPECT_FALSE(IsUtf8("\xed\xbf\xbf"));      // Surrogate U+DFFF.
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));  // U+110000.
  EXPECT_FALSE(IsUtf8("\xf5\x80\x80\x80"));  // Lead byte F5.
  EXPECT_FALSE(IsUtf8("\xff"));
  EXPECT_FALSE(IsUtf8("\xe4\xb8"));          // Truncated.
  EXPECT_FALSE(IsUtf8("\xe4\x41\xad"));      // Bad continuation.
  EXPECT_FALSE(IsUtf8("abcdefgh\xe4\xb8"));  // Truncated after 8 ASCII.
}

TEST(TextTest, IsXmlTextRejectsControlsAndNonCharacters) {
  EXPECT_TRUE(IsXmlText("tab\tlf\ncr\r \xe4\xb8\xad \xef\xbf\xbd"));
  EXPECT_FALSE(IsXmlText(std::string("a\0b", 3)));
  EXPECT_FALSE(IsXmlText("\x01"));
  EXPECT_FALSE(IsXmlText("\x1f"));
  EXPECT_FALSE(IsXmlText("\xef\xbf\xbe"));  // U+FFFE
  EXPECT_FALSE(IsXmlText("\xef\xbf\xbf"));  // U+FFFF
  EXPECT_FALSE(IsXmlText("\xc3"));
}

TEST(TextTest, IsXmlCharFollowsXml10Production2) {
  EXPECT_TRUE(IsXmlChar(0x9));
  EXPECT_TRUE(IsXmlChar(0x20));
  EXPECT_TRUE(IsXmlChar(0x10ffff));
  EXPECT_FALSE(IsXmlChar(0x0));
  EXPECT_FALSE(IsXmlChar(0x1f));
  EXPECT_FALSE(IsXmlChar(0xd800));
  EXPECT_FALSE(IsXmlChar(0xfffe));
  EXPECT_FALSE(IsXmlChar(0x110000));
}

TEST(TextTest, AppendUtf8EncodesEveryLength) {
  std::string out;
  for (std::uint32_t c : {0x41u, 0xe9u, 0x4e2du, 0x1f600u}) AppendUtf8(c, out);
  EXPECT_EQ(out, "A\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
}

TEST(TextTest, AppendCdataSplitsEveryTerminator) {
  std::string out;
  AppendCdata("plain", out);
  EXPECT_EQ(out, "<![CDATA[plain]]>");
  out.clear();
  AppendCdata("a]]>b]]>", out);
  EXPECT_EQ(out, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
  out.clear();
  AppendCdata("]]]>", out);
  EXPECT_EQ(out, "<![CDATA[]]]]]><![CDATA[>]]>");
  out.clear();
  AppendCdata("", out);
  EXPECT_EQ(out, "<![CDATA[]]>");
}

TEST(TextTest, IsNonEmptyOverChecksEveryByte) {
  EXPECT_TRUE(IsNonEmptyOver("abba", "ab"));
  EXPECT_FALSE(IsNonEmptyOver("", "ab"));
  EXPECT_FALSE(IsNonEmptyOver("abc", "ab"));
  EXPECT_FALSE(IsNonEmptyOver(std::string("a\0", 2), "ab"));
}

}  // namespace
}  // namespace wxcrypto
