// wxcrypto-user-data-timing: a dudect-style leakage test of DecryptUserData.
//
// DecryptUserData must not be a padding oracle: once decryption starts,
// every failure returns one identical status, and the time it takes must not
// tell bad padding from a bad watermark (nor, ideally, from success). This
// program measures that the way dudect does (Reparaz, Balasch, Verbauwhede,
// "Dude, is my code constant time?", DATE 2017): it interleaves inputs of two
// classes in random order, times each call, drops the slowest measurements
// at several percentiles, and runs Welch's t-test per percentile. |t| above
// 4.5 means the classes are distinguishable with high confidence.
//
// Classes (all share key, IV and length; built from one valid ciphertext):
//   valid        the ciphertext itself: decrypts, pads and verifies;
//   bad_padding  one bit flipped in the second-to-last block, which
//                garbles the last block's padding byte;
//   bad_watermark a ciphertext of the same length whose watermark names
//                another app id: padding is valid, the check fails late.
//
//   wxcrypto-user-data-timing [--measurements 400000]
// prints one JSON line: {"valid_vs_bad_padding":{"max_abs_t":..},
//                        "bad_padding_vs_bad_watermark":{"max_abs_t":..}}
// It is run by bench/run.sh, not by the test command: timing on a shared
// 2-core machine is too noisy for a pass/fail unit test.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/user_data.h"

namespace wxcrypto {
namespace {

constexpr char kAppId[] = "wx4f4bc4dec97d474b";
constexpr int kPercentiles = 10;

struct Welch {
  double n[2] = {0, 0};
  double mean[2] = {0, 0};
  double m2[2] = {0, 0};
  void Add(int cls, double x) {
    n[cls] += 1;
    const double delta = x - mean[cls];
    mean[cls] += delta / n[cls];
    m2[cls] += delta * (x - mean[cls]);
  }
  double T() const {
    if (n[0] < 2 || n[1] < 2) return 0;
    const double var0 = m2[0] / (n[0] - 1);
    const double var1 = m2[1] / (n[1] - 1);
    const double denominator = std::sqrt(var0 / n[0] + var1 / n[1]);
    return denominator == 0 ? 0 : (mean[0] - mean[1]) / denominator;
  }
};

std::string Plaintext(const std::string& app_id) {
  return absl::StrCat(
      R"({"phoneNumber":"13800138000","purePhoneNumber":"13800138000",)",
      R"("countryCode":"86","watermark":{"timestamp":1477314187,"appid":")",
      app_id, R"("}})");
}

// Returns max |t| over the cropped tests for classes `a` vs `b`.
double MaxAbsT(const std::vector<std::string>& inputs, int a, int b,
               std::size_t measurements, std::mt19937_64& rng) {
  UserDataRequest request;
  request.app_id = kAppId;
  const std::string session_key = Base64Encode(std::string(16, 'k'));
  const std::string iv = Base64Encode(std::string(16, 'i'));
  request.session_key = session_key;
  request.iv = iv;

  std::vector<int> classes(measurements);
  std::vector<double> times(measurements);
  for (std::size_t i = 0; i < measurements; ++i)
    classes[i] = static_cast<int>(rng() & 1);
  for (std::size_t i = 0; i < measurements; ++i) {
    request.encrypted_data = inputs[classes[i] == 0 ? a : b];
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<UserData> result = DecryptUserData(request);
    const auto end = std::chrono::steady_clock::now();
    if (result.ok() != (classes[i] == 0 ? a == 0 : b == 0)) std::abort();
    times[i] = std::chrono::duration<double, std::nano>(end - start).count();
  }
  // dudect: besides the raw test, tests on measurements below increasing
  // percentiles, which removes the long tail caused by interrupts.
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double worst = 0;
  for (int p = 0; p <= kPercentiles; ++p) {
    const double limit =
        p == kPercentiles
            ? sorted.back()
            : sorted[static_cast<std::size_t>(
                  (1 - std::pow(0.5, 10.0 * (p + 1) / kPercentiles)) *
                  (sorted.size() - 1))];
    Welch welch;
    for (std::size_t i = 0; i < measurements; ++i) {
      if (times[i] <= limit) welch.Add(classes[i], times[i]);
    }
    worst = std::max(worst, std::fabs(welch.T()));
  }
  return worst;
}

int Run(std::size_t measurements) {
  const std::string key(16, 'k');
  const std::string iv(16, 'i');
  const std::string valid = *AesCbcPkcs7Encrypt(key, iv, Plaintext(kAppId));
  std::string bad_padding = valid;
  bad_padding[bad_padding.size() - 17] ^= 0x01;  // flips the last pad byte
  // Same length: an app id of the same size.
  const std::string bad_watermark =
      *AesCbcPkcs7Encrypt(key, iv, Plaintext("wx0000000000000000"));
  if (bad_watermark.size() != valid.size()) return 1;
  const std::vector<std::string> inputs = {Base64Encode(valid),
                                           Base64Encode(bad_padding),
                                           Base64Encode(bad_watermark)};
  std::mt19937_64 rng(20261121);
  // Warm up caches and the CPU's frequency.
  MaxAbsT(inputs, 0, 1, measurements / 10, rng);
  const double valid_vs_padding = MaxAbsT(inputs, 0, 1, measurements, rng);
  const double padding_vs_watermark = MaxAbsT(inputs, 1, 2, measurements, rng);
  std::printf(
      "{\"measurements\":%zu,\"valid_vs_bad_padding\":{\"max_abs_t\":%.2f},"
      "\"bad_padding_vs_bad_watermark\":{\"max_abs_t\":%.2f},\"threshold\":4.5}"
      "\n",
      measurements, valid_vs_padding, padding_vs_watermark);
  return 0;
}

}  // namespace
}  // namespace wxcrypto

int main(int argc, char** argv) {
  std::size_t measurements = 400000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--measurements=", 15) == 0) {
      measurements = std::strtoull(argv[i] + 15, nullptr, 10);
    }
  }
  return wxcrypto::Run(measurements);
}
