// libFuzzer target: whole DecryptPush requests through the service's
// handler logic (CryptoServiceImpl::HandleDecryptPush, no transport), then
// BuildEncryptedReply and VerifyUrl requests derived from each one.
//
// Input: byte 0 = control bits, then a serialized
// wxcrypto.v1.DecryptPushRequest. If the rest does not parse as one, it is
// used as the body of an encrypted push with the mini program documentation
// vector's other fields.
//   bit 0     replace app_id with a configured app (bits 1-3 pick which)
//   bit 4     use the fuzz config (tests/fuzz/fuzz_support.h: secure mode,
//             a previous key, a timestamp window, an empty receive id, a
//             keyless plaintext app) instead of DemoConfigJson()
//   bit 5     re-sign: set msg_signature and signature to the correct values
//             for the app's token, so that decryption and field extraction
//             are reached
//   bit 6     the derived reply is a widget_data reply instead of a message
//   bit 7     the derived URL check is WeCom's (msg_signature over an
//             encrypted echostr) instead of the plain one
//
// Checked, besides the sanitizers: every failure is a documented client
// error (never UNKNOWN/INTERNAL, always with a WeChat code and a reason,
// never quoting the token); nothing is decrypted or echoed without a valid
// signature; a decrypted push has the fields ExtractMessageFields gives; a
// built reply parses, verifies and decrypts (with the requested key) to the
// message it was built from; a WeCom URL check decrypts echostr like
// DecryptPush does.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "server/config/config.h"
#include "server/config/config_store.h"
#include "server/config/demo_config.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "server/service/crypto_service.h"
#include "server/service/errors.h"
#include "tests/fuzz/fuzz_support.h"
#include "wxcrypto/v1/crypto_service.pb.h"

namespace wxcrypto::fuzz {
namespace {

using ::wxcrypto::v1::BuildEncryptedReplyRequest;
using ::wxcrypto::v1::BuildEncryptedReplyResponse;
using ::wxcrypto::v1::DecryptPushRequest;
using ::wxcrypto::v1::DecryptPushResponse;
using ::wxcrypto::v1::VerifyUrlRequest;
using ::wxcrypto::v1::VerifyUrlResponse;

// A service on its own config store.
struct Service {
  explicit Service(absl::string_view json) : store(Load(json)) {
    ServiceOptions options;
    options.now_unix_seconds = [] { return kFuzzNow; };
    impl = std::make_unique<CryptoServiceImpl>(&store, nullptr,
                                               std::move(options));
  }
  static std::shared_ptr<const Config> Load(absl::string_view json) {
    absl::StatusOr<std::shared_ptr<const Config>> config =
        Config::FromJson(json);
    FUZZ_CHECK_MSG(config.ok(), StatusText(config.status()));
    return *std::move(config);
  }
  const App* FindApp(absl::string_view app_id) const {
    return store.Get()->FindApp(app_id);
  }
  ConfigStore store;
  std::unique_ptr<CryptoServiceImpl> impl;
};

// Keeps protobuf from logging every rejected (non-UTF-8) string field: the
// fuzzer produces thousands a second.
void SilenceProtobufLogs() {
  static const bool silenced = [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                       int, const std::string&) {});
    return true;
  }();
  (void)silenced;
}

const Service& DemoService() {
  static const auto* const service = new Service(DemoConfigJson());
  return *service;
}
// The fuzz config, checked against kFuzzApps (which the seed generator
// seals pushes with).
const Service& FuzzConfigService() {
  static const auto* const service = [] {
    const auto* s = new Service(kFuzzConfigJson);
    FUZZ_CHECK(s->store.Get()->app_count() == kFuzzAppCount);
    for (const FuzzApp& expected : kFuzzApps) {
      const App* app = s->FindApp(expected.app_id);
      FUZZ_CHECK(app != nullptr);
      FUZZ_CHECK(app->token() == expected.token);
      FUZZ_CHECK(app->receive_id() == expected.receive_id);
      const std::size_t keys = expected.keys[0].empty()   ? 0
                               : expected.keys[1].empty() ? 1
                                                          : 2;
      FUZZ_CHECK((app->message_crypt() == nullptr
                      ? 0
                      : app->message_crypt()->key_count()) == keys);
    }
    return s;
  }();
  return *service;
}

bool IsOneOf(absl::StatusCode code,
             std::initializer_list<absl::StatusCode> codes) {
  for (absl::StatusCode c : codes) {
    if (code == c) return true;
  }
  return false;
}

// Checks a handler failure: a documented client error with one of `codes`,
// not quoting the app's token.
void CheckFailure(const absl::Status& status, const App* app,
                  std::initializer_list<absl::StatusCode> codes) {
  CheckClientError(status);
  FUZZ_CHECK_MSG(IsOneOf(status.code(), codes), StatusText(status));
  if (app != nullptr) CheckNoSecret(status, app->token());
}

bool TimestampInWindow(const App& app, absl::string_view timestamp) {
  const std::int64_t window = app.max_timestamp_skew_seconds();
  if (window == 0) return true;
  if (timestamp.empty() || timestamp.size() > 19) return false;
  std::uint64_t value = 0;  // 19 digits fit
  for (char c : timestamp) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value >= static_cast<std::uint64_t>(kFuzzNow - window) &&
         value <= static_cast<std::uint64_t>(kFuzzNow + window);
}

// The first-wins map of a message's fields, or nullopt-like empty + false.
bool FieldMap(absl::string_view message,
              absl::flat_hash_map<std::string, std::string>& out) {
  absl::StatusOr<FieldList> fields = ExtractMessageFields(message);
  if (!fields.ok()) return false;
  for (auto& [name, value] : *fields) out.emplace(name, value);
  return true;
}

void CheckDecryptPush(const Service& service, const DecryptPushRequest& request,
                      const absl::Status& status,
                      const DecryptPushResponse& response) {
  const App* app = service.FindApp(request.app_id());
  if (!status.ok()) {
    CheckFailure(
        status, app,
        {absl::StatusCode::kNotFound, absl::StatusCode::kUnauthenticated,
         absl::StatusCode::kFailedPrecondition,
         absl::StatusCode::kInvalidArgument});
    if (app == nullptr) {
      CheckError(status, absl::StatusCode::kNotFound,
                 WxErrorCode::kValidateReceiveIdError, reason::kAppNotFound);
    }
    return;
  }
  FUZZ_CHECK(app != nullptr);
  FUZZ_CHECK(TimestampInWindow(*app, request.timestamp()));
  absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(request.body());
  FUZZ_CHECK(envelope.ok());
  FUZZ_CHECK(response.envelope_format() == static_cast<int>(envelope->format));
  if (request.encrypt_type() == "aes") {
    FUZZ_CHECK(response.encrypted());
    FUZZ_CHECK(envelope->has_encrypt);
    FUZZ_CHECK_MSG(SignatureMatches(
                       request.msg_signature(),
                       ComputeMsgSignature(app->token(), request.timestamp(),
                                           request.nonce(), envelope->encrypt)),
                   "decrypted a push without a valid msg_signature");
    FUZZ_CHECK(app->message_crypt() != nullptr);
    FUZZ_CHECK(response.key_index() < app->message_crypt()->key_count());
  } else {
    FUZZ_CHECK(request.encrypt_type().empty() ||
               request.encrypt_type() == "raw");
    FUZZ_CHECK(!response.encrypted());
    FUZZ_CHECK(app->AcceptsPlaintext());
    FUZZ_CHECK_MSG(
        SignatureMatches(request.signature(),
                         ComputeUrlSignature(app->token(), request.timestamp(),
                                             request.nonce())),
        "accepted a plaintext push without a valid signature");
    FUZZ_CHECK(response.message() == request.body());
    FUZZ_CHECK(response.key_index() == 0);
  }
  absl::flat_hash_map<std::string, std::string> fields;
  FUZZ_CHECK(FieldMap(response.message(), fields));
  FUZZ_CHECK(static_cast<std::size_t>(response.fields().size()) ==
             fields.size());
  for (const auto& [name, value] : response.fields()) {
    auto it = fields.find(name);
    FUZZ_CHECK(it != fields.end() && it->second == value);
  }
}

void CheckReply(const Service& service,
                const BuildEncryptedReplyRequest& request) {
  BuildEncryptedReplyResponse response;
  const absl::Status status =
      service.impl->HandleBuildEncryptedReply(request, response);
  const App* app = service.FindApp(request.app_id());
  if (!status.ok()) {
    CheckFailure(
        status, app,
        {absl::StatusCode::kNotFound, absl::StatusCode::kFailedPrecondition,
         absl::StatusCode::kInvalidArgument});
    return;
  }
  FUZZ_CHECK(app != nullptr && app->message_crypt() != nullptr);
  const auto format = static_cast<EnvelopeFormat>(request.envelope_format());
  FUZZ_CHECK(response.content_type() == EnvelopeContentType(format));
  // What WeChat does with the reply: parse, verify, decrypt.
  absl::StatusOr<std::pair<EnvelopeFormat, ReplyFields>> parsed =
      ParseReplyEnvelope(response.body());
  FUZZ_CHECK_MSG(parsed.ok(), StatusText(parsed.status()));
  FUZZ_CHECK(parsed->first == format);
  FUZZ_CHECK(parsed->second.encrypt == response.encrypt());
  FUZZ_CHECK(parsed->second.msg_signature == response.msg_signature());
  FUZZ_CHECK(parsed->second.timestamp == response.timestamp());
  FUZZ_CHECK(parsed->second.nonce == response.nonce());
  if (!request.timestamp().empty()) {
    FUZZ_CHECK(response.timestamp() == request.timestamp());
  }
  if (!request.nonce().empty()) FUZZ_CHECK(response.nonce() == request.nonce());
  FUZZ_CHECK(response.msg_signature() ==
             ComputeMsgSignature(app->token(), response.timestamp(),
                                 response.nonce(), response.encrypt()));
  absl::StatusOr<DecryptedMessage> decrypted =
      app->message_crypt()->Decrypt(response.encrypt());
  FUZZ_CHECK_MSG(decrypted.ok(), StatusText(decrypted.status()));
  FUZZ_CHECK(decrypted->key_index == request.key_index());
  if (request.reply_case() != BuildEncryptedReplyRequest::kWidgetData) {
    FUZZ_CHECK(decrypted->message == request.message());
  } else {
    absl::flat_hash_map<std::string, std::string> fields;
    FUZZ_CHECK(FieldMap(decrypted->message, fields));
  }
}

void CheckVerifyUrl(const Service& service, const VerifyUrlRequest& request,
                    const DecryptPushRequest& push,
                    const absl::Status& push_status,
                    const DecryptPushResponse& push_response) {
  VerifyUrlResponse response;
  const absl::Status status = service.impl->HandleVerifyUrl(request, response);
  const App* app = service.FindApp(request.app_id());
  if (!status.ok()) {
    CheckFailure(
        status, app,
        {absl::StatusCode::kNotFound, absl::StatusCode::kUnauthenticated,
         absl::StatusCode::kFailedPrecondition,
         absl::StatusCode::kInvalidArgument});
    return;
  }
  FUZZ_CHECK(app != nullptr);
  FUZZ_CHECK(!request.echostr().empty());
  FUZZ_CHECK(TimestampInWindow(*app, request.timestamp()));
  if (request.msg_signature().empty()) {
    FUZZ_CHECK_MSG(
        SignatureMatches(request.signature(),
                         ComputeUrlSignature(app->token(), request.timestamp(),
                                             request.nonce())),
        "answered a URL check without a valid signature");
    FUZZ_CHECK(response.echostr() == request.echostr());
    return;
  }
  FUZZ_CHECK_MSG(
      SignatureMatches(request.msg_signature(),
                       ComputeMsgSignature(app->token(), request.timestamp(),
                                           request.nonce(), request.echostr())),
      "decrypted echostr without a valid msg_signature");
  FUZZ_CHECK(app->message_crypt() != nullptr);
  // The same Encrypt, app and signature inputs as the push: the same
  // plaintext.
  if (push_status.ok() && push_response.encrypted() &&
      push.app_id() == request.app_id()) {
    absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(push.body());
    if (envelope.ok() && envelope->encrypt == request.echostr()) {
      FUZZ_CHECK(response.echostr() == push_response.message());
    }
  }
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto;        // NOLINT(build/namespaces)
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  if (size == 0) return 0;
  SilenceProtobufLogs();
  const std::uint8_t control = data[0];
  const bool use_fuzz_config = (control & 0x10) != 0;
  const Service& service =
      use_fuzz_config ? FuzzConfigService() : DemoService();

  DecryptPushRequest request;
  if (!request.ParseFromArray(data + 1, static_cast<int>(size - 1))) {
    request.Clear();
    request.set_app_id("wxba5fad812f8e6fb9");
    request.set_msg_signature("046e02f8204d34f8ba5fa3b1db94908f3df2e9b3");
    request.set_timestamp("1714112445");
    request.set_nonce("415670741");
    request.set_encrypt_type("aes");
    request.set_body(reinterpret_cast<const char*>(data) + 1, size - 1);
  }
  if ((control & 1) != 0) {
    const std::size_t apps = use_fuzz_config ? kFuzzAppCount : 2;
    request.set_app_id(
        std::string(kFuzzApps[(control >> 1 & 7) % apps].app_id));
  }
  const App* app = service.FindApp(request.app_id());
  absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(request.body());
  const std::string encrypt =
      envelope.ok() && envelope->has_encrypt ? envelope->encrypt : "";
  if ((control & 0x20) != 0 && app != nullptr) {
    request.set_msg_signature(ComputeMsgSignature(
        app->token(), request.timestamp(), request.nonce(), encrypt));
    request.set_signature(ComputeUrlSignature(app->token(), request.timestamp(),
                                              request.nonce()));
  }

  DecryptPushResponse response;
  const absl::Status status =
      service.impl->HandleDecryptPush(request, response);
  CheckDecryptPush(service, request, status, response);

  // A reply to it: the decrypted message in the push's dialect with the key
  // that opened it, or (if the push failed) the body in a dialect the
  // control byte picks.
  BuildEncryptedReplyRequest reply;
  reply.set_app_id(request.app_id());
  reply.set_timestamp(request.timestamp());
  reply.set_nonce(request.nonce());
  const std::string& message =
      status.ok() ? response.message() : request.body();
  if (status.ok()) {
    reply.set_envelope_format(response.envelope_format());
    reply.set_key_index(response.key_index());
  } else {
    reply.set_envelope_format(
        static_cast<v1::EnvelopeFormat>((control >> 1) & 3));
  }
  if ((control & 0x40) != 0) {
    absl::flat_hash_map<std::string, std::string> fields;
    FieldMap(message, fields);
    v1::WidgetData& widget = *reply.mutable_widget_data();
    widget.set_to_user_name(fields["FromUserName"]);
    widget.set_from_user_name(fields["ToUserName"]);
    widget.set_lifespan(static_cast<std::int32_t>(message.size()) - 64);
    widget.set_query(fields["Query"]);
    widget.set_data(fields.contains("Content") ? fields["Content"] : message);
  } else {
    reply.set_message(message);
  }
  CheckReply(service, reply);

  // A URL check with the same parameters: echostr is the body (plain check)
  // or the push's Encrypt (WeCom's check, with msg_signature).
  VerifyUrlRequest url;
  url.set_app_id(request.app_id());
  url.set_timestamp(request.timestamp());
  url.set_nonce(request.nonce());
  if ((control & 0x80) != 0) {
    url.set_echostr(encrypt.empty() ? request.body() : encrypt);
    url.set_msg_signature((control & 0x20) != 0 && app != nullptr
                              ? ComputeMsgSignature(app->token(),
                                                    url.timestamp(),
                                                    url.nonce(), url.echostr())
                              : request.msg_signature());
  } else {
    url.set_echostr(request.body());
    url.set_signature(request.signature());
  }
  CheckVerifyUrl(service, url, request, status, response);
  return 0;
}
