#include "server/crypto/random.h"

#include <openssl/rand.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wxcrypto {

absl::StatusOr<std::string> RandomBytes(std::size_t size) {
  std::string out(size, '\0');
  if (size > 0 &&
      RAND_bytes(reinterpret_cast<std::uint8_t*>(out.data()), size) != 1) {
    return absl::InternalError("the CSPRNG failed");
  }
  return out;
}

absl::StatusOr<std::string> RandomNonce(std::size_t size) {
  std::string nonce;
  nonce.reserve(size);
  while (nonce.size() < size) {
    absl::StatusOr<std::string> bytes = RandomBytes(size);
    if (!bytes.ok()) return bytes.status();
    for (char c : *bytes) {
      const auto value = static_cast<std::uint8_t>(c);
      // Rejection sampling: 250 is the largest multiple of 10 that fits in a
      // byte, so accepted values map to digits without bias.
      if (value < 250 && nonce.size() < size) {
        nonce.push_back(static_cast<char>('0' + value % 10));
      }
    }
  }
  return nonce;
}

}  // namespace wxcrypto
