// The server's validated, immutable config: the apps it serves, each with its
// token, mode, timestamp window and a ready MessageCrypt.
//
// The file format is wxcrypto.v1.Config (proto/wxcrypto/v1/config.proto) in
// protobuf's JSON mapping, unknown fields rejected. Loading validates
// everything up front, so a Config that exists is usable as is; validation
// errors name the app (index and app_id) and the field, never the value of a
// token or key. The JSON text and the parsed proto hold secrets and are
// wiped after use (best effort: protobuf's JSON parser keeps transient
// copies it does not wipe).
#ifndef WXCRYPTO_SERVER_CONFIG_CONFIG_H_
#define WXCRYPTO_SERVER_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {

// Longest app_id accepted. AppIDs are 18 characters and WeCom CorpIDs 18;
// the bound only keeps logs and metric labels sane.
inline constexpr std::size_t kMaxAppIdSize = 64;
// Longest receive_id accepted (same reasoning as kMaxAppIdSize).
inline constexpr std::size_t kMaxReceiveIdSize = 128;
// Token length bounds: the WeChat admin console requires 3 to 32 letters or
// digits.
inline constexpr std::size_t kMinTokenSize = 3;
inline constexpr std::size_t kMaxTokenSize = 32;
// Most previous EncodingAESKeys per app. Each one is a trial decryption on a
// push that no newer key opens, so the list must stay short.
inline constexpr std::size_t kMaxPreviousKeys = 8;
// Largest config file read. Far above any real config (about 300 bytes per
// app).
inline constexpr std::size_t kMaxConfigFileSize = 4 << 20;

// How an app receives pushes. Values match wxcrypto.v1.Mode; the config's
// MODE_UNSPECIFIED becomes kSecure.
enum class AppMode { kSecure = 1, kCompatible = 2, kPlaintext = 3 };

// Returns "SECURE", "COMPATIBLE" or "PLAINTEXT".
absl::string_view AppModeName(AppMode mode);

// One configured app. Immutable; thread-safe.
class App {
 public:
  App(App&&) = default;
  App& operator=(App&&) = default;

  // The name requests use for the app. Not secret.
  const std::string& app_id() const { return app_id_; }
  // The receive id inside encrypted messages (may be empty).
  const std::string& receive_id() const { return receive_id_; }
  // The signature token. Secret: never log it.
  absl::string_view token() const { return SecretDataAsStringView(token_); }
  AppMode mode() const { return mode_; }
  // Returns true if plaintext pushes are accepted (every mode but kSecure).
  bool AcceptsPlaintext() const { return mode_ != AppMode::kSecure; }
  // Largest accepted |now - timestamp| in seconds; 0 = no check.
  std::int64_t max_timestamp_skew_seconds() const {
    return max_timestamp_skew_seconds_;
  }
  // The app's MessageCrypt (current key first, then previous keys), or
  // nullptr for a kPlaintext app configured without a key.
  const MessageCrypt* message_crypt() const {
    return message_crypt_.has_value() ? &*message_crypt_ : nullptr;
  }

 private:
  friend class Config;
  App(std::string app_id, std::string receive_id, SecretData token,
      AppMode mode, std::int64_t max_timestamp_skew_seconds,
      std::optional<MessageCrypt> message_crypt)
      : app_id_(std::move(app_id)),
        receive_id_(std::move(receive_id)),
        token_(std::move(token)),
        mode_(mode),
        max_timestamp_skew_seconds_(max_timestamp_skew_seconds),
        message_crypt_(std::move(message_crypt)) {}

  std::string app_id_;
  std::string receive_id_;
  SecretData token_;
  AppMode mode_;
  std::int64_t max_timestamp_skew_seconds_;
  std::optional<MessageCrypt> message_crypt_;
};

// A validated set of apps. Immutable after creation; thread-safe. Shared as
// std::shared_ptr<const Config> so that a reload never pulls a config from
// under a request that is using it.
class Config {
 public:
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // Parses and validates the JSON text of a wxcrypto.v1.Config. The caller
  // owns `json` and should wipe it afterwards; the parsed copies are wiped
  // here. Errors: InvalidArgument naming the app and field (the
  // encoding_aes_key errors keep MessageCrypt's -40004 / AES_KEY_INVALID
  // payloads); never contains a token or key.
  static absl::StatusOr<std::shared_ptr<const Config>> FromJson(
      absl::string_view json);

  // Reads `path` (following symlinks, at most kMaxConfigFileSize bytes) into
  // wiping memory and calls FromJson. I/O errors carry errno's canonical code
  // and name the path.
  static absl::StatusOr<std::shared_ptr<const Config>> FromFile(
      const std::string& path);

  // Returns the app named `app_id`, or nullptr. The pointer lives as long as
  // this Config.
  const App* FindApp(absl::string_view app_id) const;

  std::size_t app_count() const { return apps_.size(); }

  // Returns the app ids, sorted (for logs and metric labels; not secret).
  std::vector<std::string> app_ids() const;

 private:
  explicit Config(absl::flat_hash_map<std::string, App> apps)
      : apps_(std::move(apps)) {}

  absl::flat_hash_map<std::string, App> apps_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CONFIG_CONFIG_H_
