#include "server/config/config.h"

#include <stdio.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsNull;
using ::testing::Not;
using ::testing::NotNull;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::StatusIs;
using ::wxcrypto::testing::WxStatusIs;

// Keys of the official samples (tests/testdata/wechat_vectors.json) and
// two more valid ones.
constexpr absl::string_view kKeyA =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kKeyB =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr absl::string_view kKeyC =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
constexpr absl::string_view kKeyD =
    "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj";

// Returns `s` as a JSON string literal.
std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// One app of a test config; the defaults are valid.
struct AppSpec {
  std::string app_id = "wxba5fad812f8e6fb9";
  std::optional<std::string> receive_id;
  std::string token = "Tok3nValue";
  std::string encoding_aes_key = std::string(kKeyA);
  std::vector<std::string> previous_keys;
  std::string mode = "MODE_SECURE";
  std::int64_t max_timestamp_skew_seconds = 0;
};

std::string AppJson(const AppSpec& app) {
  std::string out = absl::StrCat("{\"app_id\": ", JsonQuote(app.app_id));
  if (app.receive_id.has_value()) {
    absl::StrAppend(&out, ", \"receive_id\": ", JsonQuote(*app.receive_id));
  }
  absl::StrAppend(&out, ", \"token\": ", JsonQuote(app.token),
                  ", \"encoding_aes_key\": ", JsonQuote(app.encoding_aes_key),
                  ", \"previous_encoding_aes_keys\": [");
  for (std::size_t i = 0; i < app.previous_keys.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonQuote(app.previous_keys[i]));
  }
  absl::StrAppend(&out, "], \"mode\": ", JsonQuote(app.mode),
                  ", \"max_timestamp_skew_seconds\": ",
                  app.max_timestamp_skew_seconds, "}");
  return out;
}

std::string ConfigJson(const std::vector<AppSpec>& apps) {
  std::string out = "{\"apps\": [";
  for (std::size_t i = 0; i < apps.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", AppJson(apps[i]));
  }
  absl::StrAppend(&out, "]}");
  return out;
}

TEST(ConfigTest, LoadsValidConfig) {
  AppSpec app;
  app.mode = "MODE_COMPATIBLE";
  app.max_timestamp_skew_seconds = 300;
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({app})));

  EXPECT_EQ(config->app_count(), 1);
  const App* loaded = config->FindApp("wxba5fad812f8e6fb9");
  ASSERT_THAT(loaded, NotNull());
  EXPECT_EQ(loaded->app_id(), "wxba5fad812f8e6fb9");
  EXPECT_EQ(loaded->token(), "Tok3nValue");
  EXPECT_EQ(loaded->mode(), AppMode::kCompatible);
  EXPECT_TRUE(loaded->AcceptsPlaintext());
  EXPECT_EQ(loaded->max_timestamp_skew_seconds(), 300);
  ASSERT_THAT(loaded->message_crypt(), NotNull());
  EXPECT_EQ(loaded->message_crypt()->key_count(), 1);
}

TEST(ConfigTest, FindAppReturnsNullForUnknownApp) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config,
                                Config::FromJson(ConfigJson({AppSpec()})));
  EXPECT_THAT(config->FindApp("wx0000000000000000"), IsNull());
  EXPECT_THAT(config->FindApp(""), IsNull());
}

TEST(ConfigTest, LoadsSeveralApps) {
  // In reverse order, so that app_ids() must sort.
  AppSpec two;
  two.app_id = "wxtwo";
  AppSpec one;
  one.app_id = "wxone";
  two.token = "OtherToken";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config,
                                Config::FromJson(ConfigJson({two, one})));
  EXPECT_EQ(config->app_count(), 2);
  EXPECT_THAT(config->app_ids(), ElementsAre("wxone", "wxtwo"));
  ASSERT_THAT(config->FindApp("wxtwo"), NotNull());
  EXPECT_EQ(config->FindApp("wxtwo")->token(), "OtherToken");
}

TEST(ConfigTest, AcceptsCamelCaseFieldNames) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      config, Config::FromJson(absl::StrCat(
                  R"({"apps": [{"appId": "wxcamel", "token": "AAAAA",
                      "encodingAesKey": ")",
                  kKeyA, R"(", "maxTimestampSkewSeconds": 5}]})")));
  ASSERT_THAT(config->FindApp("wxcamel"), NotNull());
  EXPECT_EQ(config->FindApp("wxcamel")->max_timestamp_skew_seconds(), 5);
}

TEST(ConfigTest, ReceiveIdDefaultsToAppId) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config,
                                Config::FromJson(ConfigJson({AppSpec()})));
  const App* app = config->FindApp("wxba5fad812f8e6fb9");
  ASSERT_THAT(app, NotNull());
  EXPECT_EQ(app->receive_id(), "wxba5fad812f8e6fb9");
  EXPECT_EQ(app->message_crypt()->receive_id(), "wxba5fad812f8e6fb9");
}

TEST(ConfigTest, KeepsExplicitlyEmptyReceiveId) {
  AppSpec spec;
  spec.receive_id = "";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  const App* app = config->FindApp("wxba5fad812f8e6fb9");
  ASSERT_THAT(app, NotNull());
  EXPECT_EQ(app->receive_id(), "");
  EXPECT_EQ(app->message_crypt()->receive_id(), "");
}

TEST(ConfigTest, UsesExplicitReceiveId) {
  AppSpec spec;
  spec.app_id = "wecom-suite";
  spec.receive_id = "ww1234567890abcdef";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  const App* app = config->FindApp("wecom-suite");
  ASSERT_THAT(app, NotNull());
  EXPECT_EQ(app->message_crypt()->receive_id(), "ww1234567890abcdef");
}

TEST(ConfigTest, TreatsAbsentModeAsSecure) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(
      config, Config::FromJson(absl::StrCat(
                  R"({"apps": [{"app_id": "wx1", "token": "AAAAA",
                      "encoding_aes_key": ")",
                  kKeyA, R"("}]})")));
  const App* app = config->FindApp("wx1");
  ASSERT_THAT(app, NotNull());
  EXPECT_EQ(app->mode(), AppMode::kSecure);
  EXPECT_FALSE(app->AcceptsPlaintext());
  EXPECT_EQ(app->max_timestamp_skew_seconds(), 0);
}

TEST(ConfigTest, TreatsModeUnspecifiedAsSecure) {
  AppSpec spec;
  spec.mode = "MODE_UNSPECIFIED";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  EXPECT_EQ(config->FindApp(spec.app_id)->mode(), AppMode::kSecure);
}

TEST(ConfigTest, PlaintextAppNeedsNoKey) {
  AppSpec spec;
  spec.mode = "MODE_PLAINTEXT";
  spec.encoding_aes_key = "";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  const App* app = config->FindApp(spec.app_id);
  ASSERT_THAT(app, NotNull());
  EXPECT_EQ(app->mode(), AppMode::kPlaintext);
  EXPECT_TRUE(app->AcceptsPlaintext());
  EXPECT_THAT(app->message_crypt(), IsNull());
}

TEST(ConfigTest, PlaintextAppWithKeyHasMessageCrypt) {
  AppSpec spec;
  spec.mode = "MODE_PLAINTEXT";
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  EXPECT_THAT(config->FindApp(spec.app_id)->message_crypt(), NotNull());
}

TEST(ConfigTest, PreviousKeysFollowCurrentKeyInOrder) {
  AppSpec spec;
  spec.previous_keys = {std::string(kKeyB), std::string(kKeyC)};
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(ConfigJson({spec})));
  const MessageCrypt* crypt = config->FindApp(spec.app_id)->message_crypt();
  ASSERT_THAT(crypt, NotNull());
  ASSERT_EQ(crypt->key_count(), 3);

  // A message sealed with the second previous key alone opens as key 2.
  const std::vector<absl::string_view> old_key = {kKeyC};
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(old,
                                MessageCrypt::Create(old_key, spec.app_id));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(encrypt, old.Encrypt("<xml>hi</xml>"));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(opened, crypt->Decrypt(encrypt));
  EXPECT_EQ(opened.message, "<xml>hi</xml>");
  EXPECT_EQ(opened.key_index, 2);
}

TEST(ConfigTest, RejectsUnknownTopLevelField) {
  const std::string json =
      absl::StrCat(R"({"apps": [)", AppJson(AppSpec()), R"(], "aps": []})");
  absl::StatusOr<std::shared_ptr<const Config>> config = Config::FromJson(json);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("aps"));
}

TEST(ConfigTest, RejectsUnknownAppField) {
  const std::string json = absl::StrCat(
      R"({"apps": [{"app_id": "wx1", "token": "AAAAA", "encoding_aes_key": ")",
      kKeyA, R"(", "encodingAESKey": "x"}]})");
  absl::StatusOr<std::shared_ptr<const Config>> config = Config::FromJson(json);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("encodingAESKey"));
}

TEST(ConfigTest, RejectsEmptyDocument) {
  EXPECT_THAT(Config::FromJson(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Config::FromJson("{}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Config::FromJson("[]"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Malformed JSON whose parser errors would quote a secret.
struct LeakCase {
  std::string name;
  std::string json;
  // Must not appear in the error message.
  std::string secret;
};

void PrintTo(const LeakCase& c, std::ostream* os) { *os << c.name; }

class ConfigParseErrorTest : public ::testing::TestWithParam<LeakCase> {};

TEST_P(ConfigParseErrorTest, ErrorDoesNotQuoteTheSecret) {
  const LeakCase& c = GetParam();
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(c.json);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), Not(HasSubstr(c.secret)));
  EXPECT_THAT(std::string(config.status().message()), Not(HasSubstr("\n")));
}

INSTANTIATE_TEST_SUITE_P(
    Leaks, ConfigParseErrorTest,
    ::testing::Values(
        LeakCase{/*name=*/"SyntaxErrorAfterToken",
                 /*json=*/R"({"apps": [{"token": "Sup3rSecretTok" "x": 1}]})",
                 /*secret=*/"Sup3rSecretTok"},
        LeakCase{/*name=*/"UnterminatedKey",
                 /*json=*/
                 absl::StrCat(R"({"apps": [{"encoding_aes_key": ")", kKeyC),
                 /*secret=*/std::string(kKeyC.substr(0, 10))},
        LeakCase{/*name=*/"NumericToken",
                 /*json=*/R"({"apps": [{"token": 987654321}]})",
                 /*secret=*/"987654321"},
        LeakCase{/*name=*/"NumericPreviousKey",
                 /*json=*/
                 R"({"apps": [{"previous_encoding_aes_keys": [123456789]}]})",
                 /*secret=*/"123456789"},
        LeakCase{/*name=*/"KeyAsObject",
                 /*json=*/
                 R"({"apps": [{"encoding_aes_key": {"Sup3rSecretKey": 1}}]})",
                 /*secret=*/"Sup3rSecretKey"},
        LeakCase{/*name=*/"TokenAsBool",
                 /*json=*/R"({"apps": [{"token": true}]})",
                 /*secret=*/"true"}),
    [](const ::testing::TestParamInfo<LeakCase>& param_info) {
      return param_info.param.name;
    });

// A config that fails validation.
struct InvalidCase {
  std::string name;
  std::vector<AppSpec> apps;
  // Substrings the error must contain: the app and the field.
  std::vector<std::string> expected;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class ConfigValidationTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ConfigValidationTest, RejectsNamingAppAndFieldButNoSecret) {
  const InvalidCase& c = GetParam();
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(ConfigJson(c.apps));
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string message(config.status().message());
  for (const std::string& expected : c.expected) {
    EXPECT_THAT(message, HasSubstr(expected));
  }
  for (const AppSpec& app : c.apps) {
    if (!app.token.empty()) {
      EXPECT_THAT(message, Not(HasSubstr(app.token)));
    }
    if (!app.encoding_aes_key.empty()) {
      EXPECT_THAT(message, Not(HasSubstr(app.encoding_aes_key)));
    }
    for (const std::string& key : app.previous_keys) {
      EXPECT_THAT(message, Not(HasSubstr(key)));
    }
  }
}

AppSpec With(std::function<void(AppSpec&)> change) {
  AppSpec app;
  change(app);
  return app;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigValidationTest,
    ::testing::Values(
        InvalidCase{/*name=*/"NoApps", /*apps=*/{},
                    /*expected=*/{"apps", "at least one"}},
        InvalidCase{/*name=*/"EmptyAppId",
                    /*apps=*/{With([](AppSpec& a) { a.app_id = ""; })},
                    /*expected=*/{"apps[0]", "app_id", "required"}},
        InvalidCase{/*name=*/"AppIdTooLong",
                    /*apps=*/{With([](AppSpec& a) {
                      a.app_id = std::string(65, 'w');
                    })},
                    /*expected=*/{"apps[0]", "app_id", "64"}},
        InvalidCase{/*name=*/"AppIdNotPrintable",
                    /*apps=*/{With([](AppSpec& a) { a.app_id = "wx\x01"; })},
                    /*expected=*/{"apps[0]", "app_id", "printable"}},
        InvalidCase{
            /*name=*/"DuplicateAppId",
            /*apps=*/
            {With([](AppSpec& a) { a.app_id = "wxdup"; }),
             With([](AppSpec& a) { a.app_id = "wxother"; }),
             With([](AppSpec& a) { a.app_id = "wxdup"; })},
            /*expected=*/
            {"apps[2] (app_id \"wxdup\")", "app_id", "duplicate of apps[0]"}},
        InvalidCase{
            /*name=*/"MissingToken",
            /*apps=*/{With([](AppSpec& a) { a.token = ""; })},
            /*expected=*/
            {"apps[0] (app_id \"wxba5fad812f8e6fb9\")", "token", "required"}},
        InvalidCase{/*name=*/"TokenTooShort",
                    /*apps=*/{With([](AppSpec& a) { a.token = "Q9"; })},
                    /*expected=*/{"apps[0]", "wxba5fad812f8e6fb9", "token"}},
        InvalidCase{
            /*name=*/"TokenTooLong",
            /*apps=*/{With([](AppSpec& a) { a.token = std::string(33, 'T'); })},
            /*expected=*/{"apps[0]", "wxba5fad812f8e6fb9", "token"}},
        InvalidCase{/*name=*/"TokenWithSymbol",
                    /*apps=*/{With([](AppSpec& a) { a.token = "Tok-en-9"; })},
                    /*expected=*/{"apps[0]", "wxba5fad812f8e6fb9", "token"}},
        InvalidCase{
            /*name=*/"TokenWithNul",
            /*apps=*/
            {With([](AppSpec& a) { a.token = std::string("Tok\0en", 6); })},
            /*expected=*/{"apps[0]", "token"}},
        InvalidCase{
            /*name=*/"MissingKeyInSecureMode",
            /*apps=*/{With([](AppSpec& a) { a.encoding_aes_key = ""; })},
            /*expected=*/
            {"apps[0]", "wxba5fad812f8e6fb9", "encoding_aes_key",
             "MODE_PLAINTEXT"}},
        InvalidCase{/*name=*/"MissingKeyInCompatibleMode",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.encoding_aes_key = "";
                      a.mode = "MODE_COMPATIBLE";
                    })},
                    /*expected=*/{"apps[0]", "encoding_aes_key"}},
        InvalidCase{
            /*name=*/"KeyTooShort",
            /*apps=*/
            {With([](AppSpec& a) {
              a.encoding_aes_key = std::string(kKeyC.substr(0, 42));
            })},
            /*expected=*/{"apps[0]", "wxba5fad812f8e6fb9", "encoding_aes_key"}},
        InvalidCase{/*name=*/"KeyNotBase64",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.encoding_aes_key =
                          absl::StrCat(kKeyC.substr(0, 42), "!");
                    })},
                    /*expected=*/{"apps[0]", "encoding_aes_key"}},
        InvalidCase{/*name=*/"PreviousKeyInvalid",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.previous_keys = {std::string(kKeyB),
                                         std::string(kKeyD.substr(0, 40))};
                    })},
                    /*expected=*/{"apps[0]", "previous_encoding_aes_keys[1]"}},
        InvalidCase{
            /*name=*/"PreviousKeySameAsCurrent",
            /*apps=*/
            {With([](AppSpec& a) {
              a.previous_keys = {std::string(kKeyB), std::string(kKeyA)};
            })},
            /*expected=*/
            {"apps[0]", "previous_encoding_aes_keys[1]",
             "same key as encoding_aes_key"}},
        InvalidCase{/*name=*/"PreviousKeysRepeat",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.previous_keys = {std::string(kKeyB), std::string(kKeyC),
                                         std::string(kKeyB)};
                    })},
                    /*expected=*/
                    {"apps[0]", "previous_encoding_aes_keys[2]",
                     "same key as previous_encoding_aes_keys[0]"}},
        InvalidCase{/*name=*/"TooManyPreviousKeys",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.previous_keys.assign(9, std::string(kKeyB));
                    })},
                    /*expected=*/
                    {"apps[0]", "previous_encoding_aes_keys", "8"}},
        InvalidCase{/*name=*/"PreviousKeysWithoutKey",
                    /*apps=*/
                    {With([](AppSpec& a) {
                      a.mode = "MODE_PLAINTEXT";
                      a.encoding_aes_key = "";
                      a.previous_keys = {std::string(kKeyB)};
                    })},
                    /*expected=*/{"apps[0]", "previous_encoding_aes_keys"}},
        InvalidCase{
            /*name=*/"NegativeTimestampSkew",
            /*apps=*/
            {With([](AppSpec& a) { a.max_timestamp_skew_seconds = -1; })},
            /*expected=*/
            {"apps[0]", "wxba5fad812f8e6fb9", "max_timestamp_skew_seconds"}},
        InvalidCase{
            /*name=*/"ReceiveIdTooLong",
            /*apps=*/
            {With([](AppSpec& a) { a.receive_id = std::string(129, 'r'); })},
            /*expected=*/{"apps[0]", "receive_id", "128"}},
        InvalidCase{/*name=*/"ReceiveIdNotPrintable",
                    /*apps=*/
                    {With([](AppSpec& a) { a.receive_id = "ww\n"; })},
                    /*expected=*/{"apps[0]", "receive_id"}},
        InvalidCase{/*name=*/"ErrorInSecondApp",
                    /*apps=*/
                    {With([](AppSpec& a) { a.app_id = "wxgood"; }),
                     With([](AppSpec& a) {
                       a.app_id = "wxbad";
                       a.token = "Q7";
                     })},
                    /*expected=*/{"apps[1] (app_id \"wxbad\")", "token"}}),
    [](const ::testing::TestParamInfo<InvalidCase>& param_info) {
      return param_info.param.name;
    });

TEST(ConfigTest, RejectsUnknownModeNumber) {
  const std::string json = absl::StrCat(
      R"({"apps": [{"app_id": "wx1", "token": "AAAAA", "encoding_aes_key": ")",
      kKeyA, R"(", "mode": 9}]})");
  absl::StatusOr<std::shared_ptr<const Config>> config = Config::FromJson(json);
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("apps[0]"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("mode"));
}

TEST(ConfigTest, RejectsUnknownModeName) {
  AppSpec spec;
  spec.mode = "MODE_PARANOID";
  EXPECT_THAT(Config::FromJson(ConfigJson({spec})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ConfigTest, InvalidKeyKeepsWeChatErrorCode) {
  AppSpec spec;
  spec.encoding_aes_key = std::string(kKeyC.substr(0, 42));
  EXPECT_THAT(Config::FromJson(ConfigJson({spec})),
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid));
}

// A config file in a fresh temporary directory.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/config.json";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void Write(const std::string& contents) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << contents;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ConfigFileTest, LoadsFile) {
  Write(ConfigJson({AppSpec()}));
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromFile(path_));
  EXPECT_THAT(config->FindApp("wxba5fad812f8e6fb9"), NotNull());
}

TEST_F(ConfigFileTest, MissingFileIsNotFoundAndNamesPath) {
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromFile(path_);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path_));
}

TEST_F(ConfigFileTest, InvalidFileErrorNamesPathAndField) {
  AppSpec spec;
  spec.token = "x";
  Write(ConfigJson({spec}));
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromFile(path_);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path_));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("token"));
}

}  // namespace
}  // namespace wxcrypto
