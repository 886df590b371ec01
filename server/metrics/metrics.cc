#include "server/metrics/metrics.h"

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wxcrypto {
namespace {

// Upper bounds in seconds: handler time is tens of microseconds for small
// messages and grows with size; the top buckets catch stalls.
const std::vector<double>& DurationBuckets() {
  static const auto* const kBuckets = new std::vector<double>{
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   1.0};
  return *kBuckets;
}

}  // namespace

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kDecryptPush:
      return "DecryptPush";
    case Method::kBuildEncryptedReply:
      return "BuildEncryptedReply";
    case Method::kDecryptUserData:
      return "DecryptUserData";
    case Method::kVerifyRawData:
      return "VerifyRawData";
    case Method::kVerifyUrl:
      return "VerifyUrl";
  }
  return "Unknown";
}

Metrics::Metrics(absl::string_view version, absl::string_view crypto_provider)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("wxcrypto_requests_total")
                    .Help("Finished RPCs by method and canonical status code.")
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("wxcrypto_request_duration_seconds")
                     .Help("Time spent in the handler, by method.")
                     .Register(*registry_)),
      failures_(prometheus::BuildCounter()
                    .Name("wxcrypto_failures_total")
                    .Help("Failed RPCs by method and error-reason word.")
                    .Register(*registry_)),
      previous_key_decrypts_(
          prometheus::BuildCounter()
              .Name("wxcrypto_previous_key_decrypts_total")
              .Help("Pushes that only a previous EncodingAESKey opened.")
              .Register(*registry_)),
      config_reloads_(prometheus::BuildCounter()
                          .Name("wxcrypto_config_reloads_total")
                          .Help("Config reload attempts by result.")
                          .Register(*registry_)),
      config_generation_(prometheus::BuildGauge()
                             .Name("wxcrypto_config_generation")
                             .Help("Number of configs loaded successfully.")
                             .Register(*registry_)
                             .Add({})),
      apps_configured_(prometheus::BuildGauge()
                           .Name("wxcrypto_apps_configured")
                           .Help("Apps in the live config.")
                           .Register(*registry_)
                           .Add({})),
      reload_success_(config_reloads_.Add({{"result", "success"}})),
      reload_failure_(config_reloads_.Add({{"result", "failure"}})) {
  prometheus::BuildGauge()
      .Name("wxcrypto_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(version)},
            {"crypto_provider", std::string(crypto_provider)}})
      .Set(1);
  for (std::size_t m = 0; m < kMethodCount; ++m) {
    const std::string method(MethodName(static_cast<Method>(m)));
    for (std::size_t c = 0; c < kCodeCount; ++c) {
      request_counters_[m][c] = &requests_.Add(
          {{"method", method},
           {"code",
            absl::StatusCodeToString(static_cast<absl::StatusCode>(c))}});
    }
    histograms_[m] = &durations_.Add({{"method", method}}, DurationBuckets());
  }
}

absl::Status Metrics::StartExposer(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  return absl::OkStatus();
}

int Metrics::port() const {
  if (exposer_ == nullptr) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::RecordRequest(Method method, absl::StatusCode code,
                            absl::string_view reason, double seconds) {
#if defined(WXCRYPTO_BENCH_NO_REQUEST_METRICS)
  // Only in bench/'s wxcrypto-server-nometrics, which measures what
  // recording costs against the real server (bench/NOTES.md, target 3).
  static_cast<void>(method);
  static_cast<void>(code);
  static_cast<void>(reason);
  static_cast<void>(seconds);
  return;
#endif
  const auto m = static_cast<std::size_t>(method);
  auto c = static_cast<std::size_t>(code);
  if (c >= kCodeCount) c = static_cast<std::size_t>(absl::StatusCode::kUnknown);
  request_counters_[m][c]->Increment();
  histograms_[m]->Observe(seconds);
  if (code == absl::StatusCode::kOk) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto key =
      std::make_pair(m, std::string(reason.empty() ? "UNKNOWN" : reason));
  auto it = failure_counters_.find(key);
  if (it == failure_counters_.end()) {
    prometheus::Counter* counter = &failures_.Add(
        {{"method", std::string(MethodName(method))}, {"reason", key.second}});
    it = failure_counters_.emplace(std::move(key), counter).first;
  }
  it->second->Increment();
}

void Metrics::RecordPreviousKeyDecrypt(absl::string_view app_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = app_counters_.find(app_id);
  // Only apps from the config have counters; SetConfig creates them.
  if (it != app_counters_.end()) it->second->Increment();
}

void Metrics::RecordConfigReload(bool success) {
  (success ? reload_success_ : reload_failure_).Increment();
}

void Metrics::SetConfig(std::uint64_t generation,
                        const std::vector<std::string>& app_ids) {
  config_generation_.Set(static_cast<double>(generation));
  apps_configured_.Set(static_cast<double>(app_ids.size()));
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& app_id : app_ids) {
    if (!app_counters_.contains(app_id)) {
      app_counters_.emplace(app_id,
                            &previous_key_decrypts_.Add({{"app_id", app_id}}));
    }
  }
}

}  // namespace wxcrypto
