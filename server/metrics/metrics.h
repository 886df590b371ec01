// The service's Prometheus metrics (prometheus-cpp), served at /metrics.
//
//   wxcrypto_requests_total{method,code}         every finished RPC
//   wxcrypto_request_duration_seconds{method}    histogram of handler time
//   wxcrypto_failures_total{method,reason}       failed RPCs by reason word
//   wxcrypto_previous_key_decrypts_total{app_id} pushes opened by an old key
//   wxcrypto_config_reloads_total{result}        success | failure
//   wxcrypto_config_generation                   successful loads so far
//   wxcrypto_apps_configured                     apps in the live config
//   wxcrypto_build_info{version,crypto_provider} always 1
//
// Handles are resolved once (at construction or when the config names a new
// app), never per request. Label values are bounded: methods and codes are
// fixed sets, reasons are the service's reason words, app ids come only
// from the config. Thread-safe.
#ifndef WXCRYPTO_SERVER_METRICS_METRICS_H_
#define WXCRYPTO_SERVER_METRICS_METRICS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace wxcrypto {

// The RPCs, in a fixed order.
enum class Method : std::size_t {
  kDecryptPush = 0,
  kBuildEncryptedReply,
  kDecryptUserData,
  kVerifyRawData,
  kVerifyUrl,
};
inline constexpr std::size_t kMethodCount = 5;

// Returns the RPC name, e.g. "DecryptPush".
absl::string_view MethodName(Method method);

class Metrics {
 public:
  // `version` and `crypto_provider` label wxcrypto_build_info.
  Metrics(absl::string_view version, absl::string_view crypto_provider);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `address` ("host:port"; port 0 picks a free one).
  absl::Status StartExposer(const std::string& address);
  // The port /metrics listens on, or 0 before StartExposer.
  int port() const;

  // Records one finished RPC. `reason` is empty for OK.
  void RecordRequest(Method method, absl::StatusCode code,
                     absl::string_view reason, double seconds);
  void RecordPreviousKeyDecrypt(absl::string_view app_id);
  void RecordConfigReload(bool success);
  // Publishes a newly loaded config: its generation and app ids.
  void SetConfig(std::uint64_t generation, const std::vector<std::string>& app_ids);

  prometheus::Registry& registry() { return *registry_; }

 private:
  static constexpr std::size_t kCodeCount = 17;  // absl::StatusCode 0..16

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& previous_key_decrypts_;
  prometheus::Family<prometheus::Counter>& config_reloads_;
  prometheus::Gauge& config_generation_;
  prometheus::Gauge& apps_configured_;
  prometheus::Counter& reload_success_;
  prometheus::Counter& reload_failure_;

  std::array<std::array<prometheus::Counter*, kCodeCount>, kMethodCount>
      request_counters_{};
  std::array<prometheus::Histogram*, kMethodCount> histograms_{};

  // Failure and per-app counters are created on first use and cached; the
  // lock is taken only on failures and previous-key decrypts.
  std::mutex mu_;
  absl::flat_hash_map<std::pair<std::size_t, std::string>, prometheus::Counter*>
      failure_counters_;
  absl::flat_hash_map<std::string, prometheus::Counter*> app_counters_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_METRICS_METRICS_H_
