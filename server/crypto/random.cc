#include "server/crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wxcrypto {
namespace {

// Each RAND_bytes call costs about a microsecond under OpenSSL 3 whatever
// its size (the DRBG re-keys around every request), as much as encrypting
// a 300-byte reply (bench/NOTES.md, "Random prefixes"). Small requests (the
// 16-byte prefix of every reply, nonces) are therefore served from a
// per-thread pool of CSPRNG output refilled kPoolSize bytes at a time. Every
// byte is handed out once and wiped from the pool as it is; the pool is
// wiped when its thread exits; and a forked child never reuses its parent's
// pool (see g_fork_generation), so two processes cannot hand out the same
// bytes.
constexpr std::size_t kPoolSize = 512;
// Larger requests go to RAND_bytes directly.
constexpr std::size_t kMaxPooledRequest = 64;

// Incremented in the child on every fork(); a pool filled under another
// generation is discarded.
std::atomic<std::uint64_t> g_fork_generation{0};

void CountFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct Pool {
  std::uint8_t bytes[kPoolSize];
  std::size_t used = kPoolSize;  // Empty until the first refill.
  std::uint64_t generation = 0;

  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { OPENSSL_cleanse(bytes, sizeof(bytes)); }
};

// Fills `out` with `size` <= kMaxPooledRequest bytes of the pool; false if
// the CSPRNG fails.
bool TakeFromPool(std::uint8_t* out, std::size_t size) {
  static const bool kForkHandlerInstalled =
      pthread_atfork(nullptr, nullptr, CountFork) == 0;
  thread_local Pool pool;
  const std::uint64_t generation =
      g_fork_generation.load(std::memory_order_relaxed);
  if (!kForkHandlerInstalled || pool.generation != generation) {
    // Inherited from the parent (or fork handling unavailable): never use.
    OPENSSL_cleanse(pool.bytes, sizeof(pool.bytes));
    pool.used = kPoolSize;
    pool.generation = generation;
    if (!kForkHandlerInstalled) return RAND_bytes(out, size) == 1;
  }
  if (kPoolSize - pool.used < size) {
    if (RAND_bytes(pool.bytes, kPoolSize) != 1) {
      pool.used = kPoolSize;
      return false;
    }
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, size);
  OPENSSL_cleanse(pool.bytes + pool.used, size);
  pool.used += size;
  return true;
}

}  // namespace

absl::StatusOr<std::string> RandomBytes(std::size_t size) {
  std::string out(size, '\0');
  auto* bytes = reinterpret_cast<std::uint8_t*>(out.data());
  const bool ok =
      size == 0 || (size <= kMaxPooledRequest ? TakeFromPool(bytes, size)
                                              : RAND_bytes(bytes, size) == 1);
  if (!ok) return absl::InternalError("the CSPRNG failed");
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
