#include "server/config/config_store.h"

#include <atomic>
#include <memory>
#include <utility>

namespace wxcrypto {

ConfigStore::ConfigStore(std::shared_ptr<const Config> initial) {
  if (initial != nullptr) Set(std::move(initial));
}

std::shared_ptr<const Config> ConfigStore::Get() const {
  return std::atomic_load_explicit(&config_, std::memory_order_acquire);
}

void ConfigStore::Set(std::shared_ptr<const Config> config) {
  std::atomic_store_explicit(&config_, std::move(config),
                             std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace wxcrypto
