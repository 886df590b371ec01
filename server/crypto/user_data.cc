#include "server/crypto/user_data.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/ct_json.h"
#include "server/crypto/error.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {
namespace {

// base64 of 16 bytes.
constexpr std::size_t kEncodedKeySize = 24;
constexpr std::size_t kKeySize = 16;
// Caps the age window so that now +- max_age cannot overflow.
constexpr std::int64_t kMaxAgeCap = std::int64_t{1} << 40;

absl::Status PreDecryptError(WxErrorCode code, absl::string_view reason_word,
                             absl::string_view message) {
  return WxError(absl::StatusCode::kInvalidArgument, code, reason_word,
                 message);
}

absl::StatusOr<SecretData> DecodeSixteenBytes(absl::string_view encoded) {
  if (encoded.size() != kEncodedKeySize) {
    return absl::InvalidArgumentError("must be 24 characters of base64");
  }
  absl::StatusOr<SecretData> decoded = Base64DecodeSecret(encoded);
  if (!decoded.ok() || decoded->size() != kKeySize) {
    return absl::InvalidArgumentError("must be base64 of 16 bytes");
  }
  return decoded;
}

// All ones if a < b as signed integers, else zero, without branching on
// them: the unsigned comparison (BoringSSL's constant_time_lt_w) of the
// values with their sign bits flipped.
std::uint64_t ConstantTimeLessThanSigned(std::int64_t a, std::int64_t b) {
  const std::uint64_t ua =
      static_cast<std::uint64_t>(a) ^ (std::uint64_t{1} << 63);
  const std::uint64_t ub =
      static_cast<std::uint64_t>(b) ^ (std::uint64_t{1} << 63);
  const std::uint64_t lt = ua ^ ((ua ^ ub) | ((ua - ub) ^ ua));
  return std::uint64_t{0} - (lt >> 63);
}

// Returns all ones if the scanned plaintext's watermark names the
// request's app id and, when max_age > 0, is within max_age of now; zero
// otherwise. The age is checked with masks, so the time does not depend on
// the timestamp; it branches only on the request.
std::uint64_t WatermarkMatches(const CtJsonWatermark& scan,
                               const UserDataRequest& request) {
  std::uint64_t match = scan.app_id_match_mask;
  if (request.max_age_seconds > 0) {
    // now +- max_age, saturated (public values: branching on them is fine).
    const std::int64_t max_age = std::min(request.max_age_seconds, kMaxAgeCap);
    const std::int64_t now = request.now_unix_seconds;
    const std::int64_t earliest =
        now < std::numeric_limits<std::int64_t>::min() + max_age
            ? std::numeric_limits<std::int64_t>::min()
            : now - max_age;
    const std::int64_t latest =
        now > std::numeric_limits<std::int64_t>::max() - max_age
            ? std::numeric_limits<std::int64_t>::max()
            : now + max_age;
    match &= ~ConstantTimeLessThanSigned(scan.timestamp, earliest);
    match &= ~ConstantTimeLessThanSigned(latest, scan.timestamp);
  }
  return match;
}

// The status every post-decryption failure returns, built once.
const absl::Status& RejectedStatus() {
  static const absl::Status* const status = new absl::Status(
      WxError(absl::StatusCode::kInvalidArgument,
              WxErrorCode::kUserDataIllegalBuffer, reason::kUserDataInvalid,
              "encrypted user data could not be decrypted or verified"));
  return *status;
}

}  // namespace

absl::Status UserDataRejectedStatus() { return RejectedStatus(); }

absl::StatusOr<UserData> DecryptUserData(const UserDataRequest& request) {
  absl::StatusOr<SecretData> key = DecodeSixteenBytes(request.session_key);
  if (!key.ok()) {
    return PreDecryptError(
        WxErrorCode::kUserDataIllegalAesKey, reason::kSessionKeyInvalid,
        absl::StrCat("session_key ", key.status().message()));
  }
  absl::StatusOr<SecretData> iv = DecodeSixteenBytes(request.iv);
  if (!iv.ok()) {
    return PreDecryptError(WxErrorCode::kUserDataIllegalIv, reason::kIvInvalid,
                           absl::StrCat("iv ", iv.status().message()));
  }
  if (request.encrypted_data.empty() ||
      request.encrypted_data.size() > kMaxEncryptedUserDataSize) {
    return PreDecryptError(WxErrorCode::kUserDataDecodeBase64Error,
                           reason::kBase64Invalid,
                           "encrypted_data must be 1 byte to 1 MiB of base64");
  }
  absl::StatusOr<std::string> ciphertext = Base64Decode(request.encrypted_data);
  if (!ciphertext.ok()) {
    return PreDecryptError(WxErrorCode::kUserDataDecodeBase64Error,
                           reason::kBase64Invalid,
                           absl::StrCat("encrypted_data is not valid base64: ",
                                        ciphertext.status().message()));
  }
  if (ciphertext->empty() || ciphertext->size() % kAesBlockSize != 0) {
    return PreDecryptError(
        WxErrorCode::kUserDataIllegalBuffer, reason::kBufferInvalid,
        "encrypted_data must decode to a non-empty multiple of 16 bytes");
  }
  if (request.max_age_seconds < 0) {
    return PreDecryptError(WxErrorCode::kUserDataIllegalBuffer,
                           reason::kBufferInvalid,
                           "max_age_seconds must not be negative");
  }

  // From here on every failure returns UserDataRejectedStatus(), and the
  // work done depends only on the ciphertext's length: the padding check,
  // the JSON scan (which reads the pad bytes as spaces rather than stopping
  // at the unpadded length, so a bad pad does the same work as a good one:
  // Pkcs7CheckConstantTime then reports the full length) and the watermark
  // comparison run in constant time, and both outcomes below do the same
  // work up to the one branch that returns them.
  std::string plaintext;
  if (!AesCbcDecryptNoPadding(SecretDataAsStringView(*key),
                              SecretDataAsStringView(*iv), *ciphertext,
                              plaintext)
           .ok()) {
    return UserDataRejectedStatus();
  }
  const Pkcs7Check pad = Pkcs7CheckConstantTime(plaintext, kAesBlockSize);
  const CtJsonWatermark scan =
      CtJsonScanWatermark(plaintext, pad.unpadded_size, request.app_id);
  const std::uint64_t ok = pad.valid_mask & WatermarkMatches(scan, request);
  const std::int64_t timestamp = scan.timestamp;

  // Wipes the ciphertext on success and the plaintext on failure: buffers of
  // the same length (the ciphertext is public; wiping it only keeps the
  // work equal).
  const auto ok_pointer = static_cast<std::uintptr_t>(ok);
  const std::uintptr_t wipe =
      (reinterpret_cast<std::uintptr_t>(ciphertext->data()) & ok_pointer) |
      (reinterpret_cast<std::uintptr_t>(plaintext.data()) & ~ok_pointer);
  OPENSSL_cleanse(reinterpret_cast<void*>(wipe), ciphertext->size());

  // Both outcomes are built, then one is returned: a reference to the
  // rejection, and the result (whose app id is the request's, which the
  // watermark's equals on success). Of the arrangements measured with
  // bench/timing/user_data_timing.cc (valid_vs_other_app: same plaintext,
  // different outcome), this one leaves the smallest difference: building
  // the result only on success made success about 20 ns slower (an
  // allocation on that path alone); what is left is that a failure frees
  // the buffers a success hands to its caller. The outcome is what the
  // caller receives anyway; branching on it here reveals nothing more.
  absl::Status rejected = RejectedStatus();
  UserData result;
  result.watermark_app_id.assign(request.app_id.data(), request.app_id.size());
  result.watermark_timestamp = timestamp;
  if (ok != 0) {
    // Only here: std::string::resize branches on whether the size changes,
    // that is, on whether the padding was valid.
    plaintext.resize(pad.unpadded_size);
    result.data = std::move(plaintext);
    return result;
  }
  return rejected;
}

}  // namespace wxcrypto
