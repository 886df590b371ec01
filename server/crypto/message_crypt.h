// WeChat message crypt: the one algorithm behind encrypted pushes and
// replies of official accounts, mini programs, WeCom and the open platform.
//
// EncodingAESKey: 43 characters of base64; base64(EncodingAESKey + "=") is the
// 32-byte AES-256 key, and the IV is the key's first 16 bytes.
//
// Plaintext, before PKCS#7 padding to 32-byte blocks:
//
//   +----------------+-------------------+-----------+------------+
//   | random (16)    | length (4, BE)    | message   | receive_id |
//   +----------------+-------------------+-----------+------------+
//
// `length` is the message's byte count as a big-endian uint32. `receive_id`
// is the app id (official accounts, mini programs), the corp id or suite id
// (WeCom) or the component app id (open platform). The wire form (`Encrypt`)
// is base64 of the AES-256-CBC ciphertext.
//
// Decryption is strict where the official samples are lenient: the
// ciphertext must be a non-empty multiple of 16 bytes, the pad value 1..32
// with every pad byte checked, the length field within the plaintext, and the
// receive id equal to the configured one.
#ifndef WXCRYPTO_SERVER_CRYPTO_MESSAGE_CRYPT_H_
#define WXCRYPTO_SERVER_CRYPTO_MESSAGE_CRYPT_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {

// Length of an EncodingAESKey, in base64 characters.
inline constexpr std::size_t kEncodingAesKeySize = 43;
// Length of the random prefix of the plaintext.
inline constexpr std::size_t kRandomPrefixSize = 16;
// WXBizMsgCrypt pads to 32-byte blocks.
inline constexpr std::size_t kMessagePadBlockSize = 32;
// Upper bound on a message. A push is far smaller; WeChat rejects replies
// above a few KB. Bounding it keeps every buffer bounded.
inline constexpr std::size_t kMaxMessageSize = 4 << 20;

// An AES-256 key parsed from an EncodingAESKey. Immutable, thread-safe.
class EncodingAesKey {
 public:
  // Parses a 43-character EncodingAESKey. Fails with InvalidArgument,
  // -40004 / AES_KEY_INVALID, naming only the problem, never the value.
  static absl::StatusOr<EncodingAesKey> Parse(absl::string_view encoding_aes_key);

  // The 32-byte AES key.
  absl::string_view key() const { return SecretDataAsStringView(key_); }
  // The IV: the key's first 16 bytes.
  absl::string_view iv() const { return key().substr(0, 16); }

 private:
  explicit EncodingAesKey(SecretData key) : key_(std::move(key)) {}
  SecretData key_;
};

// A decrypted message and which key opened it.
struct DecryptedMessage {
  std::string message;
  // 0 for the current key, n for the n-th previous key.
  std::size_t key_index = 0;
};

// Encrypts and decrypts messages for one receive id with the current
// EncodingAESKey and any number of previous ones (key rotation: WeChat's FAQ
// requires replies to be encrypted with the key that opened the push).
// Immutable after Create; thread-safe.
class MessageCrypt {
 public:
  // `keys[0]` is the current EncodingAESKey, `keys[n]` the n-th previous one.
  // `receive_id` may be empty (WeCom's third-party apps of individual
  // subjects sign with an empty one).
  static absl::StatusOr<MessageCrypt> Create(
      absl::Span<const absl::string_view> encoding_aes_keys,
      absl::string_view receive_id);

  // Decrypts the base64 `Encrypt` value. Tries the current key, then each
  // previous key, and reports which one succeeded. Errors (all
  // InvalidArgument): -40010 BASE64_INVALID, -40007 DECRYPT_FAILED (bad
  // length or padding), -40008 BUFFER_INVALID (length field), -40005
  // RECEIVE_ID_MISMATCH.
  absl::StatusOr<DecryptedMessage> Decrypt(absl::string_view encrypt) const;

  // Encrypts `message` with key `key_index` and a random prefix from the
  // CSPRNG; returns the base64 `Encrypt` value.
  absl::StatusOr<std::string> Encrypt(absl::string_view message,
                                      std::size_t key_index = 0) const;

  // As Encrypt, with a caller-chosen 16-byte prefix: reproduces published
  // vectors. Never use it for real replies.
  absl::StatusOr<std::string> EncryptWithRandomPrefix(
      absl::string_view message, absl::string_view random_prefix,
      std::size_t key_index = 0) const;

  // Number of keys: 1 + the number of previous keys.
  std::size_t key_count() const { return keys_.size(); }
  const std::string& receive_id() const { return receive_id_; }

 private:
  MessageCrypt(std::vector<EncodingAesKey> keys, std::string receive_id)
      : keys_(std::move(keys)), receive_id_(std::move(receive_id)) {}

  std::vector<EncodingAesKey> keys_;
  std::string receive_id_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_MESSAGE_CRYPT_H_
