#include "server/crypto/aes_cbc.h"

#include <openssl/evp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/ssl_util.h"

namespace wxcrypto {
namespace {

std::atomic<std::uint64_t> g_aes_operations{0};

// All-ones if a < b, zero otherwise, without branching on the values.
std::size_t ConstantTimeLessThan(std::size_t a, std::size_t b) {
  // The top bit of (a ^ ((a ^ b) | ((a - b) ^ a))) is set iff a < b
  // (BoringSSL's constant_time_lt_w).
  std::size_t lt = a ^ ((a ^ b) | ((a - b) ^ a));
  return static_cast<std::size_t>(0) - (lt >> (sizeof(std::size_t) * 8 - 1));
}

std::size_t ConstantTimeIsZero(std::size_t a) {
  return static_cast<std::size_t>(0) -
         ((~a & (a - 1)) >> (sizeof(std::size_t) * 8 - 1));
}

std::size_t ConstantTimeEquals(std::size_t a, std::size_t b) {
  return ConstantTimeIsZero(a ^ b);
}

// Returns this thread's context for AES-CBC with `key_size`-byte keys
// (`cipher`), bound to the cipher and with padding off, or nullptr if it
// cannot be created. Binding a cipher is done once per thread: passing the
// cipher to EVP_CipherInit_ex on every call makes OpenSSL 3 free and
// allocate its provider context each time (bench/NOTES.md, "AES contexts").
// The contexts keep the last key schedule until the thread exits, as the
// single per-thread context before them did.
EVP_CIPHER_CTX* ThreadContext(std::size_t key_size, const EVP_CIPHER* cipher) {
  thread_local internal::CipherCtxPtr contexts[3];  // 16-, 24-, 32-byte keys.
  internal::CipherCtxPtr& ctx = contexts[(key_size - 16) / 8];
  if (ctx == nullptr) {
    internal::CipherCtxPtr fresh(EVP_CIPHER_CTX_new());
    if (fresh == nullptr ||
        EVP_CipherInit_ex(fresh.get(), cipher, nullptr, nullptr, nullptr, 1) !=
            1 ||
        EVP_CIPHER_CTX_set_padding(fresh.get(), 0) != 1) {
      return nullptr;
    }
    ctx = std::move(fresh);
  }
  return ctx.get();
}

absl::Status RunCbc(bool encrypt, absl::string_view key, absl::string_view iv,
                    absl::string_view data, std::string& out) {
  const EVP_CIPHER* cipher = internal::AesCbcCipher(key.size());
  if (cipher == nullptr) {
    return absl::InvalidArgumentError("AES key must be 16, 24 or 32 bytes");
  }
  if (iv.size() != kAesBlockSize) {
    return absl::InvalidArgumentError("AES-CBC IV must be 16 bytes");
  }
  if (data.size() % kAesBlockSize != 0) {
    return absl::InvalidArgumentError(
        "AES-CBC input must be a multiple of 16 bytes");
  }
  if (data.size() > static_cast<std::size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("AES-CBC input too large");
  }
  g_aes_operations.fetch_add(1, std::memory_order_relaxed);
  out.resize(data.size());
  if (data.empty()) return absl::OkStatus();

  EVP_CIPHER_CTX* ctx = ThreadContext(key.size(), cipher);
  if (ctx == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  // Only the key, IV and direction change: the context keeps its cipher,
  // its provider state and padding off (a padding block would show up as a
  // length mismatch below, never as wrong output).
  const auto* key_bytes = reinterpret_cast<const std::uint8_t*>(key.data());
  const auto* iv_bytes = reinterpret_cast<const std::uint8_t*>(iv.data());
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, key_bytes, iv_bytes,
                        encrypt ? 1 : 0) != 1) {
    return absl::InternalError("AES-CBC initialisation failed");
  }
  auto* out_bytes = reinterpret_cast<std::uint8_t*>(out.data());
  int len = 0;
  if (EVP_CipherUpdate(ctx, out_bytes, &len,
                       reinterpret_cast<const std::uint8_t*>(data.data()),
                       static_cast<int>(data.size())) != 1) {
    return absl::InternalError("AES-CBC update failed");
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx, out_bytes + len, &final_len) != 1 ||
      static_cast<std::size_t>(len + final_len) != data.size()) {
    return absl::InternalError("AES-CBC final failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AesCbcEncryptNoPadding(absl::string_view key, absl::string_view iv,
                                    absl::string_view data, std::string& out) {
  return RunCbc(/*encrypt=*/true, key, iv, data, out);
}

absl::Status AesCbcDecryptNoPadding(absl::string_view key, absl::string_view iv,
                                    absl::string_view data, std::string& out) {
  if (data.empty()) {
    return absl::InvalidArgumentError("AES-CBC ciphertext is empty");
  }
  return RunCbc(/*encrypt=*/false, key, iv, data, out);
}

std::uint64_t AesCbcOperationCount() {
  return g_aes_operations.load(std::memory_order_relaxed);
}

void Pkcs7PadAppend(std::size_t block_size, std::string& data) {
  const std::size_t pad = block_size - (data.size() % block_size);
  data.append(pad, static_cast<char>(pad));
}

Pkcs7Check Pkcs7CheckConstantTime(absl::string_view data,
                                  std::size_t block_size) {
  const std::size_t size = data.size();
  if (size == 0) return Pkcs7Check{0, 0};
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  const std::size_t pad = bytes[size - 1];

  // 1 <= pad <= block_size and pad <= size.
  std::size_t good = ~ConstantTimeIsZero(pad);
  good &= ~ConstantTimeLessThan(block_size, pad);
  good &= ~ConstantTimeLessThan(size, pad);

  // Every byte of the last min(size, block_size) that lies inside the pad
  // must equal pad. The loop bound depends only on public lengths.
  const std::size_t window = size < block_size ? size : block_size;
  for (std::size_t i = 0; i < window; ++i) {
    const std::size_t in_pad = ConstantTimeLessThan(i, pad);
    const std::size_t matches = ConstantTimeEquals(bytes[size - 1 - i], pad);
    good &= ~in_pad | matches;
  }
  const std::size_t unpadded = size - (pad & good);
  return Pkcs7Check{unpadded, good};
}

absl::StatusOr<std::string> AesCbcPkcs7Encrypt(absl::string_view key,
                                               absl::string_view iv,
                                               absl::string_view plaintext) {
  std::string padded(plaintext);
  Pkcs7PadAppend(kAesBlockSize, padded);
  std::string out;
  absl::Status status = AesCbcEncryptNoPadding(key, iv, padded, out);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> AesCbcPkcs7Decrypt(absl::string_view key,
                                               absl::string_view iv,
                                               absl::string_view ciphertext) {
  std::string out;
  absl::Status status = AesCbcDecryptNoPadding(key, iv, ciphertext, out);
  if (!status.ok()) return status;
  const Pkcs7Check check = Pkcs7CheckConstantTime(out, kAesBlockSize);
  if (check.valid_mask == 0) {
    return absl::InvalidArgumentError("AES-CBC padding is invalid");
  }
  out.resize(check.unpadded_size);
  return out;
}

}  // namespace wxcrypto
