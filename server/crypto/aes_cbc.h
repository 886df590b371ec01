// AES-CBC and PKCS#7 padding, the only cipher WeChat uses.
//
// Message crypt pads to 32-byte blocks (WXBizMsgCrypt's PKCS7Encoder uses
// block_size = 32), open data pads to the AES block of 16 bytes. The cipher
// itself always runs without libcrypto padding; padding is added and checked
// here so that both block sizes share one implementation and the check can
// run in constant time.
#ifndef WXCRYPTO_SERVER_CRYPTO_AES_CBC_H_
#define WXCRYPTO_SERVER_CRYPTO_AES_CBC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wxcrypto {

inline constexpr std::size_t kAesBlockSize = 16;

// Encrypts `data` (a multiple of 16 bytes) with AES-CBC and no padding into
// `out` (resized to data.size()). `key` is 16, 24 or 32 bytes, `iv` 16.
// `out` may not alias `data`.
absl::Status AesCbcEncryptNoPadding(absl::string_view key, absl::string_view iv,
                                    absl::string_view data, std::string& out);

// Decrypts `data` (a non-empty multiple of 16 bytes) with AES-CBC and no
// padding into `out` (resized to data.size()). `data` may be `out` itself
// (decryption in place), but may not overlap it otherwise.
absl::Status AesCbcDecryptNoPadding(absl::string_view key, absl::string_view iv,
                                    absl::string_view data, std::string& out);

// Returns how many AES-CBC operations this process has run. Lets tests prove
// that a rejected request did no AES work.
std::uint64_t AesCbcOperationCount();

// Appends PKCS#7 padding for `block_size` (1..255) to `data`: 1..block_size
// bytes, each equal to the count.
void Pkcs7PadAppend(std::size_t block_size, std::string& data);

// The result of a constant-time PKCS#7 check.
struct Pkcs7Check {
  // data.size() minus the pad length when valid, data.size() otherwise.
  std::size_t unpadded_size;
  // All ones when the padding is valid, zero otherwise.
  std::size_t valid_mask;
};

// Checks PKCS#7 padding for `block_size` (1..255) on `data` in time that
// depends only on data.size() and block_size, never on the bytes: the pad
// value must be 1..block_size and at most data.size(), and every pad byte must
// equal it.
Pkcs7Check Pkcs7CheckConstantTime(absl::string_view data,
                                  std::size_t block_size);

// AES-CBC with PKCS#7 padding to 16-byte blocks (PKCS#5), as one call:
// the Wycheproof aes_cbc_pkcs5 vectors exercise exactly this.
absl::StatusOr<std::string> AesCbcPkcs7Encrypt(absl::string_view key,
                                               absl::string_view iv,
                                               absl::string_view plaintext);
absl::StatusOr<std::string> AesCbcPkcs7Decrypt(absl::string_view key,
                                               absl::string_view iv,
                                               absl::string_view ciphertext);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_AES_CBC_H_
