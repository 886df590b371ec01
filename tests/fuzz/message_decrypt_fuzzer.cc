// libFuzzer target: MessageCrypt::Decrypt (server/crypto/message_crypt.h)
// with fixed keys, compared against a reference decryption (libcrypto's EVP
// API and a plain re-implementation of the plaintext checks).
//
// Input: byte 0 = mode (bits 0-1) and crypt (bits 2-3), then the payload.
//   mode 0      payload is raw ciphertext; it is base64-encoded and decrypted.
//   mode 1, 3   payload is the base64 `Encrypt` text itself.
//   mode 2      payload describes a plaintext, which is encrypted with raw
//               AES so that length-field, receive-id and padding mutations
//               reach the checks behind the cipher:
//                 flags (1)          bit 0: encrypt with the crypt's second
//                                    key; bit 1: raw length field; bit 2:
//                                    raw receive id; bit 3: raw padding
//                 random prefix (16)
//                 length field (4)   only with bit 1; else the true length
//                 message length (2, BE), message
//                 receive id length (1), receive id   only with bit 2
//                 padding (the rest) only with bit 3; else PKCS#7 to 32,
//                                    and the rest is ignored
//               The plaintext is filled up to a multiple of 16 bytes with
//               its last byte.
//
// Checked: Decrypt returns exactly what the reference says (message and key
// index, or the error of the furthest stage any key reached, with its
// WeChat code and reason); whatever decrypts re-encrypts, with the same
// prefix and key, to the same ciphertext; every message round-trips through
// EncryptWithRandomPrefix.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

constexpr absl::string_view kOfficialKey =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kDocKey =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr absl::string_view kCorpKey =
    "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj";

// A MessageCrypt under test and what the reference needs to know about it.
struct CryptUnderTest {
  // The crypt's keys, then (for one-key crypts) a key it does not have, so
  // that mode 2 can encrypt with a foreign key.
  std::vector<absl::string_view> key_texts;
  std::size_t crypt_keys;
  std::string receive_id;
  std::vector<std::string> raw_keys;  // reference-decoded, per key_texts
  std::optional<MessageCrypt> crypt;
};

CryptUnderTest MakeCrypt(std::vector<absl::string_view> key_texts,
                         std::size_t crypt_keys, absl::string_view receive_id) {
  CryptUnderTest c;
  c.key_texts = std::move(key_texts);
  c.crypt_keys = crypt_keys;
  c.receive_id = std::string(receive_id);
  for (absl::string_view text : c.key_texts) {
    std::optional<std::string> raw =
        ReferenceBase64Decode(absl::StrCat(text, "="));
    FUZZ_CHECK(raw.has_value() && raw->size() == 32);
    c.raw_keys.push_back(*raw);
  }
  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create(
      absl::MakeConstSpan(c.key_texts.data(), crypt_keys), receive_id);
  FUZZ_CHECK_MSG(crypt.ok(), StatusText(crypt.status()));
  c.crypt.emplace(*std::move(crypt));
  FUZZ_CHECK(c.crypt->key_count() == crypt_keys);
  return c;
}

// The four crypts byte 0 selects: the official sample's and the mini program
// documentation's receive ids (so that the published vectors decrypt), WxJava's
// with one key, and WeCom's empty receive id.
const std::vector<CryptUnderTest>& Crypts() {
  static const auto* const crypts = new std::vector<CryptUnderTest>{
      MakeCrypt({kOfficialKey, kDocKey}, 2, "wx2c2769f8efd9abc2"),
      MakeCrypt({kDocKey, kOfficialKey}, 2, "wxba5fad812f8e6fb9"),
      MakeCrypt({kOfficialKey, kCorpKey}, 1, "wxb11529c136998cb6"),
      MakeCrypt({kCorpKey, kDocKey}, 2, ""),
  };
  return *crypts;
}

// Consumes the input front to back; short reads return what is left.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}
  absl::string_view Take(std::size_t n) {
    const absl::string_view out = data_.substr(0, n);
    data_.remove_prefix(out.size());
    return out;
  }
  std::uint64_t TakeBigEndian(std::size_t n) {
    const absl::string_view bytes = Take(n);
    return ReadBigEndian(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                         bytes.size());
  }
  absl::string_view Rest() { return Take(data_.size()); }

 private:
  absl::string_view data_;
};

// Decrypts `encrypt` and checks the outcome against the reference.
void CheckDecrypt(const CryptUnderTest& c, absl::string_view encrypt) {
  const absl::StatusOr<DecryptedMessage> got = c.crypt->Decrypt(encrypt);

  const std::optional<std::string> ciphertext = ReferenceBase64Decode(encrypt);
  if (!ciphertext.has_value()) {
    FUZZ_CHECK(!got.ok());
    CheckError(got.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kDecodeBase64Error, reason::kBase64Invalid);
    return;
  }
  if (ciphertext->empty() || ciphertext->size() % 16 != 0) {
    FUZZ_CHECK(!got.ok());
    CheckError(got.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kDecryptAesError, reason::kDecryptFailed);
    return;
  }

  MessageStage furthest = MessageStage::kCipher;
  for (std::size_t i = 0; i < c.crypt_keys; ++i) {
    const std::string plaintext = ReferenceAesCbcDecrypt(
        c.raw_keys[i], absl::string_view(c.raw_keys[i]).substr(0, 16),
        *ciphertext);
    ReferenceMessage expected = ReferenceParseMessage(plaintext, c.receive_id);
    if (expected.stage == MessageStage::kOk) {
      FUZZ_CHECK_MSG(got.ok(), StatusText(got.status()));
      FUZZ_CHECK(got->key_index == i);
      FUZZ_CHECK(got->message == expected.message);
      // The same prefix, message and key give back the same ciphertext
      // when the padding is the one WXBizMsgCrypt writes (to a multiple of
      // 32 bytes; for a valid pad that is the same as a plaintext of a
      // multiple of 32 bytes). Decrypt also accepts a valid pad that ends on
      // an odd 16-byte block (documented: pad value 1..32, every byte
      // checked), e.g. 48 bytes ending in 6 bytes of 6.
      if (plaintext.size() % 32 == 0) {
        absl::StatusOr<std::string> again = c.crypt->EncryptWithRandomPrefix(
            got->message, absl::string_view(plaintext).substr(0, 16), i);
        FUZZ_CHECK_MSG(again.ok(), StatusText(again.status()));
        FUZZ_CHECK(*again == Base64Encode(*ciphertext));
      }
      return;
    }
    furthest = std::max(furthest, expected.stage);
  }
  FUZZ_CHECK(!got.ok());
  switch (furthest) {
    case MessageStage::kCipher:
      CheckError(got.status(), absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kDecryptAesError, reason::kDecryptFailed);
      break;
    case MessageStage::kLength:
      CheckError(got.status(), absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalBuffer, reason::kBufferInvalid);
      break;
    case MessageStage::kReceiveId:
      CheckError(got.status(), absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kValidateReceiveIdError,
                 reason::kReceiveIdMismatch);
      break;
    case MessageStage::kOk:
      FUZZ_CHECK(false);
  }
}

// Mode 2: builds a plaintext from the payload, encrypts it with raw AES and
// checks Decrypt; also round-trips the message through the crypt's Encrypt.
void CheckStructured(const CryptUnderTest& c, absl::string_view payload) {
  Reader in(payload);
  const std::uint64_t flags = in.TakeBigEndian(1);
  const std::size_t key = flags & 1;
  std::string plaintext(in.Take(16));
  plaintext.resize(16, '\0');
  const absl::string_view raw_length = in.Take((flags & 2) != 0 ? 4 : 0);
  const absl::string_view message = in.Take(in.TakeBigEndian(2));
  const absl::string_view receive_id = (flags & 4) != 0
                                           ? in.Take(in.TakeBigEndian(1))
                                           : absl::string_view(c.receive_id);
  const std::string prefix = plaintext;

  if ((flags & 2) != 0) {
    plaintext.append(raw_length.data(), raw_length.size());
    plaintext.resize(20, '\0');
  } else {
    const auto length = static_cast<std::uint32_t>(message.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      plaintext.push_back(static_cast<char>((length >> shift) & 0xff));
    }
  }
  plaintext.append(message.data(), message.size());
  plaintext.append(receive_id.data(), receive_id.size());
  if ((flags & 8) != 0) {
    const absl::string_view padding = in.Rest();
    plaintext.append(padding.data(), padding.size());
  } else {
    const std::size_t pad = 32 - plaintext.size() % 32;
    plaintext.append(pad, static_cast<char>(pad));
  }
  plaintext.resize((plaintext.size() + 15) / 16 * 16, plaintext.back());

  const std::string ciphertext = ReferenceAesCbcEncrypt(
      c.raw_keys[key], absl::string_view(c.raw_keys[key]).substr(0, 16),
      plaintext);
  CheckDecrypt(c, Base64Encode(ciphertext));

  // The crypt's own Encrypt with the same prefix: decrypts to the message
  // with the key that encrypted it.
  absl::StatusOr<std::string> encrypted =
      c.crypt->EncryptWithRandomPrefix(message, prefix, key);
  if (key >= c.crypt_keys) {
    FUZZ_CHECK(!encrypted.ok());
    CheckError(encrypted.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kIllegalAesKey, reason::kKeyIndexInvalid);
    return;
  }
  FUZZ_CHECK_MSG(encrypted.ok(), StatusText(encrypted.status()));
  absl::StatusOr<DecryptedMessage> decrypted = c.crypt->Decrypt(*encrypted);
  FUZZ_CHECK_MSG(decrypted.ok(), StatusText(decrypted.status()));
  FUZZ_CHECK(decrypted->message == message);
  FUZZ_CHECK(decrypted->key_index == key);
  if ((flags & 0xe) == 0) FUZZ_CHECK(*encrypted == Base64Encode(ciphertext));
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto;        // NOLINT(build/namespaces)
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  if (size == 0) return 0;
  const CryptUnderTest& crypt = Crypts()[(data[0] >> 2) & 3];
  const absl::string_view payload(reinterpret_cast<const char*>(data) + 1,
                                  size - 1);
  switch (data[0] & 3) {
    case 0:
      CheckDecrypt(crypt, Base64Encode(payload));
      break;
    case 2:
      CheckStructured(crypt, payload);
      break;
    default:
      CheckDecrypt(crypt, payload);
      break;
  }
  return 0;
}
