#include "server/crypto/user_data.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/error/error.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
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

// Returns all ones if `plaintext` is a JSON object whose watermark names
// `app_id` and, when max_age > 0, is within max_age of now; fills the
// watermark outputs in any case. Parses whatever it is given, so that its
// cost does not depend on whether the padding was valid.
bool CheckWatermark(absl::string_view plaintext, const UserDataRequest& request,
                    std::string& app_id_out, std::int64_t& timestamp_out) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag |
            rapidjson::kParseValidateEncodingFlag>(plaintext.data(),
                                                   plaintext.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto watermark = doc.FindMember("watermark");
  if (watermark == doc.MemberEnd() || !watermark->value.IsObject()) {
    return false;
  }
  auto appid = watermark->value.FindMember("appid");
  auto timestamp = watermark->value.FindMember("timestamp");
  if (appid == watermark->value.MemberEnd() || !appid->value.IsString() ||
      timestamp == watermark->value.MemberEnd() ||
      !timestamp->value.IsInt64()) {
    return false;
  }
  app_id_out.assign(appid->value.GetString(), appid->value.GetStringLength());
  timestamp_out = timestamp->value.GetInt64();
  if (app_id_out != request.app_id) return false;
  if (request.max_age_seconds > 0) {
    const std::int64_t max_age = std::min(request.max_age_seconds, kMaxAgeCap);
    if (timestamp_out < request.now_unix_seconds - max_age ||
        timestamp_out > request.now_unix_seconds + max_age) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status UserDataRejectedStatus() {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kUserDataIllegalBuffer, reason::kUserDataInvalid,
                 "encrypted user data could not be decrypted or verified");
}

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

  // From here on every failure returns UserDataRejectedStatus().
  std::string plaintext;
  if (!AesCbcDecryptNoPadding(SecretDataAsStringView(*key),
                              SecretDataAsStringView(*iv), *ciphertext,
                              plaintext)
           .ok()) {
    return UserDataRejectedStatus();
  }
  const Pkcs7Check pad = Pkcs7CheckConstantTime(plaintext, kAesBlockSize);
  UserData result;
  const bool watermark_ok =
      CheckWatermark(absl::string_view(plaintext.data(), pad.unpadded_size),
                     request, result.watermark_app_id,
                     result.watermark_timestamp);
  if ((pad.valid_mask != 0) & watermark_ok) {
    plaintext.resize(pad.unpadded_size);
    result.data = std::move(plaintext);
    return result;
  }
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  return UserDataRejectedStatus();
}

}  // namespace wxcrypto
