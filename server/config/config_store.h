// The config currently in force, swapped atomically on reload.
#ifndef WXCRYPTO_SERVER_CONFIG_CONFIG_STORE_H_
#define WXCRYPTO_SERVER_CONFIG_CONFIG_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "server/config/config.h"

namespace wxcrypto {

// Holds the current std::shared_ptr<const Config> and a generation counter
// that counts successful loads. Thread-safe: any number of readers and
// writers. A request takes one snapshot with Get() and uses it throughout,
// so a concurrent reload never changes the apps under it; the old Config is
// freed (and its secrets wiped) when its last reader lets go.
class ConfigStore {
 public:
  // Starts empty: Get() returns nullptr and generation() 0.
  ConfigStore() = default;
  // Starts with `initial` (if non-null) as generation 1.
  explicit ConfigStore(std::shared_ptr<const Config> initial);

  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  // Returns the current config, or nullptr before the first Set().
  std::shared_ptr<const Config> Get() const;

  // Returns the number of configs stored so far. Set() stores the config
  // before it bumps the generation, so a reader that sees generation n then
  // calls Get() sees config n or a later one.
  std::uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Makes `config` current and increments the generation. `config` must not
  // be null.
  void Set(std::shared_ptr<const Config> config);

 private:
  // Accessed only through std::atomic_load / std::atomic_store.
  std::shared_ptr<const Config> config_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CONFIG_CONFIG_STORE_H_
