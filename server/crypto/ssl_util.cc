#include "server/crypto/ssl_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstddef>
#include <string>

namespace wxcrypto {
namespace internal {
namespace {

#if defined(OPENSSL_IS_BORINGSSL)

const EVP_CIPHER* FetchCipher(const char* /*name*/, const EVP_CIPHER* legacy) {
  return legacy;
}
const EVP_MD* FetchDigest(const char* /*name*/, const EVP_MD* legacy) {
  return legacy;
}

#else

// Explicit fetches are cached here for the life of the process; they are
// never freed on purpose (they are shared, immutable and thread-safe).
const EVP_CIPHER* FetchCipher(const char* name, const EVP_CIPHER* /*legacy*/) {
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}
const EVP_MD* FetchDigest(const char* name, const EVP_MD* /*legacy*/) {
  return EVP_MD_fetch(nullptr, name, nullptr);
}

#endif

}  // namespace

const EVP_CIPHER* AesCbcCipher(std::size_t key_size) {
  static const EVP_CIPHER* const kAes128 =
      FetchCipher("AES-128-CBC", EVP_aes_128_cbc());
  static const EVP_CIPHER* const kAes192 =
      FetchCipher("AES-192-CBC", EVP_aes_192_cbc());
  static const EVP_CIPHER* const kAes256 =
      FetchCipher("AES-256-CBC", EVP_aes_256_cbc());
  switch (key_size) {
    case 16:
      return kAes128;
    case 24:
      return kAes192;
    case 32:
      return kAes256;
    default:
      return nullptr;
  }
}

const EVP_MD* Sha1Digest() {
  static const EVP_MD* const kSha1 = FetchDigest("SHA1", EVP_sha1());
  return kSha1;
}

}  // namespace internal

const char* CryptoProviderName() {
#if defined(OPENSSL_IS_BORINGSSL)
  return "boringssl";
#else
  return "openssl";
#endif
}

std::string CryptoProviderVersion() {
#if defined(OPENSSL_IS_BORINGSSL)
  return "BoringSSL";
#else
  return OpenSSL_version(OPENSSL_VERSION);
#endif
}

}  // namespace wxcrypto
