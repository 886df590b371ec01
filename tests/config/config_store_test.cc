#include "server/config/config_store.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/config/demo_config.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::testing::IsNull;
using ::testing::NotNull;

std::shared_ptr<const Config> DemoConfig() {
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(DemoConfigJson());
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

TEST(ConfigStoreTest, StartsEmpty) {
  ConfigStore store;
  EXPECT_THAT(store.Get(), IsNull());
  EXPECT_EQ(store.generation(), 0);
}

TEST(ConfigStoreTest, InitialConfigIsGenerationOne) {
  std::shared_ptr<const Config> config = DemoConfig();
  ConfigStore store(config);
  EXPECT_EQ(store.Get(), config);
  EXPECT_EQ(store.generation(), 1);
}

TEST(ConfigStoreTest, SetReplacesConfigAndIncrementsGeneration) {
  std::shared_ptr<const Config> first = DemoConfig();
  std::shared_ptr<const Config> second = DemoConfig();
  ConfigStore store(first);
  store.Set(second);
  EXPECT_EQ(store.Get(), second);
  EXPECT_EQ(store.generation(), 2);
}

TEST(ConfigStoreTest, ReaderKeepsItsConfigAcrossSet) {
  ConfigStore store(DemoConfig());
  std::shared_ptr<const Config> held = store.Get();
  std::weak_ptr<const Config> watch = held;
  store.Set(DemoConfig());
  ASSERT_FALSE(watch.expired());
  EXPECT_THAT(held->FindApp("wxba5fad812f8e6fb9"), NotNull());
  held.reset();
  // The store no longer references the replaced config: it is freed with
  // its last reader.
  EXPECT_TRUE(watch.expired());
}

TEST(ConfigStoreTest, ConcurrentReadersAlwaysSeeACompleteConfig) {
  const std::shared_ptr<const Config> a = DemoConfig();
  const std::shared_ptr<const Config> b = DemoConfig();
  ConfigStore store(a);
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      std::uint64_t last_generation = 0;
      while (!done.load()) {
        const std::uint64_t generation = store.generation();
        std::shared_ptr<const Config> config = store.Get();
        if (generation < last_generation || config == nullptr ||
            (config != a && config != b) ||
            config->FindApp("wx2c2769f8efd9abc2") == nullptr) {
          bad_reads.fetch_add(1);
        }
        last_generation = generation;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) store.Set(i % 2 == 0 ? b : a);
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(store.generation(), 2001);
}

}  // namespace
}  // namespace wxcrypto
