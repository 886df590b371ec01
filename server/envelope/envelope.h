// The envelopes WeChat wraps encrypted messages in, in its three dialects.
//
// clang-format off
// Push (WeChat -> gateway), encrypted or in compatible mode:
//   XML             <xml><ToUserName><![CDATA[gh_..]]></ToUserName>
//                   <Encrypt><![CDATA[...]]></Encrypt></xml>
//   JSON            {"ToUserName":"gh_..","Encrypt":"..."}         (mini programs)
//   JSON_LOWERCASE  {"tousername":"..","encrypt":"...","agentid":".."}  (WeCom)
//
// Reply (gateway -> WeChat):
//   XML             <xml><Encrypt><![CDATA[..]]></Encrypt>
//                   <MsgSignature><![CDATA[..]]></MsgSignature>
//                   <TimeStamp>1409735669</TimeStamp>
//                   <Nonce><![CDATA[..]]></Nonce></xml>
//   JSON            {"Encrypt":"..","MsgSignature":"..","TimeStamp":1713424427,"Nonce":".."}
//   JSON_LOWERCASE  {"encrypt":"..","msgsignature":"..","timestamp":"..","nonce":".."}
// clang-format on
//
// Parsing never expands DTDs or custom entities (a DOCTYPE is rejected) and
// bounds input size and nesting depth.
#ifndef WXCRYPTO_SERVER_ENVELOPE_ENVELOPE_H_
#define WXCRYPTO_SERVER_ENVELOPE_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wxcrypto {

// Upper bound on a push or reply body. Larger input fails with
// ENVELOPE_TOO_LARGE before any parsing.
inline constexpr std::size_t kMaxEnvelopeSize = 8 << 20;
// Upper bound on element / array / object nesting in any parsed document.
inline constexpr std::size_t kMaxNestingDepth = 64;
// Upper bound on the pieces of markup (tags, comments, CDATA sections,
// processing instructions) plus attributes in a parsed XML document. It
// keeps the XML parser's memory near 11 MB for any input, instead of 16
// times the input size.
inline constexpr std::size_t kMaxXmlMarkup = 1 << 16;

// Values match wxcrypto.v1.EnvelopeFormat.
enum class EnvelopeFormat { kXml = 1, kJson = 2, kJsonLowercase = 3 };

// Returns "XML", "JSON" or "JSON_LOWERCASE".
absl::string_view EnvelopeFormatName(EnvelopeFormat format);

// A parsed push body.
struct PushEnvelope {
  EnvelopeFormat format = EnvelopeFormat::kXml;
  // True if the body has an Encrypt (encrypt) field.
  bool has_encrypt = false;
  // The Encrypt value, CDATA unwrapped; empty if !has_encrypt.
  std::string encrypt;
};

// Detects the dialect from the body (first non-whitespace byte '<' = XML,
// '{' = JSON; for JSON, an "encrypt" key = JSON_LOWERCASE, otherwise JSON) and
// extracts Encrypt. Errors: InvalidArgument, -40002 / ENVELOPE_INVALID
// (malformed, DOCTYPE, root not <xml>, Encrypt not a string, too deep), or
// ENVELOPE_TOO_LARGE.
absl::StatusOr<PushEnvelope> ParsePushEnvelope(absl::string_view body);

// The four values of an encrypted reply.
struct ReplyFields {
  std::string encrypt;
  std::string msg_signature;
  std::string timestamp;
  std::string nonce;
};

// Builds a reply body. `timestamp` must be 1..20 decimal digits (the JSON
// dialect writes it as a number); `nonce` 1..128 printable ASCII characters;
// `encrypt` and `msg_signature` non-empty base64 / hex. Errors:
// InvalidArgument, -40011 / REPLY_INVALID.
absl::StatusOr<std::string> BuildReplyEnvelope(EnvelopeFormat format,
                                               const ReplyFields& fields);

// Parses a reply body in any dialect (what WeChat does with the reply; used
// by the CLI's open-reply and by tests). Errors as ParsePushEnvelope.
absl::StatusOr<std::pair<EnvelopeFormat, ReplyFields>> ParseReplyEnvelope(
    absl::string_view body);

// Builds a push body as WeChat sends it: XML with ToUserName and Encrypt,
// JSON {"ToUserName","Encrypt"} or JSON_LOWERCASE {"tousername","encrypt",
// "agentid"} (agentid empty). Used by the CLI's seal-push and by tests.
absl::StatusOr<std::string> BuildPushEnvelope(EnvelopeFormat format,
                                              absl::string_view to_user_name,
                                              absl::string_view encrypt);

// Returns the content type of a body in `format`: "application/xml" or
// "application/json".
absl::string_view EnvelopeContentType(EnvelopeFormat format);

// Top-level fields of a decrypted message, in document order; when a name
// repeats, the first occurrence is kept.
using FieldList = std::vector<std::pair<std::string, std::string>>;

// Extracts the top-level fields of a message (XML or JSON, detected from the
// first non-whitespace byte). XML: each child element of <xml>, text with
// CDATA unwrapped and predefined/numeric character references decoded; a
// child that has element children yields its inner XML verbatim. JSON: each
// top-level key; strings unescaped, other values as compact JSON text.
// Errors: InvalidArgument, -40002 / MESSAGE_INVALID.
absl::StatusOr<FieldList> ExtractMessageFields(absl::string_view message);

// The mini program search widget's passive reply (MsgType widget_data).
struct WidgetDataReply {
  std::string to_user_name;
  std::string from_user_name;
  std::int64_t create_time = 0;
  // Seconds the data may be cached.
  std::int32_t lifespan = 0;
  // The Query of the push, exactly as received (itself a JSON string).
  std::string query;
  std::int32_t scene = 1;
  // The widget data, a JSON document as text.
  std::string data;
};

// Builds the widget_data reply message in XML or JSON (kJsonLowercase is
// treated as kJson). Content is the JSON text of
// {"lifespan":N,"query":"<query>","scene":S,"data":"<data>"} where query and
// data are JSON strings holding the given texts (double encoding), and in
// the JSON dialect Content itself is a JSON string. Errors: InvalidArgument,
// -40011 / REPLY_INVALID (data not valid JSON, lifespan negative).
absl::StatusOr<std::string> BuildWidgetDataReply(EnvelopeFormat format,
                                                 const WidgetDataReply& reply);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_ENVELOPE_ENVELOPE_H_
