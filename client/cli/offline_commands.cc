// The offline subcommands: seal-push and open-reply (see offline.h).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli/commands.h"
#include "client/cli/offline.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/crypto/base64.h"
#include "server/crypto/random.h"

namespace wxcrypto {
namespace cli {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteMember(JsonWriter& writer, absl::string_view name,
                 absl::string_view value) {
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

int PrintJson(Io& io, const rapidjson::StringBuffer& buffer) {
  return PrintJsonLine(io,
                       absl::string_view(buffer.GetString(), buffer.GetSize()));
}

// ---- seal-push -------------------------------------------------------------

constexpr FlagSpec kSealPushFlags[] = {
    {"token"},        {"encoding-aes-key"}, {"receive-id"}, {"message"},
    {"message-file"}, {"format"},           {"timestamp"},  {"nonce"},
    {"to-user-name"}, {"openid"},           {"output"},
};

int RunSealPush(const ParsedFlags& flags, Io& io) {
  auto output = GetOutput(flags, {"json", "body", "query"});
  if (!output.ok()) return PrintUsageError(io, output.status());
  if (absl::Status status =
          CheckRequired(flags, {"token", "encoding-aes-key", "receive-id"});
      !status.ok()) {
    return PrintUsageError(io, status);
  }
  SealPushParams params;
  params.token = flags.Get("token");
  params.encoding_aes_key = flags.Get("encoding-aes-key");
  params.receive_id = flags.Get("receive-id");
  auto message = ReadValueOrFile(flags, "message", "message-file", io.in);
  if (!message.ok()) return PrintUsageError(io, message.status());
  if (!message->has_value()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError("missing --message or --message-file"));
  }
  params.message = **std::move(message);
  auto format = ParseEnvelopeFormat(flags.Get("format", "xml"));
  if (!format.ok()) return PrintUsageError(io, format.status());
  params.format = *format;
  params.timestamp = flags.Has("timestamp")
                         ? flags.Get("timestamp")
                         : absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  if (flags.Has("nonce")) {
    params.nonce = flags.Get("nonce");
  } else {
    auto nonce = RandomNonce();
    if (!nonce.ok()) {
      return PrintError(io, ReportFromStatus(nonce.status()), kExitFailed);
    }
    params.nonce = *std::move(nonce);
  }
  params.to_user_name = flags.Get("to-user-name", params.to_user_name);
  params.openid = flags.Get("openid");

  auto sealed = SealPush(params);
  if (!sealed.ok()) {
    return PrintError(io, ReportFromStatus(sealed.status()), kExitFailed);
  }
  if (*output == "body") return PrintRaw(io, sealed->body);
  if (*output == "query") return PrintRaw(io, sealed->query);

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteMember(writer, "msg_signature", sealed->msg_signature);
  WriteMember(writer, "signature", sealed->signature);
  WriteMember(writer, "timestamp", sealed->timestamp);
  WriteMember(writer, "nonce", sealed->nonce);
  WriteMember(writer, "encrypt_type", "aes");
  WriteMember(writer, "encrypt", sealed->encrypt);
  WriteMember(writer, "format", EnvelopeFormatName(sealed->format));
  WriteMember(writer, "content_type", EnvelopeContentType(sealed->format));
  WriteMember(writer, "body", sealed->body);
  WriteMember(writer, "query", sealed->query);
  writer.EndObject();
  return PrintJson(io, buffer);
}

constexpr absl::string_view kSealPushHelp =
    R"help(Usage: wxcrypto-cli seal-push --token TOKEN --encoding-aes-key KEY --receive-id ID
         (--message TEXT | --message-file FILE) [--format xml|json|json_lowercase]
         [--timestamp T] [--nonce N] [--to-user-name NAME] [--openid OPENID]
         [--output json|body|query]

Acts as WeChat: encrypts and signs a push, offline, to send to a gateway.

  --token TOKEN             the app's Token (required)
  --encoding-aes-key KEY    the app's 43-character EncodingAESKey (required)
  --receive-id ID           the AppID / CorpID the push is for (required)
  --message TEXT            the plaintext push message (XML or JSON)
  --message-file FILE       read the message from FILE ("-": stdin)
  --format F                the body's dialect: xml (default), json (mini
                            programs), json_lowercase (WeCom)
  --timestamp T             the timestamp (default: now)
  --nonce N                 the nonce (default: 10 random digits)
  --to-user-name NAME       ToUserName of the body (default gh_test)
  --openid OPENID           add openid=OPENID to the query, as official
                            accounts do
  --output json             print everything as JSON (default):
                            {"msg_signature":"..","signature":"..","timestamp":"..",
                             "nonce":"..","encrypt_type":"aes","encrypt":"..",
                             "format":"XML","content_type":"application/xml",
                             "body":"<the POST body>",
                             "query":"signature=..&timestamp=..&nonce=..&encrypt_type=aes&msg_signature=.."}
  --output body             print only the POST body, nothing added
  --output query            print only the query string, nothing added

The query string has WeChat's parameters in WeChat's order, percent-encoded:
signature (over token, timestamp, nonce), timestamp, nonce, openid (if
given), encrypt_type=aes, msg_signature (over those and Encrypt).

Example (one run, so that body and query belong together):
  push=$(wxcrypto-cli seal-push --token T --encoding-aes-key K \
           --receive-id wx123 --message-file push.xml)
  curl -H 'Content-Type: application/xml' \
    --data-binary "$(jq -r .body <<<"$push")" \
    "https://gateway.example/wechat?$(jq -r .query <<<"$push")"
)help";

// ---- open-reply ------------------------------------------------------------

constexpr FlagSpec kOpenReplyFlags[] = {
    {"token"},
    {"encoding-aes-key"},
    {"previous-encoding-aes-key", /*takes_value=*/true, /*repeated=*/true},
    {"receive-id"},
    {"body"},
    {"body-file"},
    {"output"},
};

int RunOpenReply(const ParsedFlags& flags, Io& io) {
  auto output = GetOutput(flags, {"json", "message"});
  if (!output.ok()) return PrintUsageError(io, output.status());
  if (absl::Status status =
          CheckRequired(flags, {"token", "encoding-aes-key", "receive-id"});
      !status.ok()) {
    return PrintUsageError(io, status);
  }
  OpenReplyParams params;
  params.token = flags.Get("token");
  params.encoding_aes_keys.push_back(flags.Get("encoding-aes-key"));
  params.receive_id = flags.Get("receive-id");
  for (std::string& key : flags.GetAll("previous-encoding-aes-key")) {
    params.encoding_aes_keys.push_back(std::move(key));
  }
  auto body = ReadValueOrFile(flags, "body", "body-file", io.in);
  if (!body.ok()) return PrintUsageError(io, body.status());
  if (!body->has_value()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError("missing --body or --body-file"));
  }
  params.body = **std::move(body);

  auto opened = OpenReply(params);
  if (!opened.ok()) {
    return PrintError(io, ReportFromStatus(opened.status()), kExitFailed);
  }
  if (*output == "message") return PrintRaw(io, opened->message);

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteMember(writer, "format", EnvelopeFormatName(opened->format));
  if (IsValidUtf8(opened->message)) {
    WriteMember(writer, "message", opened->message);
  } else {
    WriteMember(writer, "message_base64", Base64Encode(opened->message));
  }
  WriteMember(writer, "timestamp", opened->timestamp);
  WriteMember(writer, "nonce", opened->nonce);
  WriteMember(writer, "msg_signature", opened->msg_signature);
  writer.Key("key_index");
  writer.Uint64(opened->key_index);
  writer.EndObject();
  return PrintJson(io, buffer);
}

constexpr absl::string_view kOpenReplyHelp =
    R"help(Usage: wxcrypto-cli open-reply --token TOKEN --encoding-aes-key KEY
         [--previous-encoding-aes-key KEY]... --receive-id ID
         (--body BODY | --body-file FILE) [--output json|message]

Acts as WeChat: checks and decrypts a gateway's encrypted passive reply,
offline. The envelope may be in any dialect; its MsgSignature is verified
over (token, TimeStamp, Nonce, Encrypt) before anything is decrypted.

  --token TOKEN                     the app's Token (required)
  --encoding-aes-key KEY            the app's current EncodingAESKey (required)
  --previous-encoding-aes-key KEY   a previous key to try too (repeatable)
  --receive-id ID                   the AppID / CorpID (required)
  --body BODY                       the reply body
  --body-file FILE                  read the reply body from FILE ("-": stdin)
  --output json                     print the result as JSON (default):
                                    {"format":"XML|JSON|JSON_LOWERCASE",
                                     "message":"<the decrypted reply>",
                                     "timestamp":"..","nonce":"..",
                                     "msg_signature":"..","key_index":0}
                                    ("message_base64" instead of "message"
                                    if the reply is not valid UTF-8)
  --output message                  print only the decrypted bytes

A wrong signature fails with exit code 1 and wx_error_code -40001.
)help";

constexpr Command kOfflineCommands[] = {
    {"seal-push", "encrypt and sign a push as WeChat sends it", kSealPushHelp,
     kSealPushFlags, /*connects=*/false, RunSealPush},
    {"open-reply", "check and decrypt a gateway's reply as WeChat does",
     kOpenReplyHelp, kOpenReplyFlags, /*connects=*/false, RunOpenReply},
};

}  // namespace

absl::Span<const Command> OfflineCommands() { return kOfflineCommands; }

}  // namespace cli
}  // namespace wxcrypto
