#include "server/metrics/metrics.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Scrape(Metrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.registry().Collect());
}

TEST(MetricsTest, PreCreatesEveryMethodAndCodeAtZero) {
  Metrics metrics("1.2.3", "openssl");
  const std::string text = Scrape(metrics);
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_requests_total{code="OK",method="DecryptPush"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_requests_total{code="RESOURCE_EXHAUSTED",method="VerifyUrl"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_build_info{crypto_provider="openssl",version="1.2.3"} 1)"));
  EXPECT_THAT(
      text, HasSubstr(R"(wxcrypto_config_reloads_total{result="failure"} 0)"));
}

TEST(MetricsTest, RecordsRequestsFailuresAndDurations) {
  Metrics metrics("1", "openssl");
  metrics.RecordRequest(Method::kDecryptPush, absl::StatusCode::kOk, "",
                        0.0002);
  metrics.RecordRequest(Method::kDecryptPush,
                        absl::StatusCode::kUnauthenticated,
                        "SIGNATURE_MISMATCH", 0.0001);
  metrics.RecordRequest(Method::kDecryptPush,
                        absl::StatusCode::kUnauthenticated,
                        "SIGNATURE_MISMATCH", 0.0001);
  const std::string text = Scrape(metrics);
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_requests_total{code="OK",method="DecryptPush"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_requests_total{code="UNAUTHENTICATED",method="DecryptPush"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_failures_total{method="DecryptPush",reason="SIGNATURE_MISMATCH"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(wxcrypto_request_duration_seconds_count{method="DecryptPush"} 3)"));
}

TEST(MetricsTest, CountsPreviousKeyDecryptsOnlyForConfiguredApps) {
  Metrics metrics("1", "openssl");
  metrics.SetConfig(2, {"wxa", "wxb"});
  metrics.RecordPreviousKeyDecrypt("wxa");
  metrics.RecordPreviousKeyDecrypt("wx-not-configured");
  const std::string text = Scrape(metrics);
  EXPECT_THAT(
      text,
      HasSubstr(R"(wxcrypto_previous_key_decrypts_total{app_id="wxa"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(wxcrypto_previous_key_decrypts_total{app_id="wxb"} 0)"));
  EXPECT_THAT(text, Not(HasSubstr("wx-not-configured")));
  EXPECT_THAT(text, HasSubstr("wxcrypto_config_generation 2"));
  EXPECT_THAT(text, HasSubstr("wxcrypto_apps_configured 2"));
}

TEST(MetricsTest, ExposerServesOnAPickedPort) {
  Metrics metrics("1", "openssl");
  EXPECT_EQ(metrics.port(), 0);
  ASSERT_TRUE(metrics.StartExposer("127.0.0.1:0").ok());
  EXPECT_GT(metrics.port(), 0);
}

TEST(MetricsTest, ExposerReportsUnusableAddress) {
  Metrics metrics("1", "openssl");
  EXPECT_FALSE(metrics.StartExposer("256.1.1.1:99999").ok());
}

}  // namespace
}  // namespace wxcrypto
