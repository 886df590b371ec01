#include "server/crypto/user_data.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rapidjson/error/error.h"
#include "rapidjson/reader.h"
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

// Finds watermark.appid and watermark.timestamp as a DOM lookup would
// (Document::FindMember: the first member of a name wins) while RapidJSON's
// reader streams the events, so no DOM is allocated. A number counts as a
// timestamp when GenericValue::IsInt64 would hold for it: any integer in
// int64 range, never a double.
class WatermarkHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, WatermarkHandler> {
 public:
  bool Default() {
    EndValue();
    return true;
  }
  bool Int(int value) { return Integer(value); }
  bool Uint(unsigned value) { return Integer(value); }
  bool Int64(std::int64_t value) { return Integer(value); }
  bool Uint64(std::uint64_t value) {
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return Default();
    return Integer(static_cast<std::int64_t>(value));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (member_ == Member::kAppId) {
      app_id_.assign(text, length);
      has_app_id_ = true;
    }
    return Default();
  }
  bool StartObject() {
    if (depth_ == 0) is_object_ = true;
    // The first top-level "watermark" holds an object: look inside it.
    if (member_ == Member::kWatermark) in_watermark_ = true;
    member_ = Member::kNone;
    ++depth_;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 1) in_watermark_ = false;
    EndValue();
    return true;
  }
  bool StartArray() {
    member_ = Member::kNone;
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    EndValue();
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    const absl::string_view key(text, length);
    member_ = Member::kNone;
    if (depth_ == 1 && key == "watermark" && !seen_watermark_) {
      seen_watermark_ = true;
      member_ = Member::kWatermark;
    } else if (depth_ == 2 && in_watermark_) {
      if (key == "appid" && !seen_app_id_) {
        seen_app_id_ = true;
        member_ = Member::kAppId;
      } else if (key == "timestamp" && !seen_timestamp_) {
        seen_timestamp_ = true;
        member_ = Member::kTimestamp;
      }
    }
    return true;
  }

  // True if the document was an object with a watermark object holding a
  // string appid and an int64 timestamp (as first members of their names).
  bool Found() const { return is_object_ && has_app_id_ && has_timestamp_; }
  const std::string& app_id() const { return app_id_; }
  std::int64_t timestamp() const { return timestamp_; }

 private:
  enum class Member { kNone, kWatermark, kAppId, kTimestamp };

  bool Integer(std::int64_t value) {
    if (member_ == Member::kTimestamp) {
      timestamp_ = value;
      has_timestamp_ = true;
    }
    return Default();
  }
  // A value other than an object start ends whatever member it was for.
  void EndValue() { member_ = Member::kNone; }

  std::size_t depth_ = 0;
  Member member_ = Member::kNone;
  bool is_object_ = false;
  bool seen_watermark_ = false;
  bool in_watermark_ = false;
  bool seen_app_id_ = false;
  bool seen_timestamp_ = false;
  bool has_app_id_ = false;
  bool has_timestamp_ = false;
  std::string app_id_;
  std::int64_t timestamp_ = 0;
};

// Returns all ones if `plaintext` is a JSON object whose watermark names
// `app_id` and, when max_age > 0, is within max_age of now; fills the
// watermark outputs in any case. Parses whatever it is given, so that its
// cost does not depend on whether the padding was valid.
bool CheckWatermark(absl::string_view plaintext, const UserDataRequest& request,
                    std::string& app_id_out, std::int64_t& timestamp_out) {
  // The reader and flags Document::Parse(data, size) used here before, so
  // exactly the same texts are accepted, but reading in place from a copy
  // (kParseInsituFlag): strings are validated and unescaped inside the
  // copy instead of byte by byte through the reader's stack, which takes
  // less than half the time (bench/NOTES.md, "DecryptUserData"). Every
  // input still goes through the same single pass, so the cost still does
  // not depend on whether the padding was valid.
  //
  // Document::Parse read through EncodedInputStream<UTF8<>, MemoryStream>,
  // which (1) skips a leading 0xEF, then 0xBB, then 0xBF, each if present,
  // and (2) reads NUL at the end. The copy reproduces both: the same bytes
  // are skipped below, and it ends in NULs. A NUL inside the text reads the
  // same either way. Four NULs, because the reader's UTF-8 validation takes
  // up to three more bytes after a lead byte before it fails, and a stream
  // over a NUL-terminated buffer, unlike MemoryStream, moves past the end.
  // The copy holds decrypted user data: SecretData wipes it when released.
  constexpr std::size_t kTerminators = 4;
  SecretData copy;
  copy.reserve(plaintext.size() + kTerminators);
  copy.assign(plaintext.begin(), plaintext.end());
  copy.insert(copy.end(), kTerminators, 0);
  std::size_t start = 0;
  if (copy[start] == 0xef) ++start;
  if (copy[start] == 0xbb) ++start;
  if (copy[start] == 0xbf) ++start;
  rapidjson::InsituStringStream stream(reinterpret_cast<char*>(copy.data()) +
                                       start);
  rapidjson::Reader reader;
  WatermarkHandler handler;
  const rapidjson::ParseResult parsed =
      reader.Parse<rapidjson::kParseIterativeFlag |
                   rapidjson::kParseValidateEncodingFlag |
                   rapidjson::kParseInsituFlag>(stream, handler);
  if (parsed.IsError() || !handler.Found()) return false;
  app_id_out = handler.app_id();
  timestamp_out = handler.timestamp();
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
