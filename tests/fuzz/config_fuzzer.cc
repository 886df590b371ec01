// libFuzzer target: Config::FromJson (server/config/config.h) on arbitrary
// text.
//
// Checked, besides the sanitizers:
//   - every error is INVALID_ARGUMENT;
//   - a loaded config satisfies every documented rule (at least one app,
//     unique printable app ids, valid tokens, a MessageCrypt unless the app
//     is MODE_PLAINTEXT, at most 8 previous keys, ...);
//   - when the input is JSON shaped like a config (a mutation of a valid
//     one), no error message contains the value of a token or key. A value
//     the message contains for another reason (it is also an app id, or a
//     word of the message) is told apart by loading the input again with the
//     value's letters and digits rotated: a leaked value changes with it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "server/config/config.h"
#include "server/crypto/message_crypt.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

bool IsSecretField(absl::string_view name) {
  return name == "token" || name == "encoding_aes_key" ||
         name == "encodingAesKey" || name == "previous_encoding_aes_keys" ||
         name == "previousEncodingAesKeys";
}

// Collects the token and key values of a config-shaped document, and every
// other string in it (names and values).
void CollectStrings(const rapidjson::Value& value, bool secret,
                    std::vector<std::string>& secrets,
                    std::vector<std::string>& others) {
  if (value.IsString()) {
    std::string text(value.GetString(), value.GetStringLength());
    (secret ? secrets : others).push_back(std::move(text));
  } else if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      CollectStrings(element, secret, secrets, others);
    }
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      const absl::string_view name(member.name.GetString(),
                                   member.name.GetStringLength());
      others.emplace_back(name);
      CollectStrings(member.value, secret || IsSecretField(name), secrets,
                     others);
    }
  }
}

void CheckSecretsNotInError(absl::string_view input,
                            const absl::Status& status) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(input.data(), input.size());
  if (doc.HasParseError() || !doc.IsObject()) return;
  std::vector<std::string> secrets;
  std::vector<std::string> others;
  CollectStrings(doc, false, secrets, others);
  for (const std::string& secret : secrets) {
    if (secret.size() < kMinCheckedSecretSize ||
        !absl::StrContains(status.message(), secret)) {
      continue;
    }
    bool elsewhere = false;
    for (const std::string& other : others) {
      elsewhere = elsewhere || absl::StrContains(other, secret);
    }
    if (elsewhere) continue;
    // Only the secret's raw spelling is replaced; a secret written with
    // escapes keeps its value and is not checked.
    const std::string rotated = RotateAlnum(secret);
    if (rotated == secret || !absl::StrContains(input, secret)) continue;
    const std::string changed = absl::StrReplaceAll(input, {{secret, rotated}});
    absl::StatusOr<std::shared_ptr<const Config>> again =
        Config::FromJson(changed);
    if (again.ok() || absl::StrContains(again.status().message(), secret)) {
      continue;  // The message has those bytes for another reason.
    }
    CheckNoSecret(status, secret);
  }
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void CheckConfig(const Config& config) {
  FUZZ_CHECK(config.app_count() >= 1);
  const std::vector<std::string> ids = config.app_ids();
  FUZZ_CHECK(ids.size() == config.app_count());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) FUZZ_CHECK(ids[i - 1] < ids[i]);
    const App* app = config.FindApp(ids[i]);
    FUZZ_CHECK(app != nullptr);
    FUZZ_CHECK(app->app_id() == ids[i]);
    FUZZ_CHECK(!ids[i].empty() && ids[i].size() <= kMaxAppIdSize);
    FUZZ_CHECK(IsPrintableAscii(ids[i]));
    FUZZ_CHECK(app->receive_id().size() <= kMaxReceiveIdSize);
    FUZZ_CHECK(IsPrintableAscii(app->receive_id()));
    FUZZ_CHECK(app->token().size() >= kMinTokenSize &&
               app->token().size() <= kMaxTokenSize);
    for (char c : app->token()) {
      FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)));
    }
    FUZZ_CHECK(app->max_timestamp_skew_seconds() >= 0);
    FUZZ_CHECK(app->AcceptsPlaintext() == (app->mode() != AppMode::kSecure));
    const MessageCrypt* crypt = app->message_crypt();
    if (crypt == nullptr) {
      FUZZ_CHECK(app->mode() == AppMode::kPlaintext);
      continue;
    }
    FUZZ_CHECK(crypt->key_count() >= 1 &&
               crypt->key_count() <= 1 + kMaxPreviousKeys);
    FUZZ_CHECK(crypt->receive_id() == app->receive_id());
  }
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto;        // NOLINT(build/namespaces)
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Config::FromJson(input);
  if (config.ok()) {
    FUZZ_CHECK(*config != nullptr);
    CheckConfig(**config);
    return 0;
  }
  FUZZ_CHECK_MSG(config.status().code() == absl::StatusCode::kInvalidArgument,
                 StatusText(config.status()));
  CheckSecretsNotInError(input, config.status());
  return 0;
}
