#include "server/service/crypto_service.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/config/config.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/random.h"
#include "server/crypto/raw_data.h"
#include "server/crypto/signature.h"
#include "server/crypto/user_data.h"
#include "server/envelope/envelope.h"
#include "server/log/log.h"
#include "server/service/errors.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::v1::BuildEncryptedReplyRequest;
using ::wxcrypto::v1::BuildEncryptedReplyResponse;
using ::wxcrypto::v1::DecryptPushRequest;
using ::wxcrypto::v1::DecryptPushResponse;
using ::wxcrypto::v1::DecryptUserDataRequest;
using ::wxcrypto::v1::DecryptUserDataResponse;
using ::wxcrypto::v1::VerifyRawDataRequest;
using ::wxcrypto::v1::VerifyRawDataResponse;
using ::wxcrypto::v1::VerifyUrlRequest;
using ::wxcrypto::v1::VerifyUrlResponse;

// Length of a generated nonce; WeChat's own are 9-10 digits.
constexpr std::size_t kNonceSize = 10;

absl::Status ArgumentError(absl::string_view reason_word,
                           absl::string_view message) {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalBuffer, reason_word, message);
}

absl::Status AppNotFound() {
  return WxError(absl::StatusCode::kNotFound,
                 WxErrorCode::kValidateReceiveIdError, reason::kAppNotFound,
                 "app_id is not configured");
}

// Looks the app up in the live config.
absl::StatusOr<const App*> FindApp(const std::shared_ptr<const Config>& config,
                                   absl::string_view app_id) {
  const App* app = config == nullptr ? nullptr : config->FindApp(app_id);
  if (app == nullptr) return AppNotFound();
  return app;
}

// Checks the request timestamp against the app's window, if it has one.
absl::Status CheckTimestamp(const App& app, absl::string_view timestamp,
                            std::int64_t now) {
  const std::int64_t window = app.max_timestamp_skew_seconds();
  if (window <= 0) return absl::OkStatus();
  std::int64_t value = 0;
  // Digits only: SimpleAtoi alone would also take surrounding whitespace.
  const bool all_digits =
      !timestamp.empty() && timestamp.size() <= 18 &&
      std::all_of(timestamp.begin(), timestamp.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      });
  if (!all_digits || !absl::SimpleAtoi(timestamp, &value)) {
    return WxError(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError,
                   reason::kTimestampInvalid,
                   "timestamp is not a decimal Unix time");
  }
  if (value < now - window || value > now + window) {
    return WxError(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError,
                   reason::kTimestampOutOfWindow,
                   absl::StrCat("timestamp is more than ", window,
                                " seconds from the server's clock"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const MessageCrypt*> RequireCrypt(const App& app) {
  const MessageCrypt* crypt = app.message_crypt();
  if (crypt == nullptr) {
    return WxError(absl::StatusCode::kFailedPrecondition,
                   WxErrorCode::kIllegalAesKey, reason::kAesKeyNotConfigured,
                   "app has no EncodingAESKey configured");
  }
  return crypt;
}

v1::EnvelopeFormat ToProto(EnvelopeFormat format) {
  return static_cast<v1::EnvelopeFormat>(static_cast<int>(format));
}

// Moves the fields into the response (they can be kilobytes: no copies).
void MoveFields(FieldList& fields, DecryptPushResponse& response) {
  auto& map = *response.mutable_fields();
  for (auto& [name, value] : fields) {
    // FieldList keeps the first of repeated names; so does try_emplace.
    map.try_emplace(std::move(name), std::move(value));
  }
}

// The app a request names, for logs (VerifyRawData names none).
template <typename Request>
absl::string_view AppIdOf(const Request& request) {
  return request.app_id();
}
absl::string_view AppIdOf(const VerifyRawDataRequest&) { return ""; }

ServiceOptions WithDefaults(ServiceOptions options) {
  if (!options.now_unix_seconds) {
    options.now_unix_seconds = [] { return absl::ToUnixSeconds(absl::Now()); };
  }
  if (options.worker_threads <= 0) {
    options.worker_threads = std::max(2, WorkQueue::AvailableCpus());
  }
  options.max_concurrent_requests =
      std::max(options.max_concurrent_requests, 1);
  return options;
}

}  // namespace

CryptoServiceImpl::CryptoServiceImpl(const ConfigStore* store, Metrics* metrics,
                                     ServiceOptions options)
    : store_(store),
      metrics_(metrics),
      options_(WithDefaults(std::move(options))),
      queue_(options_.worker_threads,
             static_cast<std::size_t>(options_.max_concurrent_requests),
             absl::ToChronoNanoseconds(options_.max_queue_delay)) {}

CryptoServiceImpl::~CryptoServiceImpl() { queue_.Stop(); }

absl::Status CryptoServiceImpl::HandleDecryptPush(
    const DecryptPushRequest& request, DecryptPushResponse& response) const {
  const std::shared_ptr<const Config> config = store_->Get();
  absl::StatusOr<const App*> found = FindApp(config, request.app_id());
  if (!found.ok()) return found.status();
  const App& app = **found;

  const std::string& encrypt_type = request.encrypt_type();
  bool encrypted = false;
  if (encrypt_type == "aes") {
    encrypted = true;
  } else if (!encrypt_type.empty() && encrypt_type != "raw") {
    return ArgumentError(reason::kEncryptTypeInvalid,
                         "encrypt_type must be \"aes\", \"raw\" or empty");
  }
  absl::Status timestamp_ok =
      CheckTimestamp(app, request.timestamp(), options_.now_unix_seconds());
  if (!timestamp_ok.ok()) return timestamp_ok;

  absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(request.body());
  if (!encrypted) {
    if (!app.AcceptsPlaintext()) {
      return WxError(absl::StatusCode::kFailedPrecondition,
                     WxErrorCode::kValidateSignatureError,
                     reason::kPlaintextNotAllowed,
                     "app is in secure mode: plaintext pushes are refused");
    }
    absl::Status signature_ok = VerifyUrlSignature(
        request.signature(), app.token(), request.timestamp(), request.nonce());
    if (!signature_ok.ok()) return signature_ok;
    if (!envelope.ok()) return envelope.status();
    absl::StatusOr<FieldList> fields = ExtractMessageFields(request.body());
    if (!fields.ok()) return fields.status();
    response.set_message(request.body());
    response.set_envelope_format(ToProto(envelope->format));
    response.set_encrypted(false);
    response.set_key_index(0);
    MoveFields(*fields, response);
    return absl::OkStatus();
  }

  absl::StatusOr<const MessageCrypt*> crypt = RequireCrypt(app);
  if (!crypt.ok()) return crypt.status();
  if (!envelope.ok()) return envelope.status();
  if (!envelope->has_encrypt) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kParseXmlError, reason::kEncryptMissing,
                   "encrypt_type is aes but the body has no Encrypt field");
  }
  // The signature covers Encrypt: check it before any decryption.
  absl::Status signature_ok = VerifyMsgSignature(
      request.msg_signature(), app.token(), request.timestamp(),
      request.nonce(), envelope->encrypt);
  if (!signature_ok.ok()) return signature_ok;
  absl::StatusOr<DecryptedMessage> decrypted =
      (*crypt)->Decrypt(envelope->encrypt);
  if (!decrypted.ok()) return decrypted.status();
  absl::StatusOr<FieldList> fields = ExtractMessageFields(decrypted->message);
  if (!fields.ok()) return fields.status();
  if (decrypted->key_index > 0 && metrics_ != nullptr) {
    metrics_->RecordPreviousKeyDecrypt(app.app_id());
  }
  response.set_message(std::move(decrypted->message));
  response.set_envelope_format(ToProto(envelope->format));
  response.set_encrypted(true);
  response.set_key_index(static_cast<std::uint32_t>(decrypted->key_index));
  MoveFields(*fields, response);
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::HandleBuildEncryptedReply(
    const BuildEncryptedReplyRequest& request,
    BuildEncryptedReplyResponse& response) const {
  const std::shared_ptr<const Config> config = store_->Get();
  absl::StatusOr<const App*> found = FindApp(config, request.app_id());
  if (!found.ok()) return found.status();
  const App& app = **found;
  absl::StatusOr<const MessageCrypt*> crypt = RequireCrypt(app);
  if (!crypt.ok()) return crypt.status();

  const int format_value = request.envelope_format();
  if (format_value < static_cast<int>(EnvelopeFormat::kXml) ||
      format_value > static_cast<int>(EnvelopeFormat::kJsonLowercase)) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kGenReturnXmlError,
                   reason::kEnvelopeFormatInvalid,
                   "envelope_format must be XML, JSON or JSON_LOWERCASE");
  }
  const auto format = static_cast<EnvelopeFormat>(format_value);

  std::string widget_message;
  absl::string_view message = request.message();
  if (request.reply_case() == BuildEncryptedReplyRequest::kWidgetData) {
    const v1::WidgetData& widget = request.widget_data();
    WidgetDataReply reply;
    reply.to_user_name = widget.to_user_name();
    reply.from_user_name = widget.from_user_name();
    reply.create_time = widget.create_time() != 0 ? widget.create_time()
                                                  : options_.now_unix_seconds();
    reply.lifespan = widget.lifespan();
    reply.query = widget.query();
    reply.scene = widget.scene() != 0 ? widget.scene() : 1;
    reply.data = widget.data();
    absl::StatusOr<std::string> built = BuildWidgetDataReply(format, reply);
    if (!built.ok()) return built.status();
    widget_message = *std::move(built);
    message = widget_message;
  }

  ReplyFields fields;
  fields.timestamp = request.timestamp().empty()
                         ? absl::StrCat(options_.now_unix_seconds())
                         : request.timestamp();
  if (request.nonce().empty()) {
    absl::StatusOr<std::string> nonce = RandomNonce(kNonceSize);
    if (!nonce.ok()) return nonce.status();
    fields.nonce = *std::move(nonce);
  } else {
    fields.nonce = request.nonce();
  }
  absl::StatusOr<std::string> encrypt =
      (*crypt)->Encrypt(message, request.key_index());
  if (!encrypt.ok()) return encrypt.status();
  fields.encrypt = *std::move(encrypt);
  fields.msg_signature = ComputeMsgSignature(app.token(), fields.timestamp,
                                             fields.nonce, fields.encrypt);
  absl::StatusOr<std::string> body = BuildReplyEnvelope(format, fields);
  if (!body.ok()) return body.status();

  response.set_body(*std::move(body));
  response.set_content_type(std::string(EnvelopeContentType(format)));
  response.set_encrypt(std::move(fields.encrypt));
  response.set_msg_signature(std::move(fields.msg_signature));
  response.set_timestamp(std::move(fields.timestamp));
  response.set_nonce(std::move(fields.nonce));
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::HandleDecryptUserData(
    const DecryptUserDataRequest& request,
    DecryptUserDataResponse& response) const {
  UserDataRequest user_data_request;
  user_data_request.app_id = request.app_id();
  user_data_request.session_key = request.session_key();
  user_data_request.encrypted_data = request.encrypted_data();
  user_data_request.iv = request.iv();
  user_data_request.max_age_seconds = request.max_age_seconds();
  user_data_request.now_unix_seconds = options_.now_unix_seconds();
  absl::StatusOr<UserData> data =
      ::wxcrypto::DecryptUserData(user_data_request);
  if (!data.ok()) return data.status();
  response.set_data(std::move(data->data));
  response.set_watermark_app_id(std::move(data->watermark_app_id));
  response.set_watermark_timestamp(data->watermark_timestamp);
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::HandleVerifyRawData(
    const VerifyRawDataRequest& request,
    VerifyRawDataResponse& response) const {
  if (request.session_key().empty()) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kUserDataIllegalAesKey,
                   reason::kSessionKeyInvalid, "session_key is empty");
  }
  response.set_valid(::wxcrypto::VerifyRawData(
      request.raw_data(), request.signature(), request.session_key()));
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::HandleVerifyUrl(
    const VerifyUrlRequest& request, VerifyUrlResponse& response) const {
  const std::shared_ptr<const Config> config = store_->Get();
  absl::StatusOr<const App*> found = FindApp(config, request.app_id());
  if (!found.ok()) return found.status();
  const App& app = **found;
  absl::Status timestamp_ok =
      CheckTimestamp(app, request.timestamp(), options_.now_unix_seconds());
  if (!timestamp_ok.ok()) return timestamp_ok;
  if (request.echostr().empty()) {
    return ArgumentError(reason::kEchostrMissing, "echostr is empty");
  }
  if (request.msg_signature().empty()) {
    // Official accounts and mini programs: signature over token, timestamp
    // and nonce; echostr goes back as is.
    absl::Status signature_ok = VerifyUrlSignature(
        request.signature(), app.token(), request.timestamp(), request.nonce());
    if (!signature_ok.ok()) return signature_ok;
    response.set_echostr(request.echostr());
    return absl::OkStatus();
  }
  // WeCom: msg_signature also covers echostr, which is encrypted.
  absl::StatusOr<const MessageCrypt*> crypt = RequireCrypt(app);
  if (!crypt.ok()) return crypt.status();
  absl::Status signature_ok = VerifyMsgSignature(
      request.msg_signature(), app.token(), request.timestamp(),
      request.nonce(), request.echostr());
  if (!signature_ok.ok()) return signature_ok;
  absl::StatusOr<DecryptedMessage> decrypted =
      (*crypt)->Decrypt(request.echostr());
  if (!decrypted.ok()) return decrypted.status();
  response.set_echostr(std::move(decrypted->message));
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::Admit(
    std::chrono::system_clock::time_point deadline, std::size_t request_bytes,
    int in_flight) const {
  if (refusing_.load(std::memory_order_relaxed)) {
    return ServiceError(absl::StatusCode::kUnavailable, reason::kDraining,
                        "server is shutting down; retry on another replica");
  }
  if (in_flight > options_.max_concurrent_requests) {
    return ServiceError(absl::StatusCode::kResourceExhausted,
                        reason::kOverloaded, "server is overloaded; retry");
  }
  if (deadline < std::chrono::system_clock::now()) {
    return ServiceError(absl::StatusCode::kDeadlineExceeded,
                        reason::kDeadlineExceeded,
                        "deadline passed before the request was handled");
  }
  if (request_bytes > options_.max_request_bytes) {
    return WxError(absl::StatusCode::kResourceExhausted,
                   WxErrorCode::kIllegalBuffer, reason::kRequestTooLarge,
                   absl::StrCat("request is larger than ",
                                options_.max_request_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CryptoServiceImpl::AdmitQueued(
    std::chrono::system_clock::time_point deadline, absl::Duration waited,
    bool late, bool cancelled) const {
  if (deadline < std::chrono::system_clock::now()) {
    return ServiceError(absl::StatusCode::kDeadlineExceeded,
                        reason::kDeadlineExceeded,
                        "deadline passed before the request was handled");
  }
  if (cancelled) {
    return ServiceError(absl::StatusCode::kCancelled, reason::kCancelled,
                        "the call was cancelled before it was handled");
  }
  if (late) {
    return ServiceError(
        absl::StatusCode::kResourceExhausted, reason::kOverloaded,
        absl::StrCat("server is overloaded (the request waited ",
                     absl::ToInt64Milliseconds(waited),
                     " ms for a worker); retry"));
  }
  return absl::OkStatus();
}

// An admitted call: what a worker needs to handle and finish it. Every
// pointer stays valid until the reactor's Finish.
template <typename Request, typename Response>
class CryptoServiceImpl::QueuedCall final : public WorkQueue::Task {
 public:
  struct Parts {
    CryptoServiceImpl* service;
    Method method;
    grpc::CallbackServerContext* context;
    grpc::ServerUnaryReactor* reactor;
    const grpc::ByteBuffer* request_bytes;
    grpc::ByteBuffer* response_bytes;
    absl::Status (CryptoServiceImpl::*handler)(const Request&, Response&) const;
  };

  explicit QueuedCall(const Parts& parts) : parts_(parts) {}

  void Run(WorkQueue::Clock::duration waited, bool late) override {
    parts_.service->template Execute<Request, Response>(parts_, waited, late);
  }

 private:
  const Parts parts_;
};

template <typename Request, typename Response>
grpc::ServerUnaryReactor* CryptoServiceImpl::Dispatch(
    Method method, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* request_bytes, grpc::ByteBuffer* response_bytes,
    absl::Status (CryptoServiceImpl::*handler)(const Request&, Response&)
        const) {
  // A worker may finish the call before this returns: the reactor keeps a
  // Finish that comes before gRPC binds it and replays it then.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int in_flight = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  absl::Status status =
      Admit(context->deadline(), request_bytes->Length(), in_flight);
  if (status.ok()) {
    const typename QueuedCall<Request, Response>::Parts parts{
        this, method, context, reactor, request_bytes, response_bytes, handler};
    // An idle service runs the call on this thread: a hand-off to a
    // sleeping worker costs a wake-up and context switches (bench/NOTES.md,
    // "Overload: admission queue"). Only when nothing is queued or running,
    // so under load gRPC's threads stay free to read and the backlog forms
    // in the queue.
    if (options_.run_inline_when_idle && queue_.TryEnterInline()) {
      Execute<Request, Response>(parts, WorkQueue::Clock::duration::zero(),
                                 /*late=*/false);
      queue_.ExitInline();
      return reactor;
    }
    std::unique_ptr<WorkQueue::Task> refused =
        queue_.Push(std::make_unique<QueuedCall<Request, Response>>(parts));
    if (refused == nullptr) return reactor;
    // Only once the queue is stopped (the server is shutting down); its
    // length is bounded by max_concurrent_requests, which Admit checked.
    status = ServiceError(absl::StatusCode::kUnavailable, reason::kDraining,
                          "server is shutting down; retry on another replica");
  }
  Finish(method, context, reactor, status, "", 0);
  return reactor;
}

template <typename Request, typename Response>
void CryptoServiceImpl::Execute(
    const typename QueuedCall<Request, Response>::Parts& call,
    WorkQueue::Clock::duration waited, bool late) {
  const absl::Time start = absl::Now();
  Request request;
  Response response;
  absl::Status status =
      AdmitQueued(call.context->deadline(), absl::FromChrono(waited), late,
                  call.context->IsCancelled());
  if (status.ok()) {
    grpc::ByteBuffer copy(*call.request_bytes);  // Deserialize consumes it
    if (!grpc::SerializationTraits<Request>::Deserialize(&copy, &request)
             .ok()) {
      status = WxError(absl::StatusCode::kInvalidArgument,
                       WxErrorCode::kIllegalBuffer, reason::kRequestInvalid,
                       "request is not a valid message of this RPC (string "
                       "fields must be UTF-8)");
    } else {
      status = (this->*call.handler)(request, response);
    }
  }
  if (status.ok()) {
    bool own_buffer = false;
    if (!grpc::SerializationTraits<Response>::Serialize(
             response, call.response_bytes, &own_buffer)
             .ok()) {
      status = ServiceError(absl::StatusCode::kInternal, reason::kInternal,
                            "response could not be serialized");
    }
  }
  Finish(call.method, call.context, call.reactor, status,
         AppIdOf(request).substr(0, 64),
         absl::ToDoubleSeconds(absl::Now() - start));
}

void CryptoServiceImpl::Finish(Method method,
                               grpc::CallbackServerContext* context,
                               grpc::ServerUnaryReactor* reactor,
                               const absl::Status& status,
                               absl::string_view app_id,
                               double handler_seconds) {
  grpc::Status grpc_status = ToGrpcStatus(status, context);
  const auto code = static_cast<absl::StatusCode>(grpc_status.error_code());
  const std::string reason_word = status.ok() ? "" : GetErrorReason(status);
  if (metrics_ != nullptr) {
    metrics_->RecordRequest(method, code, reason_word, handler_seconds);
  }
  if (!status.ok()) {
    const LogLevel level = code == absl::StatusCode::kInternal
                               ? LogLevel::kError
                               : LogLevel::kDebug;
    if (LogEnabled(level)) {
      // The app id is not secret and names the tenant; the message is the
      // status text, which never holds a secret or plaintext.
      Log(level, "request failed",
          {{"method", std::string(MethodName(method))},
           {"code", absl::StatusCodeToString(code)},
           {"reason",
            reason_word.empty() ? std::string(reason::kInternal) : reason_word},
           {"app_id", std::string(app_id)},
           {"error", std::string(grpc_status.error_message())}});
    }
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  reactor->Finish(grpc_status);
}

grpc::ServerUnaryReactor* CryptoServiceImpl::DecryptPush(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Dispatch(Method::kDecryptPush, context, request, response,
                  &CryptoServiceImpl::HandleDecryptPush);
}

grpc::ServerUnaryReactor* CryptoServiceImpl::BuildEncryptedReply(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Dispatch(Method::kBuildEncryptedReply, context, request, response,
                  &CryptoServiceImpl::HandleBuildEncryptedReply);
}

grpc::ServerUnaryReactor* CryptoServiceImpl::DecryptUserData(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Dispatch(Method::kDecryptUserData, context, request, response,
                  &CryptoServiceImpl::HandleDecryptUserData);
}

grpc::ServerUnaryReactor* CryptoServiceImpl::VerifyRawData(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Dispatch(Method::kVerifyRawData, context, request, response,
                  &CryptoServiceImpl::HandleVerifyRawData);
}

grpc::ServerUnaryReactor* CryptoServiceImpl::VerifyUrl(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Dispatch(Method::kVerifyUrl, context, request, response,
                  &CryptoServiceImpl::HandleVerifyUrl);
}

}  // namespace wxcrypto
