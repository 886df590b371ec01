#include "server/config/demo_config.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/config/config.h"
#include "server/crypto/signature.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::testing::NotNull;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;

TEST(DemoConfigTest, LoadsBothDocumentedApps) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(DemoConfigJson()));
  EXPECT_EQ(config->app_count(), 2);

  const App* sample = config->FindApp("wx2c2769f8efd9abc2");
  ASSERT_THAT(sample, NotNull());
  EXPECT_EQ(sample->token(), "spamtest");
  EXPECT_EQ(sample->mode(), AppMode::kCompatible);
  ASSERT_THAT(sample->message_crypt(), NotNull());

  const App* mini = config->FindApp("wxba5fad812f8e6fb9");
  ASSERT_THAT(mini, NotNull());
  EXPECT_EQ(mini->token(), "AAAAA");
  EXPECT_EQ(mini->mode(), AppMode::kCompatible);
  ASSERT_THAT(mini->message_crypt(), NotNull());
}

// The demo apps must open the published pushes of
// tests/testdata/wechat_vectors.json: that is what they are for.
TEST(DemoConfigTest, OpensEveryPublishedPush) {
  WXCRYPTO_ASSERT_OK_AND_ASSIGN(config, Config::FromJson(DemoConfigJson()));
  const rapidjson::Document vectors = ReadTestJson("wechat_vectors.json");
  const auto& pushes = vectors["push"].GetArray();
  ASSERT_FALSE(pushes.Empty());
  for (const auto& push : pushes) {
    SCOPED_TRACE(push["name"].GetString());
    const App* app = config->FindApp(push["receive_id"].GetString());
    ASSERT_THAT(app, NotNull());
    EXPECT_EQ(app->token(), push["token"].GetString());
    EXPECT_THAT(VerifyMsgSignature(push["msg_signature"].GetString(),
                                   app->token(), push["timestamp"].GetString(),
                                   push["nonce"].GetString(),
                                   push["encrypt"].GetString()),
                IsOk());
    WXCRYPTO_ASSERT_OK_AND_ASSIGN(
        opened, app->message_crypt()->Decrypt(push["encrypt"].GetString()));
    EXPECT_EQ(opened.message, push["expected_plaintext"].GetString());
    EXPECT_EQ(opened.key_index, 0);
  }
}

}  // namespace
}  // namespace wxcrypto
