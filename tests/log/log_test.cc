#include "server/log/log.h"

#include <string>

#include "gtest/gtest.h"

namespace wxcrypto {
namespace {

TEST(LogTest, FormatsOneJsonObjectPerLine) {
  const std::string line =
      FormatLogLine(LogLevel::kWarning, "config reload failed",
                    {{"path", std::string("/etc/wxcrypto/config.json")},
                     {"generation", std::int64_t{3}},
                     {"ok", false}},
                    "2026-11-21T05:44:29.123Z");
  EXPECT_EQ(
      line,
      "{\"ts\":\"2026-11-21T05:44:29.123Z\",\"level\":\"warning\","
      "\"msg\":\"config reload failed\",\"path\":\"/etc/wxcrypto/config.json\","
      "\"generation\":3,\"ok\":false}\n");
}

TEST(LogTest, EscapesQuotesControlCharactersAndNewlines) {
  const std::string line = FormatLogLine(LogLevel::kInfo, "a \"b\"\n\\",
                                         {{"x", std::string("\x01\t")}}, "t");
  EXPECT_EQ(line,
            "{\"ts\":\"t\",\"level\":\"info\",\"msg\":\"a \\\"b\\\"\\n\\\\\","
            "\"x\":\"\\u0001\\t\"}\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogTest, ParsesLevelsAndFiltersBelowTheSetLevel) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose", level));
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
}

}  // namespace
}  // namespace wxcrypto
