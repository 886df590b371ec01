#include "client/cli/output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/crypto/error.h"

namespace wxcrypto {
namespace cli {

ErrorReport ReportFromStatus(const absl::Status& status) {
  ErrorReport report;
  report.code = absl::StatusCodeToString(status.code());
  report.message = std::string(status.message());
  report.reason = GetErrorReason(status);
  // Every status of the crypto core carries both payloads or neither.
  if (!report.reason.empty()) {
    report.wx_error_code = static_cast<int>(GetWxErrorCode(status));
  }
  return report;
}

ErrorReport UsageReport(absl::string_view message) {
  ErrorReport report;
  report.code = absl::StatusCodeToString(absl::StatusCode::kInvalidArgument);
  report.message = std::string(message);
  report.reason = "USAGE";
  return report;
}

std::string ErrorJson(const ErrorReport& report) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  writer.String(report.code.data(), report.code.size());
  writer.Key("message");
  writer.String(report.message.data(), report.message.size());
  if (report.wx_error_code.has_value()) {
    writer.Key("wx_error_code");
    writer.Int(*report.wx_error_code);
  }
  if (!report.reason.empty()) {
    writer.Key("reason");
    writer.String(report.reason.data(), report.reason.size());
  }
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool IsValidUtf8(absl::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // Valid ranges from RFC 3629, section 4 (UTF8-2 .. UTF8-4).
    std::size_t length = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) second_min = 0xa0;  // no overlong forms
      if (lead == 0xed) second_max = 0x9f;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) second_min = 0x90;  // no overlong forms
      if (lead == 0xf4) second_max = 0x8f;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (bytes.size() - i < length) return false;
    const auto second = static_cast<unsigned char>(bytes[i + 1]);
    if (second < second_min || second > second_max) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto printed =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat(
        "cannot print the response as JSON: ", printed.ToString()));
  }

  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InternalError("protobuf printed a response that is not JSON");
  }
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_BYTES ||
        field->is_repeated()) {
      continue;
    }
    // A bytes field of a oneof that is not set is not printed; neither is
    // its text copy.
    if (field->containing_oneof() != nullptr &&
        !reflection->HasField(message, field)) {
      continue;
    }
    std::string scratch;
    const std::string& value =
        reflection->GetStringReference(message, field, &scratch);
    if (!IsValidUtf8(value)) continue;
    const std::string name = absl::StrCat(field->name(), "_text");
    doc.AddMember(
        rapidjson::Value(name.data(),
                         static_cast<rapidjson::SizeType>(name.size()),
                         doc.GetAllocator()),
        rapidjson::Value(value.data(),
                         static_cast<rapidjson::SizeType>(value.size()),
                         doc.GetAllocator()),
        doc.GetAllocator());
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cli
}  // namespace wxcrypto
