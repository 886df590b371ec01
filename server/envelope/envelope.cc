#include "server/envelope/envelope.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/crypto/error.h"
#include "server/envelope/document.h"
#include "server/envelope/text.h"

namespace wxcrypto {
namespace {

// RFC 4648 section 4 alphabet plus padding; WeChat's Encrypt is standard
// base64.
constexpr absl::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
constexpr absl::string_view kHexAlphabet = "0123456789abcdefABCDEF";
constexpr absl::string_view kDigits = "0123456789";
// From the header: timestamp 1..20 digits (2^64 has 20), nonce 1..128.
constexpr std::size_t kMaxTimestampDigits = 20;
constexpr std::size_t kMaxNonceSize = 128;

// The JSON names of the reply fields, per dialect.
struct ReplyNames {
  absl::string_view encrypt;
  absl::string_view msg_signature;
  absl::string_view timestamp;
  absl::string_view nonce;
};
constexpr ReplyNames kReplyNames = {"Encrypt", "MsgSignature", "TimeStamp",
                                    "Nonce"};
constexpr ReplyNames kLowercaseReplyNames = {"encrypt", "msgsignature",
                                             "timestamp", "nonce"};

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

absl::Status EnvelopeInvalid(absl::string_view message) {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kParseXmlError, reason::kEnvelopeInvalid,
                 message);
}

absl::Status EnvelopeTooLarge() {
  return WxError(
      absl::StatusCode::kInvalidArgument, WxErrorCode::kParseXmlError,
      reason::kEnvelopeTooLarge,
      absl::StrCat("envelope is larger than ", kMaxEnvelopeSize, " bytes"));
}

absl::Status ReplyInvalid(absl::string_view message) {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kGenReturnXmlError, reason::kReplyInvalid,
                 message);
}

bool IsKnownFormat(EnvelopeFormat format) {
  return format == EnvelopeFormat::kXml || format == EnvelopeFormat::kJson ||
         format == EnvelopeFormat::kJsonLowercase;
}

// The fields the envelope parsers look at. Only these are copied out, so
// that an unauthenticated body with a million small fields costs no more
// memory than one with two.
constexpr absl::string_view kPushXmlNames[] = {"Encrypt"};
constexpr absl::string_view kPushJsonNames[] = {"Encrypt", "encrypt"};
constexpr absl::string_view kReplyXmlNames[] = {"Encrypt", "MsgSignature",
                                                "TimeStamp", "Nonce"};
constexpr absl::string_view kReplyJsonNames[] = {
    "Encrypt", "MsgSignature", "TimeStamp", "Nonce",
    "encrypt", "msgsignature", "timestamp", "nonce"};

// Reads the fields of an XML or JSON document, chosen by its first
// non-whitespace byte, keeping those in `xml_names` or `json_names` (all if
// empty). Errors carry `reason`.
absl::StatusOr<std::vector<DocumentField>> ReadFields(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> xml_names,
    absl::Span<const absl::string_view> json_names, bool& is_xml) {
  const char first = FirstNonSpace(text);
  if (first == '<') {
    is_xml = true;
    return ReadXmlFields(text, reason, xml_names);
  }
  if (first == '{') {
    is_xml = false;
    return ReadJsonFields(text, reason, json_names);
  }
  return WxError(
      absl::StatusCode::kInvalidArgument, WxErrorCode::kParseXmlError, reason,
      first == '\0' ? "empty document" : "not an XML element or a JSON object");
}

// Returns the index of the one field named `name`, -1 if there is none, or
// an error if there are several.
absl::StatusOr<int> FindUnique(const std::vector<DocumentField>& fields,
                               absl::string_view name) {
  int found = -1;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name != name) continue;
    if (found >= 0) {
      return EnvelopeInvalid(absl::StrCat("more than one ", name, " field"));
    }
    found = static_cast<int>(i);
  }
  return found;
}

// Checks the reply fields against the rules in envelope.h; failures are
// reported through `error` (REPLY_INVALID when building, ENVELOPE_INVALID
// when parsing).
absl::Status CheckReplyFields(EnvelopeFormat format, const ReplyFields& fields,
                              absl::Status (*error)(absl::string_view)) {
  if (!IsNonEmptyOver(fields.encrypt, kBase64Alphabet)) {
    return error("Encrypt must be non-empty base64");
  }
  if (!IsNonEmptyOver(fields.msg_signature, kHexAlphabet)) {
    return error("MsgSignature must be non-empty hex");
  }
  if (!IsNonEmptyOver(fields.timestamp, kDigits) ||
      fields.timestamp.size() > kMaxTimestampDigits) {
    return error("TimeStamp must be 1 to 20 decimal digits");
  }
  // A JSON number cannot have a leading zero (RFC 8259 section 6), and
  // dropping it would change the signed value.
  if (format == EnvelopeFormat::kJson && fields.timestamp.size() > 1 &&
      fields.timestamp[0] == '0') {
    return error("TimeStamp has a leading zero, which JSON cannot carry");
  }
  if (fields.nonce.empty() || fields.nonce.size() > kMaxNonceSize) {
    return error("Nonce must be 1 to 128 characters");
  }
  for (char c : fields.nonce) {
    if (c < 0x20 || c > 0x7e) {
      return error("Nonce must be printable ASCII");
    }
  }
  // The XML dialect carries Nonce in CDATA, which "]]>" would close.
  if (format == EnvelopeFormat::kXml &&
      absl::StrContains(fields.nonce, "]]>")) {
    return error("Nonce must not contain \"]]>\"");
  }
  return absl::OkStatus();
}

void AppendXmlElement(absl::string_view name, absl::string_view text,
                      std::string& out) {
  absl::StrAppend(&out, "<", name, ">");
  AppendCdata(text, out);
  absl::StrAppend(&out, "</", name, ">");
}

void WriteJsonString(JsonWriter& writer, absl::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteJsonKey(JsonWriter& writer, absl::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

std::string TakeJson(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

absl::string_view EnvelopeFormatName(EnvelopeFormat format) {
  switch (format) {
    case EnvelopeFormat::kXml:
      return "XML";
    case EnvelopeFormat::kJson:
      return "JSON";
    case EnvelopeFormat::kJsonLowercase:
      return "JSON_LOWERCASE";
  }
  return "";
}

absl::string_view EnvelopeContentType(EnvelopeFormat format) {
  switch (format) {
    case EnvelopeFormat::kXml:
      return "application/xml";
    case EnvelopeFormat::kJson:
    case EnvelopeFormat::kJsonLowercase:
      return "application/json";
  }
  return "";
}

absl::StatusOr<PushEnvelope> ParsePushEnvelope(absl::string_view body) {
  if (body.size() > kMaxEnvelopeSize) return EnvelopeTooLarge();
  bool is_xml = false;
  absl::StatusOr<std::vector<DocumentField>> fields = ReadFields(
      body, reason::kEnvelopeInvalid, kPushXmlNames, kPushJsonNames, is_xml);
  if (!fields.ok()) return fields.status();

  PushEnvelope envelope;
  absl::StatusOr<int> found = FindUnique(*fields, "Encrypt");
  if (!found.ok()) return found.status();
  if (is_xml) {
    envelope.format = EnvelopeFormat::kXml;
  } else {
    absl::StatusOr<int> lowercase = FindUnique(*fields, "encrypt");
    if (!lowercase.ok()) return lowercase.status();
    if (*found >= 0 && *lowercase >= 0) {
      return EnvelopeInvalid("both Encrypt and encrypt fields");
    }
    if (*lowercase >= 0) {
      envelope.format = EnvelopeFormat::kJsonLowercase;
      found = lowercase;
    } else {
      envelope.format = EnvelopeFormat::kJson;
    }
  }
  if (*found >= 0) {
    DocumentField& encrypt = (*fields)[static_cast<std::size_t>(*found)];
    if (encrypt.kind != FieldKind::kText) {
      return EnvelopeInvalid(is_xml ? "Encrypt has child elements"
                                    : "Encrypt is not a string");
    }
    envelope.has_encrypt = true;
    envelope.encrypt = std::move(encrypt.value);
  }
  return envelope;
}

absl::StatusOr<std::string> BuildReplyEnvelope(EnvelopeFormat format,
                                               const ReplyFields& fields) {
  if (!IsKnownFormat(format)) return ReplyInvalid("unknown envelope format");
  absl::Status checked = CheckReplyFields(format, fields, ReplyInvalid);
  if (!checked.ok()) return checked;

  std::string body;
  if (format == EnvelopeFormat::kXml) {
    body.reserve(fields.encrypt.size() + fields.msg_signature.size() +
                 fields.nonce.size() + 160);
    body.append("<xml>");
    AppendXmlElement("Encrypt", fields.encrypt, body);
    AppendXmlElement("MsgSignature", fields.msg_signature, body);
    absl::StrAppend(&body, "<TimeStamp>", fields.timestamp, "</TimeStamp>");
    AppendXmlElement("Nonce", fields.nonce, body);
    body.append("</xml>");
  } else {
    const bool lowercase = format == EnvelopeFormat::kJsonLowercase;
    const ReplyNames& names = lowercase ? kLowercaseReplyNames : kReplyNames;
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    writer.StartObject();
    WriteJsonKey(writer, names.encrypt);
    WriteJsonString(writer, fields.encrypt);
    WriteJsonKey(writer, names.msg_signature);
    WriteJsonString(writer, fields.msg_signature);
    WriteJsonKey(writer, names.timestamp);
    if (lowercase) {
      WriteJsonString(writer, fields.timestamp);
    } else {
      // Checked above: digits without a leading zero, a valid JSON number.
      writer.RawValue(fields.timestamp.data(), fields.timestamp.size(),
                      rapidjson::kNumberType);
    }
    WriteJsonKey(writer, names.nonce);
    WriteJsonString(writer, fields.nonce);
    writer.EndObject();
    body = TakeJson(buffer);
  }
  if (body.size() > kMaxEnvelopeSize) {
    return ReplyInvalid("reply would be larger than the envelope limit");
  }
  return body;
}

absl::StatusOr<std::pair<EnvelopeFormat, ReplyFields>> ParseReplyEnvelope(
    absl::string_view body) {
  if (body.size() > kMaxEnvelopeSize) return EnvelopeTooLarge();
  bool is_xml = false;
  absl::StatusOr<std::vector<DocumentField>> fields = ReadFields(
      body, reason::kEnvelopeInvalid, kReplyXmlNames, kReplyJsonNames, is_xml);
  if (!fields.ok()) return fields.status();

  EnvelopeFormat format = EnvelopeFormat::kXml;
  if (!is_xml) {
    absl::StatusOr<int> upper = FindUnique(*fields, kReplyNames.encrypt);
    if (!upper.ok()) return upper.status();
    absl::StatusOr<int> lower =
        FindUnique(*fields, kLowercaseReplyNames.encrypt);
    if (!lower.ok()) return lower.status();
    if (*upper >= 0 && *lower >= 0) {
      return EnvelopeInvalid("both Encrypt and encrypt fields");
    }
    format =
        *lower >= 0 ? EnvelopeFormat::kJsonLowercase : EnvelopeFormat::kJson;
  }
  const ReplyNames& names = format == EnvelopeFormat::kJsonLowercase
                                ? kLowercaseReplyNames
                                : kReplyNames;

  ReplyFields reply;
  const std::pair<absl::string_view, std::string*> wanted[] = {
      {names.encrypt, &reply.encrypt},
      {names.msg_signature, &reply.msg_signature},
      {names.timestamp, &reply.timestamp},
      {names.nonce, &reply.nonce},
  };
  for (const auto& [name, value] : wanted) {
    absl::StatusOr<int> index = FindUnique(*fields, name);
    if (!index.ok()) return index.status();
    if (*index < 0) return EnvelopeInvalid(absl::StrCat("no ", name, " field"));
    DocumentField& field = (*fields)[static_cast<std::size_t>(*index)];
    // The JSON dialect writes TimeStamp as a number; accept either.
    const bool number_ok = !is_xml && name == names.timestamp;
    if (field.kind != FieldKind::kText &&
        !(number_ok && field.kind == FieldKind::kNumber)) {
      return EnvelopeInvalid(absl::StrCat(name, " is not text"));
    }
    *value = std::move(field.value);
  }
  absl::Status checked = CheckReplyFields(format, reply, EnvelopeInvalid);
  if (!checked.ok()) return checked;
  return std::make_pair(format, std::move(reply));
}

absl::StatusOr<std::string> BuildPushEnvelope(EnvelopeFormat format,
                                              absl::string_view to_user_name,
                                              absl::string_view encrypt) {
  auto invalid = [](absl::string_view message) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid,
                   message);
  };
  if (!IsKnownFormat(format)) return invalid("unknown envelope format");
  if (!IsNonEmptyOver(encrypt, kBase64Alphabet)) {
    return invalid("Encrypt must be non-empty base64");
  }
  if (!(format == EnvelopeFormat::kXml ? IsXmlText(to_user_name)
                                       : IsUtf8(to_user_name))) {
    return invalid("ToUserName is not UTF-8 text");
  }
  std::string body;
  if (format == EnvelopeFormat::kXml) {
    body.reserve(to_user_name.size() + encrypt.size() + 100);
    body.append("<xml>");
    AppendXmlElement("ToUserName", to_user_name, body);
    AppendXmlElement("Encrypt", encrypt, body);
    body.append("</xml>");
  } else {
    const bool lowercase = format == EnvelopeFormat::kJsonLowercase;
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    writer.StartObject();
    WriteJsonKey(writer, lowercase ? "tousername" : "ToUserName");
    WriteJsonString(writer, to_user_name);
    WriteJsonKey(writer, lowercase ? "encrypt" : "Encrypt");
    WriteJsonString(writer, encrypt);
    if (lowercase) {
      WriteJsonKey(writer, "agentid");
      WriteJsonString(writer, "");
    }
    writer.EndObject();
    body = TakeJson(buffer);
  }
  if (body.size() > kMaxEnvelopeSize) {
    return invalid("push would be larger than the envelope limit");
  }
  return body;
}

absl::StatusOr<FieldList> ExtractMessageFields(absl::string_view message) {
  if (message.size() > kMaxEnvelopeSize) {
    return WxError(
        absl::StatusCode::kInvalidArgument, WxErrorCode::kParseXmlError,
        reason::kMessageInvalid,
        absl::StrCat("message is larger than ", kMaxEnvelopeSize, " bytes"));
  }
  bool is_xml = false;
  absl::StatusOr<std::vector<DocumentField>> fields =
      ReadFields(message, reason::kMessageInvalid, {}, {}, is_xml);
  if (!fields.ok()) return fields.status();

  // When a name repeats, the first one wins. Messages have a handful of
  // fields, so a linear scan beats hashing; a set bounds the work on a
  // hostile message with many.
  constexpr std::size_t kLinearScanFields = 16;
  FieldList list;
  list.reserve(fields->size());
  if (fields->size() <= kLinearScanFields) {
    for (DocumentField& field : *fields) {
      bool seen = false;
      for (const auto& kept : list) {
        if (kept.first == field.name) {
          seen = true;
          break;
        }
      }
      if (!seen)
        list.emplace_back(std::move(field.name), std::move(field.value));
    }
    return list;
  }
  std::vector<bool> first(fields->size());
  {
    absl::flat_hash_set<absl::string_view> seen;
    for (std::size_t i = 0; i < fields->size(); ++i) {
      first[i] = seen.insert((*fields)[i].name).second;
    }
  }
  for (std::size_t i = 0; i < fields->size(); ++i) {
    if (!first[i]) continue;
    DocumentField& field = (*fields)[i];
    list.emplace_back(std::move(field.name), std::move(field.value));
  }
  return list;
}

absl::StatusOr<std::string> BuildWidgetDataReply(EnvelopeFormat format,
                                                 const WidgetDataReply& reply) {
  if (!IsKnownFormat(format)) return ReplyInvalid("unknown envelope format");
  const bool xml = format == EnvelopeFormat::kXml;
  if (reply.lifespan < 0) return ReplyInvalid("lifespan is negative");
  if (reply.query.size() + reply.data.size() + reply.to_user_name.size() +
          reply.from_user_name.size() >
      kMaxEnvelopeSize) {
    return ReplyInvalid("reply would be larger than the envelope limit");
  }
  if (!CheckJsonText(reply.data).ok()) {
    return ReplyInvalid("data is not a valid JSON document");
  }
  if (!IsUtf8(reply.query)) return ReplyInvalid("query is not UTF-8");
  for (const std::string* name : {&reply.to_user_name, &reply.from_user_name}) {
    if (!(xml ? IsXmlText(*name) : IsUtf8(*name))) {
      return ReplyInvalid("ToUserName or FromUserName is not UTF-8 text");
    }
  }

  // {"lifespan":N,"query":"<query>","scene":S,"data":"<data>"}: query and
  // data are carried as JSON strings, not as JSON values.
  rapidjson::StringBuffer content_buffer;
  JsonWriter content_writer(content_buffer);
  content_writer.StartObject();
  WriteJsonKey(content_writer, "lifespan");
  content_writer.Int(reply.lifespan);
  WriteJsonKey(content_writer, "query");
  WriteJsonString(content_writer, reply.query);
  WriteJsonKey(content_writer, "scene");
  content_writer.Int(reply.scene);
  WriteJsonKey(content_writer, "data");
  WriteJsonString(content_writer, reply.data);
  content_writer.EndObject();
  const absl::string_view content(content_buffer.GetString(),
                                  content_buffer.GetSize());

  std::string body;
  if (xml) {
    // The writer escapes controls, but U+FFFE and U+FFFF pass through.
    if (!IsXmlText(content)) {
      return ReplyInvalid("query or data has a character XML does not allow");
    }
    body.append("<xml>");
    AppendXmlElement("ToUserName", reply.to_user_name, body);
    AppendXmlElement("FromUserName", reply.from_user_name, body);
    absl::StrAppend(&body, "<CreateTime>", reply.create_time, "</CreateTime>");
    AppendXmlElement("MsgType", "widget_data", body);
    AppendXmlElement("Content", content, body);
    body.append("</xml>");
  } else {
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    writer.StartObject();
    WriteJsonKey(writer, "ToUserName");
    WriteJsonString(writer, reply.to_user_name);
    WriteJsonKey(writer, "FromUserName");
    WriteJsonString(writer, reply.from_user_name);
    WriteJsonKey(writer, "CreateTime");
    writer.Int64(reply.create_time);
    WriteJsonKey(writer, "MsgType");
    WriteJsonString(writer, "widget_data");
    WriteJsonKey(writer, "Content");
    WriteJsonString(writer, content);
    writer.EndObject();
    body = TakeJson(buffer);
  }
  if (body.size() > kMaxEnvelopeSize) {
    return ReplyInvalid("reply would be larger than the envelope limit");
  }
  return body;
}

}  // namespace wxcrypto
