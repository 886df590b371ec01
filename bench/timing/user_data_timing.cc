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
// What is timed is DecryptUserDataConstantTime, which returns the outcome
// as a mask rather than branching on it, up to the destruction of what it
// returns: all the work DecryptUserData does before that branch.
// DecryptUserData itself (the branch, and a StatusOr holding the data or
// the rejection) is timed only as a diagnostic, valid_vs_other_app_status_or:
// it takes different paths for the two outcomes by design, and reveals
// only the outcome, which the response carries anyway.
//
// Classes (all share the key and the length):
//   valid         decrypts, pads and verifies;
//   bad_padding   `valid` with one bit flipped in the second-to-last block,
//                 which garbles that block and the last block's padding
//                 byte;
//   bad_watermark a ciphertext whose watermark names another app id of the
//                 same length: padding is valid, the check fails late;
//   not_json      a ciphertext whose plaintext is printable garbage with
//                 valid padding;
//   other_app     `valid`, but the request names another app id of the same
//                 length: the same plaintext and the same work as `valid` up
//                 to the outcome.
//
// Each class has --ciphertexts variants (default 256): its plaintext
// encrypted under as many IVs (the first a fixed one), and each call picks
// one at random. The classes then differ only in what the plaintext is:
// with one ciphertext per class (--ciphertexts=1, the original design),
// the time base64 decoding and AES take on those particular bytes, which
// the sender knows and which says nothing about the plaintext, is part of
// the difference being measured.
//
// Pairs held to |t| < 4.5: valid_vs_bad_padding, bad_padding_vs_bad_watermark,
// bad_padding_vs_not_json and bad_watermark_vs_not_json. Under
// "diagnostics": valid_vs_other_app, which differs only in the outcome, and
// valid_vs_other_app_status_or, the same through DecryptUserData: what
// returning a UserData instead of the rejection costs, apart from anything
// the plaintext does. (Success and failure are visible in the response
// anyway; the padding-oracle property is about failures among
// themselves.) Also bad_padding_vs_bad_padding, an A/A test: both sides
// are the same input, so its |t| is the noise floor of the method on the
// machine it runs on. And aes_zeros_vs_ones, aes_bad_padding_vs_not_json:
// AES-CBC decryption alone (the provider's, AES-NI) of ciphertexts whose
// plaintexts are all zero bits vs all one bits, and those of two of the
// classes above. AES-NI runs the same instructions for any data, so what
// these show is the machine's own data dependence (power and clock
// frequency follow the bits being processed), a floor no code that
// handles those bytes can go below. And fixed_address_bad_padding_vs_not_json:
// a hash over the two classes' plaintexts that takes about as long as the
// scan and whose loads have fixed addresses: what work on those bytes shows
// when no address depends on them.
//
// Each call's input is first copied into one shared buffer, outside the
// timed region, so that a class does not come with its own buffer address
// and alignment: they would otherwise show up as a difference between the
// classes that has nothing to do with the plaintext.
//
// With --scan, the same classes' decrypted plaintexts (again through one
// shared buffer) are also timed through Pkcs7CheckConstantTime and
// CtJsonScanWatermark alone, the work after decryption without the
// allocation and the outcome.
//
//   wxcrypto-user-data-timing [--measurements=400000] [--ciphertexts=256]
//                             [--scan] [--only=PAIR]
// (--only runs one pair of DecryptUserData calls: a name below, or
// valid_vs_other_app, bad_padding_vs_bad_padding) prints one JSON line:
//   {"measurements":..,"ciphertexts_per_class":..,
//    "valid_vs_bad_padding":{"max_abs_t":..,"mean_ns":[a,b],
//                            "fast_half_mean_ns":[a,b]}, ...,
//    "diagnostics":{"valid_vs_other_app":{..},
//                   "valid_vs_other_app_status_or":{..},
//                   "bad_padding_vs_bad_padding":{..},
//                   "aes_zeros_vs_ones":{..},
//                   "aes_bad_padding_vs_not_json":{..},
//                   "fixed_address_bad_padding_vs_not_json":{..},
//                   "scan_only":{..}},
//    "threshold":4.5}
// It is run by bench/run.sh, not by the test command: timing on a shared
// 2-core machine is too noisy for a pass/fail unit test.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/ct_json.h"
#include "server/crypto/user_data.h"

namespace wxcrypto {
namespace {

constexpr char kAppId[] = "wx4f4bc4dec97d474b";
constexpr char kOtherAppId[] = "wx0000000000000000";
constexpr int kPercentiles = 10;

enum Class {
  kValid,
  kBadPadding,
  kBadWatermark,
  kNotJson,
  kOtherApp,
  kZeros,
  kOnes,
  kClassCount
};

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

struct Result {
  double max_abs_t = 0;
  // Means of the uncropped measurements, ns.
  double mean_a = 0;
  double mean_b = 0;
  // Means of the fastest half (the first cropped test), ns: less noisy,
  // they show which class is slower and by how much.
  double fast_mean_a = 0;
  double fast_mean_b = 0;
};

// Times `call(0)` and `call(1)` in random order; `prepare(c)` runs before
// each call and `finish(c)` after it, both outside the timed region. Returns
// max |t| over the cropped tests.
Result Measure(const std::function<void(int)>& prepare,
               const std::function<void(int)>& call,
               const std::function<void(int)>& finish, std::size_t measurements,
               std::mt19937_64& rng) {
  std::vector<int> classes(measurements);
  std::vector<double> times(measurements);
  for (std::size_t i = 0; i < measurements; ++i) {
    classes[i] = static_cast<int>(rng() & 1);
  }
  for (std::size_t i = 0; i < measurements; ++i) {
    prepare(classes[i]);
    const auto start = std::chrono::steady_clock::now();
    call(classes[i]);
    const auto end = std::chrono::steady_clock::now();
    finish(classes[i]);
    times[i] = std::chrono::duration<double, std::nano>(end - start).count();
  }
  // dudect: besides the raw test, tests on measurements below increasing
  // percentiles, which removes the long tail caused by interrupts.
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  Result result;
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
    result.max_abs_t = std::max(result.max_abs_t, std::fabs(welch.T()));
    if (p == 0) {
      result.fast_mean_a = welch.mean[0];
      result.fast_mean_b = welch.mean[1];
    }
    if (p == kPercentiles) {
      result.mean_a = welch.mean[0];
      result.mean_b = welch.mean[1];
    }
  }
  return result;
}

std::string Plaintext(const std::string& app_id) {
  return absl::StrCat(
      R"({"phoneNumber":"13800138000","purePhoneNumber":"13800138000",)",
      R"("countryCode":"86","watermark":{"timestamp":1477314187,"appid":")",
      app_id, R"("}})");
}

// One input of a class: encryptedData and iv as the request carries them,
// and the plaintext they decrypt to.
struct Variant {
  std::string encrypted_data;
  std::string iv;
  std::string plaintext;
  std::string raw_ciphertext;
  std::string raw_iv;
};

class Bench {
 public:
  explicit Bench(std::size_t ciphertexts)
      : ciphertexts_(ciphertexts), session_key_(Base64Encode(kKey)) {}

  // Builds `ciphertexts` variants of each class: the class's plaintext
  // encrypted under different IVs (the first variant under a fixed one).
  bool Init() {
    // Printable, not JSON, the same unpadded length as `valid`'s plaintext.
    std::string garbage(Plaintext(kAppId).size(), 'x');
    for (std::size_t i = 0; i < garbage.size(); ++i) {
      garbage[i] = static_cast<char>('A' + (i * 7) % 26);
    }
    std::mt19937_64 rng(1121);
    variants_.assign(kClassCount, {});
    for (std::size_t k = 0; k < ciphertexts_; ++k) {
      std::string iv(16, 'i');
      if (k > 0) {
        for (char& c : iv) c = static_cast<char>(rng());
      }
      const std::string valid =
          *AesCbcPkcs7Encrypt(kKey, iv, Plaintext(kAppId));
      std::string bad_padding = valid;
      bad_padding[bad_padding.size() - 17] ^= 0x01;  // flips the last pad byte
      // Same length: an app id of the same size.
      const std::string bad_watermark =
          *AesCbcPkcs7Encrypt(kKey, iv, Plaintext(kOtherAppId));
      const std::string not_json = *AesCbcPkcs7Encrypt(kKey, iv, garbage);
      const std::string zeros =
          *AesCbcPkcs7Encrypt(kKey, iv, std::string(garbage.size(), '\0'));
      const std::string ones =
          *AesCbcPkcs7Encrypt(kKey, iv, std::string(garbage.size(), '\xff'));
      if (bad_watermark.size() != valid.size() ||
          not_json.size() != valid.size()) {
        return false;
      }
      const std::string ciphertexts[kClassCount] = {
          valid, bad_padding, bad_watermark, not_json, valid, zeros, ones};
      for (int c = 0; c < kClassCount; ++c) {
        Variant variant;
        variant.encrypted_data = Base64Encode(ciphertexts[c]);
        variant.iv = Base64Encode(iv);
        variant.raw_ciphertext = ciphertexts[c];
        variant.raw_iv = iv;
        if (!AesCbcDecryptNoPadding(kKey, iv, ciphertexts[c], variant.plaintext)
                 .ok()) {
          return false;
        }
        variants_[c].push_back(std::move(variant));
      }
    }
    encoded_buffer_.assign(variants_[0][0].encrypted_data.size(), '\0');
    ciphertext_buffer_.assign(variants_[0][0].raw_ciphertext.size(), '\0');
    raw_iv_buffer_.assign(16, '\0');
    iv_buffer_.assign(variants_[0][0].iv.size(), '\0');
    plaintext_buffer_.assign(variants_[0][0].plaintext.size(), '\0');
    return true;
  }

  // DecryptUserDataConstantTime on classes a and b or, with `status_or`,
  // DecryptUserData: the same followed by the branch on the outcome.
  Result Decrypt(Class a, Class b, std::size_t measurements,
                 std::mt19937_64& rng, bool status_or = false) {
    UserDataRequest request;
    request.session_key = session_key_;
    request.iv = iv_buffer_;
    request.encrypted_data = encoded_buffer_;
    request.app_id = app_id_buffer_;
    const Class classes[2] = {a, b};
    auto prepare = [&](int c) {
      const Variant& variant = Pick(classes[c], rng);
      std::memcpy(encoded_buffer_.data(), variant.encrypted_data.data(),
                  encoded_buffer_.size());
      std::memcpy(iv_buffer_.data(), variant.iv.data(), iv_buffer_.size());
      std::memcpy(app_id_buffer_.data(),
                  classes[c] == kOtherApp ? kOtherAppId : kAppId,
                  app_id_buffer_.size());
    };
    // The outcome is destroyed inside the timed region: the service destroys
    // it before it answers, so a client's measurement includes it.
    bool ok = false;
    auto call = [&](int) {
      if (status_or) {
        ok = DecryptUserData(request).ok();
        return;
      }
      UserDataOutcome outcome;
      if (!DecryptUserDataConstantTime(request, &outcome).ok()) std::abort();
      ok = outcome.ok_mask != 0;
    };
    auto finish = [&](int c) {
      if (ok != (classes[c] == kValid)) std::abort();
    };
    return Measure(prepare, call, finish, measurements, rng);
  }

  // AES-CBC decryption alone (the provider's, with AES-NI), on the raw
  // ciphertexts of classes a and b: code that is constant-time by design,
  // so its |t| between plaintexts of different content is what the machine
  // itself adds (data-dependent power and frequency; see bench/NOTES.md,
  // "Timing").
  Result Aes(Class a, Class b, std::size_t measurements, std::mt19937_64& rng) {
    const Class classes[2] = {a, b};
    std::string out(ciphertext_buffer_.size(), '\0');
    auto prepare = [&](int c) {
      const Variant& variant = Pick(classes[c], rng);
      std::memcpy(ciphertext_buffer_.data(), variant.raw_ciphertext.data(),
                  ciphertext_buffer_.size());
      std::memcpy(raw_iv_buffer_.data(), variant.raw_iv.data(), 16);
    };
    auto call = [&](int) {
      if (!AesCbcDecryptNoPadding(kKey, raw_iv_buffer_, ciphertext_buffer_, out)
               .ok()) {
        std::abort();
      }
    };
    return Measure(
        prepare, call, [](int) {}, measurements, rng);
  }

  // A control for the scan: work on the decrypted plaintexts of classes a
  // and b (through one shared buffer) for about as long as the scan takes,
  // whose values follow every byte but whose loads have fixed addresses
  // (a multiply-xorshift hash, six passes). The scan differs from it in its
  // table loads, whose addresses depend on the text.
  Result FixedAddressControl(Class a, Class b, std::size_t measurements,
                             std::mt19937_64& rng) {
    return MeasureOnPlaintexts(
        a, b,
        [&] {
          const auto* bytes =
              reinterpret_cast<const unsigned char*>(plaintext_buffer_.data());
          std::uint64_t hash = 0;
          for (int pass = 0; pass < 6; ++pass) {
            for (std::size_t i = 0; i < plaintext_buffer_.size(); ++i) {
              hash = (hash ^ bytes[i]) * 0x100000001b3;
              hash ^= hash >> 29;
            }
          }
          __asm__ volatile("" : : "r"(hash) : "memory");
        },
        measurements, rng);
  }

  // The padding check and the JSON scan alone, on the decrypted plaintexts
  // of classes a and b.
  Result Scan(Class a, Class b, std::size_t measurements,
              std::mt19937_64& rng) {
    return MeasureOnPlaintexts(
        a, b,
        [&] {
          const Pkcs7Check pad = Pkcs7CheckConstantTime(plaintext_buffer_, 16);
          CtJsonWatermark scan =
              CtJsonScanWatermark(plaintext_buffer_, pad.unpadded_size, kAppId);
          // Keeps the result alive without a branch on it.
          __asm__ volatile("" : : "r"(&scan), "r"(pad.valid_mask) : "memory");
        },
        measurements, rng);
  }

 private:
  static constexpr char kKey[] = "kkkkkkkkkkkkkkkk";

  // Times `call`, which reads plaintext_buffer_, on the decrypted
  // plaintexts of classes a and b, each copied into that shared buffer
  // before its call.
  Result MeasureOnPlaintexts(Class a, Class b,
                             const std::function<void()>& call,
                             std::size_t measurements, std::mt19937_64& rng) {
    const Class classes[2] = {a, b};
    auto prepare = [&](int c) {
      const Variant& variant = Pick(classes[c], rng);
      std::memcpy(plaintext_buffer_.data(), variant.plaintext.data(),
                  plaintext_buffer_.size());
    };
    return Measure(
        prepare, [&](int) { call(); }, [](int) {}, measurements, rng);
  }

  const Variant& Pick(Class c, std::mt19937_64& rng) const {
    return variants_[c][rng() % ciphertexts_];
  }

  std::size_t ciphertexts_;
  std::string session_key_;
  std::vector<std::vector<Variant>> variants_;  // by Class
  std::string encoded_buffer_;
  std::string ciphertext_buffer_;
  std::string raw_iv_buffer_;
  std::string iv_buffer_;
  std::string plaintext_buffer_;
  std::string app_id_buffer_ = kAppId;  // kOtherAppId has the same length
};

struct Pair {
  const char* name;
  Class a;
  Class b;
};

// Held to |t| < 4.5.
constexpr Pair kPairs[] = {
    {"valid_vs_bad_padding", kValid, kBadPadding},
    {"bad_padding_vs_bad_watermark", kBadPadding, kBadWatermark},
    {"bad_padding_vs_not_json", kBadPadding, kNotJson},
    {"bad_watermark_vs_not_json", kBadWatermark, kNotJson},
};

std::string Format(const char* name, const Result& result) {
  char text[200];
  std::snprintf(text, sizeof(text),
                "\"%s\":{\"max_abs_t\":%.2f,\"mean_ns\":[%.1f,%.1f],"
                "\"fast_half_mean_ns\":[%.2f,%.2f]}",
                name, result.max_abs_t, result.mean_a, result.mean_b,
                result.fast_mean_a, result.fast_mean_b);
  return text;
}

// The pairs that --only can name: the four held to 4.5 and the diagnostics.
constexpr Pair kAllPairs[] = {
    kPairs[0],
    kPairs[1],
    kPairs[2],
    kPairs[3],
    {"valid_vs_other_app", kValid, kOtherApp},
    {"bad_padding_vs_bad_padding", kBadPadding, kBadPadding},
};

int Run(std::size_t measurements, std::size_t ciphertexts, bool scan,
        const std::string& only) {
  Bench bench(ciphertexts);
  if (!bench.Init()) return 1;
  std::mt19937_64 rng(20261121);
  // Warm up caches and the CPU's frequency.
  bench.Decrypt(kValid, kBadPadding, measurements / 10, rng);
  std::string out = absl::StrCat("{\"measurements\":", measurements,
                                 ",\"ciphertexts_per_class\":", ciphertexts);
  if (!only.empty()) {
    for (const Pair& pair : kAllPairs) {
      if (only != pair.name) continue;
      std::printf(
          "%s,%s}\n", out.c_str(),
          Format(pair.name, bench.Decrypt(pair.a, pair.b, measurements, rng))
              .c_str());
      return 0;
    }
    std::fprintf(stderr, "unknown pair %s\n", only.c_str());
    return 2;
  }
  for (const Pair& pair : kPairs) {
    absl::StrAppend(
        &out, ",",
        Format(pair.name, bench.Decrypt(pair.a, pair.b, measurements, rng)));
  }
  // Diagnostics, nested so that bench/report.py does not count them as
  // targets.
  absl::StrAppend(
      &out, ",\"diagnostics\":{",
      Format(kAllPairs[4].name,
             bench.Decrypt(kValid, kOtherApp, measurements, rng)),
      ",",
      Format("valid_vs_other_app_status_or",
             bench.Decrypt(kValid, kOtherApp, measurements, rng,
                           /*status_or=*/true)),
      ",",
      Format(kAllPairs[5].name,
             bench.Decrypt(kBadPadding, kBadPadding, measurements, rng)),
      ",",
      Format("aes_zeros_vs_ones", bench.Aes(kZeros, kOnes, measurements, rng)),
      ",",
      Format("aes_bad_padding_vs_not_json",
             bench.Aes(kBadPadding, kNotJson, measurements, rng)),
      ",",
      Format(
          "fixed_address_bad_padding_vs_not_json",
          bench.FixedAddressControl(kBadPadding, kNotJson, measurements, rng)));
  if (scan) {
    std::string scans;
    for (const Pair& pair : kPairs) {
      absl::StrAppend(
          &scans, scans.empty() ? "" : ",",
          Format(pair.name, bench.Scan(pair.a, pair.b, measurements, rng)));
    }
    absl::StrAppend(&out, ",\"scan_only\":{", scans, "}");
  }
  absl::StrAppend(&out, "},\"threshold\":4.5}");
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace
}  // namespace wxcrypto

int main(int argc, char** argv) {
  std::size_t measurements = 400000;
  std::size_t ciphertexts = 256;
  bool scan = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--measurements=", 15) == 0) {
      measurements = std::strtoull(argv[i] + 15, nullptr, 10);
    } else if (std::strncmp(argv[i], "--ciphertexts=", 14) == 0) {
      ciphertexts = std::strtoull(argv[i] + 14, nullptr, 10);
      if (ciphertexts == 0) ciphertexts = 1;
    } else if (std::strcmp(argv[i], "--scan") == 0) {
      scan = true;
    } else if (std::strncmp(argv[i], "--only=", 7) == 0) {
      only = argv[i] + 7;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--measurements=400000] [--ciphertexts=256] "
                   "[--scan] [--only=PAIR]\n",
                   argv[0]);
      return 2;
    }
  }
  return wxcrypto::Run(measurements, ciphertexts, scan, only);
}
