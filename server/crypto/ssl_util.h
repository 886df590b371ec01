// The thin layer over the libcrypto subset that BoringSSL and OpenSSL 3 share.
//
// One RAII type per libcrypto object, and accessors for the algorithms the
// core uses. Under OpenSSL 3 the algorithms are fetched once
// (EVP_CIPHER_fetch / EVP_MD_fetch) and kept for the life of the process, so
// no call pays for an implicit fetch; under BoringSSL the static EVP_*
// objects are used directly.
#ifndef WXCRYPTO_SERVER_CRYPTO_SSL_UTIL_H_
#define WXCRYPTO_SERVER_CRYPTO_SSL_UTIL_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>

namespace wxcrypto {
namespace internal {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Returns AES-CBC for a 16, 24 or 32-byte key, or nullptr for any other
// length. Thread-safe; the result lives for the whole process.
const EVP_CIPHER* AesCbcCipher(std::size_t key_size);

// Returns SHA-1. Thread-safe; the result lives for the whole process.
const EVP_MD* Sha1Digest();

}  // namespace internal

// Returns "openssl" or "boringssl": the provider this binary was built with.
const char* CryptoProviderName();

// Returns the provider's version text, e.g. "OpenSSL 3.0.19 ...".
std::string CryptoProviderVersion();

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_SSL_UTIL_H_
