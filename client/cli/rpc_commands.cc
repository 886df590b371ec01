// The RPC subcommands: flags to request, one unary call, response to JSON.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/commands.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace cli {
namespace {

using Stub = ::wxcrypto::v1::CryptoService::Stub;

constexpr absl::string_view kDefaultAddr = "127.0.0.1:50051";
constexpr absl::string_view kDefaultTimeoutSeconds = "5";
// Responses carry at most an 8 MiB push (the service's kMaxEnvelopeSize)
// plus base64 overhead; gRPC's default limit on received messages is 4 MiB.
constexpr int kMaxReceiveMessageSize = 32 << 20;

constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kUint32Max = std::numeric_limits<std::uint32_t>::max();

constexpr FlagSpec kConnectionFlags[] = {
    {"addr"},
    {"timeout-seconds"},
    {"tls", /*takes_value=*/false},
    {"tls-ca"},
    {"tls-cert"},
    {"tls-key"},
    {"tls-server-name"},
};

constexpr FlagSpec kDecryptPushFlags[] = {
    {"app-id"},    {"query"},  {"msg-signature"}, {"signature"},
    {"timestamp"}, {"nonce"},  {"encrypt-type"},  {"body"},
    {"body-file"}, {"output"},
};

constexpr FlagSpec kBuildReplyFlags[] = {
    {"app-id"},
    {"message"},
    {"message-file"},
    {"widget-to-user-name"},
    {"widget-from-user-name"},
    {"widget-create-time"},
    {"widget-lifespan"},
    {"widget-query"},
    {"widget-scene"},
    {"widget-data"},
    {"format"},
    {"timestamp"},
    {"nonce"},
    {"key-index"},
    {"output"},
};

constexpr FlagSpec kDecryptUserDataFlags[] = {
    {"app-id"}, {"session-key"},    {"encrypted-data"}, {"encrypted-data-file"},
    {"iv"},     {"max-age-seconds"}};

constexpr FlagSpec kVerifyRawDataFlags[] = {
    {"raw-data"}, {"raw-data-file"}, {"signature"}, {"session-key"}};

constexpr FlagSpec kVerifyUrlFlags[] = {
    {"app-id"},    {"query"}, {"signature"}, {"msg-signature"},
    {"timestamp"}, {"nonce"}, {"echostr"}};

constexpr absl::string_view kConnectionHelp = R"help(Connection flags:
  --addr HOST:PORT         server address (default 127.0.0.1:50051)
  --timeout-seconds N      deadline of the call, in seconds (default 5)
  --tls                    use TLS, trusting the system's root certificates
  --tls-ca FILE            use TLS, trusting the PEM certificates in FILE
  --tls-cert FILE          use mutual TLS with this PEM client certificate
  --tls-key FILE           ... and this PEM private key (both or neither)
  --tls-server-name NAME   expect NAME in the server's certificate
  Without a --tls* flag the channel is plaintext.
)help";

// A channel and a deadline built from the connection flags.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::chrono::system_clock::time_point deadline;
};

absl::StatusOr<Connection> Connect(const ParsedFlags& flags, std::istream& in) {
  double timeout_seconds = 0;
  // Upper bound: a day, far beyond any sensible deadline, and small enough
  // that the time point cannot overflow.
  if (!absl::SimpleAtod(flags.Get("timeout-seconds", kDefaultTimeoutSeconds),
                        &timeout_seconds) ||
      !std::isfinite(timeout_seconds) || timeout_seconds <= 0 ||
      timeout_seconds > 86400) {
    return absl::InvalidArgumentError(
        "--timeout-seconds wants a number of seconds above 0, at most 86400");
  }
  Connection connection;
  connection.deadline =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(timeout_seconds));

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageSize);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  const bool tls = flags.Has("tls") || flags.Has("tls-ca") ||
                   flags.Has("tls-cert") || flags.Has("tls-key") ||
                   flags.Has("tls-server-name");
  if (!tls) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    if (flags.Has("tls-cert") != flags.Has("tls-key")) {
      return absl::InvalidArgumentError(
          "--tls-cert and --tls-key must be given together");
    }
    grpc::SslCredentialsOptions options;
    // Each file flag: where to read it, where to store it.
    const std::pair<absl::string_view, std::string*> files[] = {
        {"tls-ca", &options.pem_root_certs},
        {"tls-cert", &options.pem_cert_chain},
        {"tls-key", &options.pem_private_key},
    };
    for (const auto& [flag, target] : files) {
      if (!flags.Has(flag)) continue;
      auto contents = ReadFile(flags.Get(flag), in);
      if (!contents.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag, ": ", contents.status().message()));
      }
      *target = *std::move(contents);
    }
    if (flags.Has("tls-server-name")) {
      args.SetSslTargetNameOverride(flags.Get("tls-server-name"));
    }
    credentials = grpc::SslCredentials(options);
  }
  connection.channel = grpc::CreateCustomChannel(
      flags.Get("addr", kDefaultAddr), credentials, args);
  return connection;
}

// Returns the exit code for a failed call.
int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnreachable;
    default:
      return kExitFailed;
  }
}

ErrorReport ReportFromRpc(const grpc::Status& status,
                          const grpc::ClientContext& context) {
  ErrorReport report;
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  report.code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  report.message = status.error_message();
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto it = trailers.find("wx-error-code"); it != trailers.end()) {
    int wx_error_code = 0;
    if (absl::SimpleAtoi(
            absl::string_view(it->second.data(), it->second.size()),
            &wx_error_code)) {
      report.wx_error_code = wx_error_code;
    }
  }
  if (auto it = trailers.find("error-reason"); it != trailers.end()) {
    report.reason = std::string(it->second.data(), it->second.size());
  }
  return report;
}

template <typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                      Response*);

// Connects, calls `method` and, on failure, prints the error. Returns the
// exit code; `response` is set when it is kExitOk.
template <typename Request, typename Response>
int Invoke(const ParsedFlags& flags, Io& io, Method<Request, Response> method,
           const Request& request, Response* response) {
  auto connection = Connect(flags, io.in);
  if (!connection.ok()) return PrintUsageError(io, connection.status());
  Stub stub(connection->channel);
  grpc::ClientContext context;
  context.set_deadline(connection->deadline);
  grpc::Status status = (stub.*method)(&context, request, response);
  if (!status.ok()) {
    return PrintError(io, ReportFromRpc(status, context), ExitCodeFor(status));
  }
  return kExitOk;
}

int PrintResponse(Io& io, const google::protobuf::Message& response) {
  auto json = MessageToJson(response);
  if (!json.ok()) {
    return PrintError(io, ReportFromStatus(json.status()), kExitFailed);
  }
  return PrintJsonLine(io, *json);
}

// Sets the fields a query string carries, then lets explicit flags override
// them. `fields` maps a query parameter (and its flag, with '-' for '_') to
// the request field it sets.
template <typename Request>
absl::Status ApplyQueryAndFlags(
    const ParsedFlags& flags, Request& request,
    absl::Span<const std::pair<absl::string_view, std::string* (Request::*)()>>
        fields) {
  if (flags.Has("query")) {
    auto params = ParseQueryString(flags.Get("query"));
    if (!params.ok()) return params.status();
    for (const auto& [name, value] : *params) {
      for (const auto& [param, field] : fields) {
        if (name == param) *(request.*field)() = value;
      }
    }
  }
  for (const auto& [param, field] : fields) {
    std::string flag(param);
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (flags.Has(flag)) *(request.*field)() = flags.Get(flag);
  }
  return absl::OkStatus();
}

// ---- decrypt-push ----------------------------------------------------------

int RunDecryptPush(const ParsedFlags& flags, Io& io) {
  using Request = v1::DecryptPushRequest;
  auto output = GetOutput(flags, {"json", "message"});
  if (!output.ok()) return PrintUsageError(io, output.status());
  Request request;
  auto app_id = flags.GetRequired("app-id");
  if (!app_id.ok()) return PrintUsageError(io, app_id.status());
  request.set_app_id(*app_id);
  using Field = std::string* (Request::*)();
  const std::pair<absl::string_view, Field> fields[] = {
      {"msg_signature", &Request::mutable_msg_signature},
      {"signature", &Request::mutable_signature},
      {"timestamp", &Request::mutable_timestamp},
      {"nonce", &Request::mutable_nonce},
      {"encrypt_type", &Request::mutable_encrypt_type},
  };
  if (absl::Status status = ApplyQueryAndFlags<Request>(flags, request, fields);
      !status.ok()) {
    return PrintUsageError(io, status);
  }
  auto body = ReadValueOrFile(flags, "body", "body-file", io.in);
  if (!body.ok()) return PrintUsageError(io, body.status());
  if (!body->has_value()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError("missing --body or --body-file"));
  }
  request.set_body(**std::move(body));

  v1::DecryptPushResponse response;
  if (int code = Invoke(flags, io, &Stub::DecryptPush, request, &response);
      code != kExitOk) {
    return code;
  }
  if (*output == "message") return PrintRaw(io, response.message());
  return PrintResponse(io, response);
}

constexpr absl::string_view kDecryptPushHelp =
    R"help(Usage: wxcrypto-cli decrypt-push --app-id ID [--query QUERY]
         [--msg-signature S] [--signature S] [--timestamp T] [--nonce N]
         [--encrypt-type aes|raw] (--body BODY | --body-file FILE)
         [--output json|message] [connection flags]

Calls DecryptPush: verifies and opens a push as a gateway received it.

  --app-id ID          the app, as configured in the server (required)
  --query QUERY        the push URL's query string (or the whole URL):
                       msg_signature, signature, timestamp, nonce and
                       encrypt_type are taken from it; the flags below
                       override single values
  --msg-signature S    the msg_signature parameter
  --signature S        the signature parameter
  --timestamp T        the timestamp parameter
  --nonce N            the nonce parameter
  --encrypt-type E     the encrypt_type parameter: "aes", or "" / "raw"
                       for a plaintext push (default "")
  --body BODY          the POST body (XML or JSON)
  --body-file FILE     read the body from FILE ("-": stdin)
  --output json        print the response as JSON (default):
                       {"message":"<base64>","envelope_format":"ENVELOPE_FORMAT_XML",
                        "encrypted":true,"fields":{...},"key_index":0,
                        "message_text":"<the message, if valid UTF-8>"}
  --output message     print only the message bytes, nothing added
)help";

// ---- build-reply -----------------------------------------------------------

constexpr absl::string_view kWidgetFlags[] = {
    "widget-to-user-name", "widget-from-user-name", "widget-create-time",
    "widget-lifespan",     "widget-query",          "widget-scene",
    "widget-data"};

int RunBuildReply(const ParsedFlags& flags, Io& io) {
  auto output = GetOutput(flags, {"json", "body"});
  if (!output.ok()) return PrintUsageError(io, output.status());
  v1::BuildEncryptedReplyRequest request;
  auto app_id = flags.GetRequired("app-id");
  if (!app_id.ok()) return PrintUsageError(io, app_id.status());
  request.set_app_id(*app_id);

  auto format_name = flags.GetRequired("format");
  if (!format_name.ok()) return PrintUsageError(io, format_name.status());
  auto format = ParseEnvelopeFormat(*format_name);
  if (!format.ok()) return PrintUsageError(io, format.status());
  request.set_envelope_format(static_cast<v1::EnvelopeFormat>(*format));
  if (flags.Has("timestamp")) request.set_timestamp(flags.Get("timestamp"));
  if (flags.Has("nonce")) request.set_nonce(flags.Get("nonce"));
  auto key_index = flags.GetInt("key-index", 0, 0, kUint32Max);
  if (!key_index.ok()) return PrintUsageError(io, key_index.status());
  request.set_key_index(static_cast<std::uint32_t>(*key_index));

  auto message = ReadValueOrFile(flags, "message", "message-file", io.in);
  if (!message.ok()) return PrintUsageError(io, message.status());
  bool widget = false;
  for (absl::string_view name : kWidgetFlags)
    widget = widget || flags.Has(name);
  if (message->has_value() && widget) {
    return PrintUsageError(
        io, absl::InvalidArgumentError(
                "--message / --message-file cannot be combined with "
                "--widget-* flags"));
  }
  if (message->has_value()) request.set_message(**std::move(message));
  if (widget) {
    v1::WidgetData& data = *request.mutable_widget_data();
    data.set_to_user_name(flags.Get("widget-to-user-name"));
    data.set_from_user_name(flags.Get("widget-from-user-name"));
    data.set_query(flags.Get("widget-query"));
    data.set_data(flags.Get("widget-data"));
    auto create_time =
        flags.GetInt("widget-create-time", 0, kInt64Min, kInt64Max);
    auto lifespan = flags.GetInt("widget-lifespan", 0, kInt32Min, kInt32Max);
    auto scene = flags.GetInt("widget-scene", 0, kInt32Min, kInt32Max);
    for (const absl::Status& status :
         {create_time.status(), lifespan.status(), scene.status()}) {
      if (!status.ok()) return PrintUsageError(io, status);
    }
    data.set_create_time(*create_time);
    data.set_lifespan(static_cast<std::int32_t>(*lifespan));
    data.set_scene(static_cast<std::int32_t>(*scene));
  }

  v1::BuildEncryptedReplyResponse response;
  if (int code =
          Invoke(flags, io, &Stub::BuildEncryptedReply, request, &response);
      code != kExitOk) {
    return code;
  }
  if (*output == "body") return PrintRaw(io, response.body());
  return PrintResponse(io, response);
}

constexpr absl::string_view kBuildReplyHelp =
    R"help(Usage: wxcrypto-cli build-reply --app-id ID --format xml|json|json_lowercase
         [--message TEXT | --message-file FILE | --widget-* ...]
         [--timestamp T] [--nonce N] [--key-index N]
         [--output json|body] [connection flags]

Calls BuildEncryptedReply: encrypts and signs a passive reply.

  --app-id ID               the app, as configured in the server (required)
  --format F                the reply's dialect (required): xml, json or
                            json_lowercase; decrypt-push's envelope_format
                            (ENVELOPE_FORMAT_JSON, ...) is accepted too
  --message TEXT            the reply message (XML or JSON)
  --message-file FILE       read the reply message from FILE ("-": stdin)
                            (neither, and no widget flags: an empty message)
  --widget-to-user-name S   a search widget reply instead (WidgetData):
  --widget-from-user-name S   to_user_name, from_user_name,
  --widget-create-time N      create_time (Unix seconds, 0 = now),
  --widget-lifespan N         lifespan (seconds),
  --widget-query S            query (the push's Query, as received),
  --widget-scene N            scene (0 = 1),
  --widget-data JSON          data (a JSON document as text)
  --timestamp T             the reply's timestamp (default: now)
  --nonce N                 the reply's nonce (default: random)
  --key-index N             the key to encrypt with: decrypt-push's key_index
                            (default 0, the current key)
  --output json             print the response as JSON (default):
                            {"body":"<base64>","content_type":"application/xml",
                             "encrypt":"..","msg_signature":"..","timestamp":"..",
                             "nonce":"..","body_text":"<the body as text>"}
  --output body             print only the body bytes, nothing added
)help";

// ---- decrypt-user-data -----------------------------------------------------

int RunDecryptUserData(const ParsedFlags& flags, Io& io) {
  v1::DecryptUserDataRequest request;
  if (absl::Status status =
          CheckRequired(flags, {"app-id", "session-key", "iv"});
      !status.ok()) {
    return PrintUsageError(io, status);
  }
  auto encrypted_data =
      ReadValueOrFile(flags, "encrypted-data", "encrypted-data-file", io.in);
  if (!encrypted_data.ok()) return PrintUsageError(io, encrypted_data.status());
  if (!encrypted_data->has_value()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError("missing --encrypted-data or "
                                       "--encrypted-data-file"));
  }
  auto max_age = flags.GetInt("max-age-seconds", 0, kInt64Min, kInt64Max);
  if (!max_age.ok()) return PrintUsageError(io, max_age.status());
  request.set_app_id(flags.Get("app-id"));
  request.set_session_key(flags.Get("session-key"));
  request.set_iv(flags.Get("iv"));
  request.set_encrypted_data(**std::move(encrypted_data));
  request.set_max_age_seconds(*max_age);

  v1::DecryptUserDataResponse response;
  if (int code = Invoke(flags, io, &Stub::DecryptUserData, request, &response);
      code != kExitOk) {
    return code;
  }
  return PrintResponse(io, response);
}

constexpr absl::string_view kDecryptUserDataHelp =
    R"help(Usage: wxcrypto-cli decrypt-user-data --app-id ID --session-key KEY
         (--encrypted-data B64 | --encrypted-data-file FILE) --iv B64
         [--max-age-seconds N] [connection flags]

Calls DecryptUserData: decrypts mini program open data.

  --app-id ID                  the mini program's AppID (required)
  --session-key KEY            the user's session_key, base64 (required)
  --encrypted-data B64         encryptedData, base64
  --encrypted-data-file FILE   read encryptedData from FILE ("-": stdin)
  --iv B64                     iv, base64 (required)
  --max-age-seconds N          reject a watermark older than N seconds
                               (default 0: no check)

Output: {"data":"<base64>","watermark_app_id":"..","watermark_timestamp":"<int64 as string>",
         "data_text":"<the decrypted JSON>"}
)help";

// ---- verify-raw-data -------------------------------------------------------

int RunVerifyRawData(const ParsedFlags& flags, Io& io) {
  v1::VerifyRawDataRequest request;
  auto raw_data = ReadValueOrFile(flags, "raw-data", "raw-data-file", io.in);
  if (!raw_data.ok()) return PrintUsageError(io, raw_data.status());
  if (!raw_data->has_value()) {
    return PrintUsageError(io, absl::InvalidArgumentError(
                                   "missing --raw-data or --raw-data-file"));
  }
  if (absl::Status status = CheckRequired(flags, {"signature", "session-key"});
      !status.ok()) {
    return PrintUsageError(io, status);
  }
  request.set_raw_data(**std::move(raw_data));
  request.set_signature(flags.Get("signature"));
  request.set_session_key(flags.Get("session-key"));

  v1::VerifyRawDataResponse response;
  if (int code = Invoke(flags, io, &Stub::VerifyRawData, request, &response);
      code != kExitOk) {
    return code;
  }
  return PrintResponse(io, response);
}

constexpr absl::string_view kVerifyRawDataHelp =
    R"help(Usage: wxcrypto-cli verify-raw-data (--raw-data TEXT | --raw-data-file FILE)
         --signature HEX --session-key KEY [connection flags]

Calls VerifyRawData: checks the rawData signature of wx.getUserInfo.

  --raw-data TEXT          rawData, exactly as the mini program got it
  --raw-data-file FILE     read rawData from FILE ("-": stdin)
  --signature HEX          signature, hex SHA-1 (required)
  --session-key KEY        the user's session_key, base64 (required)

Output: {"valid":true} or {"valid":false}; the exit code is 0 either way.
)help";

// ---- verify-url ------------------------------------------------------------

int RunVerifyUrl(const ParsedFlags& flags, Io& io) {
  using Request = v1::VerifyUrlRequest;
  Request request;
  auto app_id = flags.GetRequired("app-id");
  if (!app_id.ok()) return PrintUsageError(io, app_id.status());
  request.set_app_id(*app_id);
  using Field = std::string* (Request::*)();
  const std::pair<absl::string_view, Field> fields[] = {
      {"signature", &Request::mutable_signature},
      {"msg_signature", &Request::mutable_msg_signature},
      {"timestamp", &Request::mutable_timestamp},
      {"nonce", &Request::mutable_nonce},
      {"echostr", &Request::mutable_echostr},
  };
  if (absl::Status status = ApplyQueryAndFlags<Request>(flags, request, fields);
      !status.ok()) {
    return PrintUsageError(io, status);
  }

  v1::VerifyUrlResponse response;
  if (int code = Invoke(flags, io, &Stub::VerifyUrl, request, &response);
      code != kExitOk) {
    return code;
  }
  return PrintResponse(io, response);
}

constexpr absl::string_view kVerifyUrlHelp =
    R"help(Usage: wxcrypto-cli verify-url --app-id ID [--query QUERY]
         [--signature S | --msg-signature S] [--timestamp T] [--nonce N]
         [--echostr E] [connection flags]

Calls VerifyUrl: answers WeChat's GET check of the webhook URL.

  --app-id ID          the app, as configured in the server (required)
  --query QUERY        the GET's query string (or the whole URL):
                       signature, msg_signature, timestamp, nonce and echostr
                       are taken from it, URL-decoded; the flags below
                       override single values
  --signature S        the signature parameter (official accounts)
  --msg-signature S    the msg_signature parameter (WeCom)
  --timestamp T        the timestamp parameter
  --nonce N            the nonce parameter
  --echostr E          the echostr parameter, URL-decoded

Output: {"echostr":"<what to return as the HTTP body>"}
)help";

constexpr Command kRpcCommands[] = {
    {"decrypt-push", "verify and decrypt a push (DecryptPush)",
     kDecryptPushHelp, kDecryptPushFlags, /*connects=*/true, RunDecryptPush},
    {"build-reply", "encrypt and sign a passive reply (BuildEncryptedReply)",
     kBuildReplyHelp, kBuildReplyFlags, /*connects=*/true, RunBuildReply},
    {"decrypt-user-data", "decrypt mini program open data (DecryptUserData)",
     kDecryptUserDataHelp, kDecryptUserDataFlags, /*connects=*/true,
     RunDecryptUserData},
    {"verify-raw-data",
     "check a wx.getUserInfo rawData signature (VerifyRawData)",
     kVerifyRawDataHelp, kVerifyRawDataFlags, /*connects=*/true,
     RunVerifyRawData},
    {"verify-url", "answer WeChat's webhook URL check (VerifyUrl)",
     kVerifyUrlHelp, kVerifyUrlFlags, /*connects=*/true, RunVerifyUrl},
};

}  // namespace

absl::Span<const Command> RpcCommands() { return kRpcCommands; }

absl::Span<const FlagSpec> ConnectionFlags() { return kConnectionFlags; }

absl::string_view ConnectionHelp() { return kConnectionHelp; }

}  // namespace cli
}  // namespace wxcrypto
