// libFuzzer target: DecryptUserData (server/crypto/user_data.h), the
// open-data decryption that must not be a padding oracle.
//
// Input: a 7-byte header, then the payload.
//   byte 0       mode (bits 0-1)
//   byte 1       flags: bit 0 = mode 1 does not pad the plaintext
//   byte 2       max_age_seconds, one of kMaxAges (low 3 bits)
//   bytes 3-6    now = the vector's watermark timestamp + this int32 (BE)
//   mode 0       payload is raw ciphertext (base64-encoded for the call),
//                key and iv are the WXBizDataCrypt demo's
//   mode 1, 3    payload is the plaintext: PKCS#7-padded (unless flag bit 0;
//                then filled to 16 bytes with its last byte) and encrypted
//                with the demo key and iv by raw AES, so that the JSON and
//                watermark checks are reached
//   mode 2       payload is session_key, iv and app_id, each with a one-byte
//                length, then encrypted_data (all as text)
//
// The oracle (any violation aborts): once decryption starts, every failure
// is exactly UserDataRejectedStatus() (same code, message and payloads);
// before it, errors are the documented distinct ones, in the documented
// order; a success returns exactly the unpadded plaintext, a valid PKCS#7
// pad, the requested app id and a timestamp inside the age window.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "server/crypto/user_data.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

constexpr std::size_t kHeaderSize = 7;
constexpr std::int64_t kMaxAges[] = {0,
                                     1,
                                     300,
                                     86400,
                                     std::int64_t{1} << 40,
                                     (std::int64_t{1} << 40) + 1,
                                     std::numeric_limits<std::int64_t>::max(),
                                     -1};
// The cap DecryptUserData puts on max_age_seconds (user_data.cc).
constexpr std::int64_t kMaxAgeCap = std::int64_t{1} << 40;

const std::string& RawKey() {
  static const auto* const key =
      new std::string(*ReferenceBase64Decode(kUserDataSessionKey));
  return *key;
}
const std::string& RawIv() {
  static const auto* const iv =
      new std::string(*ReferenceBase64Decode(kUserDataIv));
  return *iv;
}

std::optional<std::string> DecodeSixteen(absl::string_view text) {
  if (text.size() != 24) return std::nullopt;
  std::optional<std::string> raw = ReferenceBase64Decode(text);
  if (!raw.has_value() || raw->size() != 16) return std::nullopt;
  return raw;
}

// Checks one call. `request` must have been fully built by the caller.
void CheckCall(const UserDataRequest& request) {
  const absl::StatusOr<UserData> got = DecryptUserData(request);

  // The constant-time part agrees: the same pre-decryption error, or OK
  // with the outcome as a mask, the result on success, only zero bytes
  // and no timestamp on failure.
  UserDataOutcome outcome;
  const absl::Status status = DecryptUserDataConstantTime(request, &outcome);
  if (!status.ok()) {
    FUZZ_CHECK(!got.ok() && status == got.status());
    FUZZ_CHECK(outcome.ok_mask == 0 && outcome.data.data.empty());
  } else if (outcome.ok_mask == 0) {
    FUZZ_CHECK(!got.ok() && got.status() == UserDataRejectedStatus());
    FUZZ_CHECK(outcome.data.data.find_first_not_of('\0') == std::string::npos);
    FUZZ_CHECK(outcome.data.watermark_timestamp == 0);
  } else {
    FUZZ_CHECK(outcome.ok_mask == ~std::uint64_t{0});
    FUZZ_CHECK(got.ok() && outcome.data.data == got->data &&
               outcome.data.watermark_timestamp == got->watermark_timestamp);
  }

  // The documented pre-decryption errors, in order.
  auto pre = [&](WxErrorCode code, absl::string_view reason) {
    FUZZ_CHECK(!got.ok());
    FUZZ_CHECK_MSG(got.status() != UserDataRejectedStatus(),
                   "a pre-decryption error must be distinguishable");
    CheckError(got.status(), absl::StatusCode::kInvalidArgument, code, reason);
  };
  const std::optional<std::string> key = DecodeSixteen(request.session_key);
  if (!key.has_value()) {
    return pre(WxErrorCode::kUserDataIllegalAesKey, reason::kSessionKeyInvalid);
  }
  const std::optional<std::string> iv = DecodeSixteen(request.iv);
  if (!iv.has_value()) {
    return pre(WxErrorCode::kUserDataIllegalIv, reason::kIvInvalid);
  }
  std::optional<std::string> ciphertext;
  if (!request.encrypted_data.empty() &&
      request.encrypted_data.size() <= kMaxEncryptedUserDataSize) {
    ciphertext = ReferenceBase64Decode(request.encrypted_data);
  }
  if (!ciphertext.has_value()) {
    return pre(WxErrorCode::kUserDataDecodeBase64Error, reason::kBase64Invalid);
  }
  if (ciphertext->empty() || ciphertext->size() % 16 != 0 ||
      request.max_age_seconds < 0) {
    return pre(WxErrorCode::kUserDataIllegalBuffer, reason::kBufferInvalid);
  }

  // Decryption started: success or the one rejection, nothing else.
  const std::string plaintext = ReferenceAesCbcDecrypt(*key, *iv, *ciphertext);
  const std::optional<std::size_t> unpadded =
      ReferencePkcs7Unpad(plaintext, 16);
  if (!got.ok()) {
    FUZZ_CHECK_MSG(got.status() == UserDataRejectedStatus(),
                   StatusText(got.status()));
    return;
  }
  FUZZ_CHECK_MSG(unpadded.has_value(), "accepted invalid padding");
  FUZZ_CHECK(got->data == absl::string_view(plaintext).substr(0, *unpadded));
  FUZZ_CHECK(got->watermark_app_id == request.app_id);
  if (request.max_age_seconds > 0) {
    const std::int64_t age = std::min(request.max_age_seconds, kMaxAgeCap);
    FUZZ_CHECK(got->watermark_timestamp >= request.now_unix_seconds - age);
    FUZZ_CHECK(got->watermark_timestamp <= request.now_unix_seconds + age);
  }
}

std::string PadAndEncrypt(absl::string_view payload, bool raw) {
  std::string plaintext(payload);
  if (raw) {
    if (plaintext.empty()) return "";
    plaintext.resize((plaintext.size() + 15) / 16 * 16, plaintext.back());
  } else {
    const std::size_t pad = 16 - plaintext.size() % 16;
    plaintext.append(pad, static_cast<char>(pad));
  }
  return ReferenceAesCbcEncrypt(RawKey(), RawIv(), plaintext);
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto;        // NOLINT(build/namespaces)
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  if (size < kHeaderSize) return 0;
  const int mode = data[0] & 3;
  const bool raw_padding = (data[1] & 1) != 0;
  const auto now_delta = static_cast<std::int32_t>(
      static_cast<std::uint32_t>(ReadBigEndian(data + 3, 4)));
  absl::string_view payload(reinterpret_cast<const char*>(data) + kHeaderSize,
                            size - kHeaderSize);

  UserDataRequest request;
  request.app_id = kUserDataAppId;
  request.session_key = kUserDataSessionKey;
  request.iv = kUserDataIv;
  request.max_age_seconds = kMaxAges[data[2] & 7];
  request.now_unix_seconds = kUserDataTimestamp + now_delta;

  std::string encrypted_data;
  if (mode == 0) {
    encrypted_data = Base64Encode(payload);
  } else if (mode == 2) {
    auto take = [&payload]() {
      if (payload.empty()) return absl::string_view();
      const std::size_t n = static_cast<unsigned char>(payload[0]);
      payload.remove_prefix(1);
      const absl::string_view out = payload.substr(0, n);
      payload.remove_prefix(out.size());
      return out;
    };
    request.session_key = take();
    request.iv = take();
    request.app_id = take();
    encrypted_data = std::string(payload);
  } else {
    encrypted_data = Base64Encode(PadAndEncrypt(payload, raw_padding));
  }
  request.encrypted_data = encrypted_data;
  CheckCall(request);
  return 0;
}
