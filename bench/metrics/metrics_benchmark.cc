// Google Benchmark for the per-request metrics work of wxcrypto-server:
// Metrics::RecordRequest for a success and for a failure (which also
// counts wxcrypto_failures_total by reason), and the two clock reads the
// service takes around each handler to time it.
#include <benchmark/benchmark.h>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/metrics/metrics.h"

namespace wxcrypto {
namespace {

void BM_RecordRequestOk(benchmark::State& state) {
  Metrics metrics("bench", "openssl");
  for (auto _ : state) {
    metrics.RecordRequest(Method::kDecryptPush, absl::StatusCode::kOk, "",
                          0.000042);
  }
}

void BM_RecordRequestFailure(benchmark::State& state) {
  Metrics metrics("bench", "openssl");
  for (auto _ : state) {
    metrics.RecordRequest(Method::kDecryptPush,
                          absl::StatusCode::kUnauthenticated,
                          "SIGNATURE_MISMATCH", 0.000012);
  }
}

void BM_TimeHandler(benchmark::State& state) {
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    benchmark::DoNotOptimize(seconds);
  }
}

BENCHMARK(BM_RecordRequestOk);
BENCHMARK(BM_RecordRequestFailure);
BENCHMARK(BM_TimeHandler);

}  // namespace
}  // namespace wxcrypto

BENCHMARK_MAIN();
