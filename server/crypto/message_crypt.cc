#include "server/crypto/message_crypt.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "server/crypto/random.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {
namespace {

constexpr std::size_t kAesKeySize = 32;
constexpr std::size_t kLengthFieldSize = 4;
constexpr std::size_t kHeaderSize = kRandomPrefixSize + kLengthFieldSize;
// Base64 of the largest ciphertext a kMaxMessageSize message with a receive
// id of up to 1 KiB can produce; anything longer is rejected before decoding.
constexpr std::size_t kMaxEncryptSize =
    (kHeaderSize + kMaxMessageSize + 1024 + kMessagePadBlockSize + 2) / 3 * 4;

absl::Status KeyError(absl::string_view message) {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid, message);
}

// How far a decryption attempt got; a later stage is a more specific error.
enum class Stage { kCipher = 0, kLength = 1, kReceiveId = 2 };

absl::Status StageError(Stage stage) {
  switch (stage) {
    case Stage::kLength:
      return WxError(absl::StatusCode::kInvalidArgument,
                     WxErrorCode::kIllegalBuffer, reason::kBufferInvalid,
                     "decrypted message has an invalid length field");
    case Stage::kReceiveId:
      return WxError(absl::StatusCode::kInvalidArgument,
                     WxErrorCode::kValidateReceiveIdError,
                     reason::kReceiveIdMismatch,
                     "decrypted message is for another receive id");
    case Stage::kCipher:
      break;
  }
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kDecryptAesError, reason::kDecryptFailed,
                 "message could not be decrypted with any configured key");
}

}  // namespace

absl::StatusOr<EncodingAesKey> EncodingAesKey::Parse(
    absl::string_view encoding_aes_key) {
  if (encoding_aes_key.size() != kEncodingAesKeySize) {
    return KeyError("EncodingAESKey must be exactly 43 characters");
  }
  SecretData padded(kEncodingAesKeySize + 1);
  std::copy(encoding_aes_key.begin(), encoding_aes_key.end(), padded.begin());
  padded.back() = '=';
  absl::StatusOr<SecretData> key =
      Base64DecodeSecret(SecretDataAsStringView(padded));
  if (!key.ok()) {
    return KeyError("EncodingAESKey is not valid base64");
  }
  if (key->size() != kAesKeySize) {
    return KeyError("EncodingAESKey does not decode to 32 bytes");
  }
  return EncodingAesKey(*std::move(key));
}

absl::StatusOr<MessageCrypt> MessageCrypt::Create(
    absl::Span<const absl::string_view> encoding_aes_keys,
    absl::string_view receive_id) {
  if (encoding_aes_keys.empty()) {
    return KeyError("at least one EncodingAESKey is required");
  }
  std::vector<EncodingAesKey> keys;
  keys.reserve(encoding_aes_keys.size());
  for (std::size_t i = 0; i < encoding_aes_keys.size(); ++i) {
    absl::StatusOr<EncodingAesKey> key =
        EncodingAesKey::Parse(encoding_aes_keys[i]);
    if (!key.ok()) {
      return KeyError(absl::StrCat(
          i == 0 ? "current key: " : absl::StrCat("previous key ", i, ": "),
          key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  return MessageCrypt(std::move(keys), std::string(receive_id));
}

absl::StatusOr<DecryptedMessage> MessageCrypt::Decrypt(
    absl::string_view encrypt) const {
  if (encrypt.size() > kMaxEncryptSize) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kIllegalBuffer, reason::kMessageTooLarge,
                   "Encrypt is larger than the largest allowed message");
  }
  absl::StatusOr<std::string> ciphertext = Base64Decode(encrypt);
  if (!ciphertext.ok()) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kDecodeBase64Error, reason::kBase64Invalid,
                   absl::StrCat("Encrypt is not valid base64: ",
                                ciphertext.status().message()));
  }
  if (ciphertext->empty() || ciphertext->size() % kAesBlockSize != 0) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kDecryptAesError, reason::kDecryptFailed,
                   "ciphertext must be a non-empty multiple of 16 bytes");
  }

  Stage furthest = Stage::kCipher;
  std::string plaintext;
  for (std::size_t index = 0; index < keys_.size(); ++index) {
    const EncodingAesKey& key = keys_[index];
    // The last key to try decrypts in place: the ciphertext is not needed
    // after it (with a single key, the usual case, that saves a buffer).
    const bool last = index + 1 == keys_.size();
    if (last) plaintext = *std::move(ciphertext);
    if (!AesCbcDecryptNoPadding(key.key(), key.iv(),
                                last ? plaintext : *ciphertext, plaintext)
             .ok()) {
      continue;
    }
    const Pkcs7Check pad =
        Pkcs7CheckConstantTime(plaintext, kMessagePadBlockSize);
    if (pad.valid_mask == 0) continue;
    const absl::string_view body(plaintext.data(), pad.unpadded_size);
    if (body.size() < kHeaderSize) {
      if (furthest < Stage::kLength) furthest = Stage::kLength;
      continue;
    }
    const auto* length_bytes =
        reinterpret_cast<const std::uint8_t*>(body.data() + kRandomPrefixSize);
    const std::uint32_t length = (std::uint32_t{length_bytes[0]} << 24) |
                                 (std::uint32_t{length_bytes[1]} << 16) |
                                 (std::uint32_t{length_bytes[2]} << 8) |
                                 std::uint32_t{length_bytes[3]};
    if (length > body.size() - kHeaderSize) {
      if (furthest < Stage::kLength) furthest = Stage::kLength;
      continue;
    }
    if (body.substr(kHeaderSize + length) != receive_id_) {
      furthest = Stage::kReceiveId;
      continue;
    }
    // The message is the plaintext without its header and tail: cut it
    // out in place rather than copying it.
    plaintext.resize(kHeaderSize + length);
    plaintext.erase(0, kHeaderSize);
    DecryptedMessage result;
    result.message = std::move(plaintext);
    result.key_index = index;
    return result;
  }
  return StageError(furthest);
}

absl::StatusOr<std::string> MessageCrypt::Encrypt(absl::string_view message,
                                                  std::size_t key_index) const {
  absl::StatusOr<std::string> prefix = RandomBytes(kRandomPrefixSize);
  if (!prefix.ok()) {
    return WxError(absl::StatusCode::kInternal, WxErrorCode::kEncryptAesError,
                   reason::kEncryptFailed, prefix.status().message());
  }
  return EncryptWithRandomPrefix(message, *prefix, key_index);
}

absl::StatusOr<std::string> MessageCrypt::EncryptWithRandomPrefix(
    absl::string_view message, absl::string_view random_prefix,
    std::size_t key_index) const {
  if (key_index >= keys_.size()) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kIllegalAesKey, reason::kKeyIndexInvalid,
                   absl::StrCat("key index ", key_index, " is not configured (",
                                keys_.size(), " key(s))"));
  }
  if (random_prefix.size() != kRandomPrefixSize) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kEncryptAesError, reason::kEncryptFailed,
                   "random prefix must be 16 bytes");
  }
  if (message.size() > kMaxMessageSize) {
    return WxError(
        absl::StatusCode::kInvalidArgument, WxErrorCode::kIllegalBuffer,
        reason::kMessageTooLarge,
        absl::StrCat("message is larger than ", kMaxMessageSize, " bytes"));
  }
  const auto length = static_cast<std::uint32_t>(message.size());
  std::string plaintext;
  plaintext.reserve(kHeaderSize + message.size() + receive_id_.size() +
                    kMessagePadBlockSize);
  plaintext.append(random_prefix.data(), random_prefix.size());
  plaintext.push_back(static_cast<char>(length >> 24));
  plaintext.push_back(static_cast<char>(length >> 16));
  plaintext.push_back(static_cast<char>(length >> 8));
  plaintext.push_back(static_cast<char>(length));
  plaintext.append(message.data(), message.size());
  plaintext.append(receive_id_);
  Pkcs7PadAppend(kMessagePadBlockSize, plaintext);

  const EncodingAesKey& key = keys_[key_index];
  std::string ciphertext;
  absl::Status status =
      AesCbcEncryptNoPadding(key.key(), key.iv(), plaintext, ciphertext);
  if (!status.ok()) {
    return WxError(absl::StatusCode::kInternal, WxErrorCode::kEncryptAesError,
                   reason::kEncryptFailed, status.message());
  }
  return Base64Encode(ciphertext);
}

}  // namespace wxcrypto
