#include "server/crypto/user_data.h"

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

namespace {

// What decryption and the constant-time checks leave: the plaintext (wiped
// unless `ok`), all ones in `ok` if it passed, the unpadded size and the
// watermark's timestamp.
struct Checked {
  std::string plaintext;
  std::uint64_t ok = 0;
  std::size_t unpadded_size = 0;
  std::int64_t timestamp = 0;
};

// Decodes, decrypts and checks `request` into `checked`. Returns an error
// only for what is wrong before decryption (a public property of the
// request); every later failure is a zero `checked.ok`. Its other buffers
// (key, IV, ciphertext) are freed when it returns, whatever the outcome,
// so that both outcomes leave the allocator in the same state.
absl::Status DecryptAndCheck(const UserDataRequest& request, Checked& checked) {
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

  // From here on the work done depends only on the ciphertext's length:
  // the padding check, the JSON scan (which reads the pad bytes as spaces
  // rather than stopping at the unpadded length, so a bad pad does the same
  // work as a good one: Pkcs7CheckConstantTime then reports the full
  // length) and the watermark comparison run in constant time.
  std::string& plaintext = checked.plaintext;
  if (!AesCbcDecryptNoPadding(SecretDataAsStringView(*key),
                              SecretDataAsStringView(*iv), *ciphertext,
                              plaintext)
           .ok()) {
    // Sizes were checked above; this is OpenSSL failing (out of memory),
    // rejected as any other failure.
    plaintext.assign(ciphertext->size(), '\0');
    return absl::OkStatus();
  }
  const Pkcs7Check pad = Pkcs7CheckConstantTime(plaintext, kAesBlockSize);
  const CtJsonWatermark scan =
      CtJsonScanWatermark(plaintext, pad.unpadded_size, request.app_id);
  checked.ok = pad.valid_mask & WatermarkMatches(scan, request);
  checked.unpadded_size = pad.unpadded_size;
  checked.timestamp = scan.timestamp;

  // Wipes the plaintext on failure, with the same stores on success: every
  // byte is ANDed with the outcome (the barrier keeps the compiler from
  // turning the mask back into a branch).
  std::uint64_t keep = checked.ok;
  __asm__("" : "+r"(keep));
  const auto keep_byte = static_cast<unsigned char>(keep);
  for (char& c : plaintext) {
    c = static_cast<char>(static_cast<unsigned char>(c) & keep_byte);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecryptUserDataConstantTime(const UserDataRequest& request,
                                         UserDataOutcome* outcome) {
  *outcome = UserDataOutcome();
  Checked checked;
  absl::Status status = DecryptAndCheck(request, checked);
  if (!status.ok()) return status;

  // Both outcomes leave the same buffers: the app id, and the plaintext,
  // unpadded on success, wiped and one byte short on failure (so that
  // resize shortens it, taking the same path, in both: a valid padding is
  // at least one byte), freed when the caller destroys `outcome`, after
  // DecryptAndCheck freed the others in the same order for both.
  const std::uint64_t ok = checked.ok;
  outcome->ok_mask = ok;
  UserData& data = outcome->data;
  data.watermark_app_id.assign(request.app_id.data(), request.app_id.size());
  data.watermark_timestamp = static_cast<std::int64_t>(
      static_cast<std::uint64_t>(checked.timestamp) & ok);
  std::string& plaintext = checked.plaintext;
  const std::size_t size = plaintext.size();
  plaintext.resize((checked.unpadded_size & ok) | ((size - 1) & ~ok));
  data.data = std::move(plaintext);
  return status;
}

absl::StatusOr<UserData> DecryptUserData(const UserDataRequest& request) {
  UserDataOutcome outcome;
  absl::Status status = DecryptUserDataConstantTime(request, &outcome);
  if (!status.ok()) return status;
  // The outcome is what the caller receives anyway: branching on it here
  // reveals nothing more. Every failure returns UserDataRejectedStatus().
  if (outcome.ok_mask == 0) return RejectedStatus();
  return std::move(outcome.data);
}

}  // namespace wxcrypto
