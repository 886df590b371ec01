#include "client/cli/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::StatusIs;

constexpr FlagSpec kFlags[] = {
    {"app-id"},
    {"body-file"},
    {"previous-encoding-aes-key", /*takes_value=*/true, /*repeated=*/true},
    {"help", /*takes_value=*/false},
};

absl::StatusOr<ParsedFlags> Parse(std::vector<std::string> args) {
  return ParsedFlags::Parse(args, kFlags);
}

TEST(ParsedFlagsTest, AcceptsSpaceSeparatedValue) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id", "wx123"}));
  EXPECT_TRUE(flags.Has("app-id"));
  EXPECT_EQ(flags.Get("app-id"), "wx123");
}

TEST(ParsedFlagsTest, AcceptsEqualsForm) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id=wx123"}));
  EXPECT_EQ(flags.Get("app-id"), "wx123");
}

TEST(ParsedFlagsTest, EqualsFormKeepsLaterEqualsSignsInTheValue) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id=a=b="}));
  EXPECT_EQ(flags.Get("app-id"), "a=b=");
}

TEST(ParsedFlagsTest, EqualsFormAllowsAnEmptyValue) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id="}));
  EXPECT_TRUE(flags.Has("app-id"));
  EXPECT_EQ(flags.Get("app-id", "default"), "");
}

TEST(ParsedFlagsTest, EqualsFormAllowsAValueThatLooksLikeAFlag) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id=--body-file"}));
  EXPECT_EQ(flags.Get("app-id"), "--body-file");
}

TEST(ParsedFlagsTest, AcceptsDashAsAValueForStdin) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--body-file", "-"}));
  EXPECT_EQ(flags.Get("body-file"), "-");
}

TEST(ParsedFlagsTest, GetReturnsTheDefaultForAnAbsentFlag) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({}));
  EXPECT_FALSE(flags.Has("app-id"));
  EXPECT_EQ(flags.Get("app-id", "fallback"), "fallback");
  EXPECT_THAT(flags.GetAll("previous-encoding-aes-key"), IsEmpty());
}

TEST(ParsedFlagsTest, RejectsUnknownFlagAndNamesIt) {
  auto flags = Parse({"--app-id", "wx", "--app-idd", "x"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(), HasSubstr("unknown flag --app-idd"));
}

TEST(ParsedFlagsTest, UnknownFlagErrorDoesNotEchoItsInlineValue) {
  auto flags = Parse({"--token=secret-token"});
  ASSERT_THAT(flags, Not(IsOk()));
  EXPECT_THAT(flags.status().message(), HasSubstr("--token"));
  EXPECT_THAT(flags.status().message(), Not(HasSubstr("secret-token")));
}

TEST(ParsedFlagsTest, RejectsMissingValueAtTheEnd) {
  auto flags = Parse({"--app-id"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(), HasSubstr("--app-id needs a value"));
}

TEST(ParsedFlagsTest, RejectsAnotherFlagWhereAValueIsExpected) {
  auto flags = Parse({"--app-id", "--body-file", "x"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(),
              HasSubstr("followed by flag --body-file"));
}

TEST(ParsedFlagsTest, CollectsRepeatedFlagValuesInOrder) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags,
                                Parse({"--previous-encoding-aes-key", "k1",
                                       "--previous-encoding-aes-key=k2"}));
  EXPECT_THAT(flags.GetAll("previous-encoding-aes-key"),
              ElementsAre("k1", "k2"));
  EXPECT_EQ(flags.Get("previous-encoding-aes-key"), "k2");
}

TEST(ParsedFlagsTest, RejectsANonRepeatedFlagGivenTwice) {
  auto flags = Parse({"--app-id", "a", "--app-id", "b"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(), HasSubstr("more than once"));
}

TEST(ParsedFlagsTest, RejectsAPositionalArgumentWithoutEchoingIt) {
  auto flags = Parse({"--app-id", "a", "my-secret-key"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(), HasSubstr("unexpected argument #3"));
  EXPECT_THAT(flags.status().message(), Not(HasSubstr("my-secret-key")));
}

TEST(ParsedFlagsTest, NamesASingleDashArgumentAsAMistypedFlag) {
  auto flags = Parse({"-app-id"});
  EXPECT_THAT(flags, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(flags.status().message(), HasSubstr("'-app-id'"));
}

TEST(ParsedFlagsTest, BooleanFlagTakesNoValue) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--help", "--app-id", "x"}));
  EXPECT_TRUE(flags.Has("help"));
  EXPECT_EQ(flags.Get("app-id"), "x");
  EXPECT_THAT(Parse({"--help=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParsedFlagsTest, GetRequiredNamesTheMissingFlag) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({}));
  auto value = flags.GetRequired("app-id");
  EXPECT_THAT(value, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(value.status().message(),
              HasSubstr("missing required flag --app-id"));
}

TEST(ParsedFlagsTest, GetIntChecksSyntaxAndRange) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(ok, Parse({"--app-id", "42"}));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(given, ok.GetInt("app-id", 0, 0, 100));
  EXPECT_EQ(given, 42);
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(absent, ok.GetInt("body-file", 7, 0, 100));
  EXPECT_EQ(absent, 7);
  EXPECT_THAT(ok.GetInt("app-id", 0, 0, 41),
              StatusIs(absl::StatusCode::kInvalidArgument));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(bad, Parse({"--app-id", "4x"}));
  EXPECT_THAT(bad.GetInt("app-id", 0, 0, 100),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckRequiredTest, NamesTheFirstMissingFlag) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags, Parse({"--app-id", "a"}));
  EXPECT_THAT(CheckRequired(flags, {"app-id"}), IsOk());
  absl::Status status = CheckRequired(flags, {"app-id", "body-file", "help"});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(status.message(), "missing required flag --body-file");
}

TEST(CheckAtMostOneTest, RejectsTwoExclusiveFlags) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(flags,
                                Parse({"--app-id", "a", "--body-file", "b"}));
  absl::Status status = CheckAtMostOne(flags, {"app-id", "body-file"});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status.message(),
              HasSubstr("--app-id and --body-file cannot be combined"));
  EXPECT_THAT(CheckAtMostOne(flags, {"app-id", "help"}), IsOk());
}

}  // namespace
}  // namespace cli
}  // namespace wxcrypto
