#include "server/config/config.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/config/file_snapshot.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/secret_data.h"
#include "wxcrypto/v1/config.pb.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::v1::AppConfig;

// The type URL prefix protobuf's own JSON functions use.
constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com";

// Overwrites a string's whole buffer, then empties it.
void WipeString(std::string* s) {
  s->resize(s->capacity());
  OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

// Wipes every secret field of a parsed config.
void WipeConfigProto(v1::Config* config) {
  for (AppConfig& app : *config->mutable_apps()) {
    WipeString(app.mutable_token());
    WipeString(app.mutable_encoding_aes_key());
    for (std::string& key : *app.mutable_previous_encoding_aes_keys()) {
      WipeString(&key);
    }
  }
  config->Clear();
}

// Returns the first line of a JSON parser error with any echoed value
// removed. The parser quotes offending values ("invalid value 123 for type
// TYPE_STRING") and, after a newline, the text around a syntax error; either
// may be a token or key.
std::string SanitizeJsonError(absl::string_view message) {
  constexpr absl::string_view kInvalidValue = "invalid value ";
  constexpr absl::string_view kForType = " for type ";
  std::string out;
  const std::size_t value_pos = message.find(kInvalidValue);
  if (value_pos != absl::string_view::npos) {
    absl::StrAppend(&out, message.substr(0, value_pos), "invalid value");
    const std::size_t type_pos = message.rfind(kForType);
    if (type_pos != absl::string_view::npos &&
        type_pos + 1 >= value_pos + kInvalidValue.size()) {
      absl::StrAppend(&out, message.substr(type_pos));
    }
  } else {
    out = std::string(message);
  }
  out.resize(std::min(out.size(), out.find('\n')));
  return out;
}

// Parses `json` into `config`, wiping the intermediate binary encoding.
absl::Status ParseConfigJson(absl::string_view json, v1::Config* config) {
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          std::string(kTypeUrlPrefix),
          google::protobuf::DescriptorPool::generated_pool());
  const std::string type_url =
      absl::StrCat(kTypeUrlPrefix, "/", v1::Config::descriptor()->full_name());

  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  std::string binary;
  // The binary encoding is shorter than the JSON for any sensible input
  // (every field costs at least its quoted name in JSON). Reserving room
  // avoids reallocations, which would free unwiped copies.
  binary.reserve(json.size() + json.size() / 4 + 64);
  absl::Cleanup wipe_binary = [&binary] { WipeString(&binary); };
  const google::protobuf::util::Status status =
      google::protobuf::util::JsonToBinaryString(
          resolver, type_url,
          google::protobuf::StringPiece(json.data(), json.size()), &binary,
          options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config is not a valid wxcrypto.v1.Config in JSON: ",
                     SanitizeJsonError(status.message().as_string())));
  }
  if (!config->ParseFromString(binary)) {
    return absl::InvalidArgumentError(
        "config is not a valid wxcrypto.v1.Config (strings must be UTF-8)");
  }
  return absl::OkStatus();
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool IsValidToken(absl::string_view token) {
  if (token.size() < kMinTokenSize || token.size() > kMaxTokenSize) {
    return false;
  }
  for (char c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Builds InvalidArgument "<context>: <field>: <problem>", keeping the
// payloads (WeChat error code and reason) of `cause` if given.
absl::Status FieldError(absl::string_view context, absl::string_view field,
                        absl::string_view problem,
                        const absl::Status* cause = nullptr) {
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat(context, ": ", field, ": ", problem));
  if (cause != nullptr) {
    cause->ForEachPayload(
        [&status](absl::string_view type_url, const absl::Cord& payload) {
          status.SetPayload(type_url, payload);
        });
  }
  return status;
}

absl::StatusOr<AppMode> ToAppMode(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_UNSPECIFIED:
    case v1::MODE_SECURE:
      return AppMode::kSecure;
    case v1::MODE_COMPATIBLE:
      return AppMode::kCompatible;
    case v1::MODE_PLAINTEXT:
      return AppMode::kPlaintext;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown value ", static_cast<int>(mode)));
  }
}

// Parses the app's keys and builds its MessageCrypt; nullopt for a
// plaintext app without keys.
absl::StatusOr<std::optional<MessageCrypt>> BuildMessageCrypt(
    const AppConfig& app, AppMode mode, absl::string_view receive_id,
    absl::string_view context) {
  if (app.encoding_aes_key().empty()) {
    if (mode != AppMode::kPlaintext) {
      return FieldError(context, "encoding_aes_key",
                        "required unless mode is MODE_PLAINTEXT");
    }
    if (!app.previous_encoding_aes_keys().empty()) {
      return FieldError(context, "previous_encoding_aes_keys",
                        "set without encoding_aes_key");
    }
    return std::optional<MessageCrypt>();
  }
  if (static_cast<std::size_t>(app.previous_encoding_aes_keys_size()) >
      kMaxPreviousKeys) {
    return FieldError(context, "previous_encoding_aes_keys",
                      absl::StrCat("more than ", kMaxPreviousKeys, " keys"));
  }

  std::vector<absl::string_view> texts;
  std::vector<std::string> names;
  texts.push_back(app.encoding_aes_key());
  names.push_back("encoding_aes_key");
  for (int i = 0; i < app.previous_encoding_aes_keys_size(); ++i) {
    texts.push_back(app.previous_encoding_aes_keys(i));
    names.push_back(absl::StrCat("previous_encoding_aes_keys[", i, "]"));
  }
  std::vector<EncodingAesKey> keys;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<EncodingAesKey> key = EncodingAesKey::Parse(texts[i]);
    if (!key.ok()) {
      const absl::Status cause = key.status();
      return FieldError(context, names[i], cause.message(), &cause);
    }
    // Compare the decoded keys: two spellings may decode to the same key.
    for (std::size_t j = 0; j < keys.size(); ++j) {
      if (key->key() == keys[j].key()) {
        return FieldError(context, names[i],
                          absl::StrCat("same key as ", names[j]));
      }
    }
    keys.push_back(*std::move(key));
  }

  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create(texts, receive_id);
  if (!crypt.ok()) {
    const absl::Status cause = crypt.status();
    return FieldError(context, "encoding_aes_key", cause.message(), &cause);
  }
  return std::optional<MessageCrypt>(*std::move(crypt));
}

}  // namespace

absl::string_view AppModeName(AppMode mode) {
  switch (mode) {
    case AppMode::kSecure:
      return "SECURE";
    case AppMode::kCompatible:
      return "COMPATIBLE";
    case AppMode::kPlaintext:
      return "PLAINTEXT";
  }
  return "UNKNOWN";
}

absl::StatusOr<std::shared_ptr<const Config>> Config::FromJson(
    absl::string_view json) {
  v1::Config proto;
  absl::Cleanup wipe_proto = [&proto] { WipeConfigProto(&proto); };
  if (absl::Status status = ParseConfigJson(json, &proto); !status.ok()) {
    return status;
  }
  if (proto.apps().empty()) {
    return absl::InvalidArgumentError("apps: at least one app is required");
  }

  absl::flat_hash_map<std::string, App> apps;
  // app_id -> index of the app that defined it, for duplicate errors.
  absl::flat_hash_map<std::string, int> indexes;
  for (int i = 0; i < proto.apps_size(); ++i) {
    const AppConfig& app = proto.apps(i);
    std::string context = absl::StrCat("apps[", i, "]");
    // app_id is not secret, but only a valid one is safe to print.
    if (app.app_id().empty()) {
      return FieldError(context, "app_id", "required");
    }
    if (app.app_id().size() > kMaxAppIdSize) {
      return FieldError(
          context, "app_id",
          absl::StrCat("longer than ", kMaxAppIdSize, " characters"));
    }
    if (!IsPrintableAscii(app.app_id())) {
      return FieldError(context, "app_id", "must be printable ASCII");
    }
    absl::StrAppend(&context, " (app_id \"", app.app_id(), "\")");
    if (auto [it, inserted] = indexes.emplace(app.app_id(), i); !inserted) {
      return FieldError(context, "app_id",
                        absl::StrCat("duplicate of apps[", it->second, "]"));
    }

    const std::string& receive_id =
        app.has_receive_id() ? app.receive_id() : app.app_id();
    if (receive_id.size() > kMaxReceiveIdSize) {
      return FieldError(
          context, "receive_id",
          absl::StrCat("longer than ", kMaxReceiveIdSize, " characters"));
    }
    if (!IsPrintableAscii(receive_id)) {
      return FieldError(context, "receive_id", "must be printable ASCII");
    }
    if (app.token().empty()) {
      return FieldError(context, "token", "required");
    }
    if (!IsValidToken(app.token())) {
      return FieldError(
          context, "token",
          absl::StrCat("must be ", kMinTokenSize, " to ", kMaxTokenSize,
                       " characters of [A-Za-z0-9] (WeChat's "
                       "rule)"));
    }
    absl::StatusOr<AppMode> mode = ToAppMode(app.mode());
    if (!mode.ok()) {
      return FieldError(context, "mode", mode.status().message());
    }
    if (app.max_timestamp_skew_seconds() < 0) {
      return FieldError(context, "max_timestamp_skew_seconds",
                        "must not be negative");
    }
    absl::StatusOr<std::optional<MessageCrypt>> crypt =
        BuildMessageCrypt(app, *mode, receive_id, context);
    if (!crypt.ok()) return crypt.status();

    apps.emplace(
        app.app_id(),
        App(app.app_id(), receive_id, SecretDataFromStringView(app.token()),
            *mode, app.max_timestamp_skew_seconds(), *std::move(crypt)));
  }
  return std::shared_ptr<const Config>(new Config(std::move(apps)));
}

absl::StatusOr<std::shared_ptr<const Config>> Config::FromFile(
    const std::string& path) {
  absl::StatusOr<FileSnapshot> snapshot =
      ReadFileSnapshot(path, kMaxConfigFileSize);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<std::shared_ptr<const Config>> config =
      FromJson(SecretDataAsStringView(snapshot->contents));
  if (!config.ok()) {
    absl::Status status(config.status().code(),
                        absl::StrCat("config file \"", path,
                                     "\": ", config.status().message()));
    config.status().ForEachPayload(
        [&status](absl::string_view type_url, const absl::Cord& payload) {
          status.SetPayload(type_url, payload);
        });
    return status;
  }
  return config;
}

std::vector<std::string> Config::app_ids() const {
  std::vector<std::string> ids;
  ids.reserve(apps_.size());
  for (const auto& entry : apps_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

const App* Config::FindApp(absl::string_view app_id) const {
  auto it = apps_.find(app_id);
  return it == apps_.end() ? nullptr : &it->second;
}

}  // namespace wxcrypto
