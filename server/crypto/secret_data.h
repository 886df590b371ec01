// Containers for key material that wipe their memory when released.
//
// Keys, tokens and session keys live in SecretData, a byte vector whose
// allocator overwrites every buffer with OPENSSL_cleanse before freeing it
// (the pattern of tink-cc's util/secret_data.h). A vector is used rather than
// a string so that no short-string buffer inside the object escapes wiping.
#ifndef WXCRYPTO_SERVER_CRYPTO_SECRET_DATA_H_
#define WXCRYPTO_SERVER_CRYPTO_SECRET_DATA_H_

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"

namespace wxcrypto {

// An allocator that wipes memory before it returns it to the heap.
template <typename T>
struct SanitizingAllocator {
  using value_type = T;

  SanitizingAllocator() = default;
  template <typename U>
  explicit SanitizingAllocator(const SanitizingAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* ptr, std::size_t n) noexcept {
    OPENSSL_cleanse(ptr, n * sizeof(T));
    std::allocator<T>().deallocate(ptr, n);
  }

  template <typename U>
  bool operator==(const SanitizingAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const SanitizingAllocator<U>&) const noexcept {
    return false;
  }
};

// Bytes that are wiped when the container releases them. Not thread-safe
// beyond the guarantees of std::vector.
using SecretData = std::vector<std::uint8_t, SanitizingAllocator<std::uint8_t>>;

// Returns a SecretData holding a copy of `bytes`.
inline SecretData SecretDataFromStringView(absl::string_view bytes) {
  return SecretData(bytes.begin(), bytes.end());
}

// Returns a view of `secret`'s bytes, valid while `secret` is unchanged.
inline absl::string_view SecretDataAsStringView(const SecretData& secret) {
  return absl::string_view(reinterpret_cast<const char*>(secret.data()),
                           secret.size());
}

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_SECRET_DATA_H_
