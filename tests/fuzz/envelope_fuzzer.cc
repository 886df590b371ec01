// libFuzzer target: the envelope parsers (server/envelope/envelope.h) on
// arbitrary bytes, in every dialect (the input's first non-whitespace byte
// picks XML or JSON, the field names the JSON dialect).
//
// Checked, besides the sanitizers:
//   - every error is INVALID_ARGUMENT with -40002 and the documented reason;
//   - a parsed push re-built with BuildPushEnvelope parses to the same
//     dialect and Encrypt;
//   - a parsed reply re-built with BuildReplyEnvelope parses to the same
//     dialect and fields;
//   - ParsePushEnvelope / ParseReplyEnvelope and ExtractMessageFields agree
//     on whether the document is well formed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/crypto/error.h"
#include "server/envelope/envelope.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

bool HasField(const FieldList& fields, absl::string_view name) {
  for (const auto& field : fields) {
    if (field.first == name) return true;
  }
  return false;
}

const std::string* FindField(const FieldList& fields, absl::string_view name) {
  for (const auto& field : fields) {
    if (field.first == name) return &field.second;
  }
  return nullptr;
}

void CheckEnvelopeError(const absl::Status& status) {
  const std::string reason = GetErrorReason(status);
  FUZZ_CHECK_MSG(
      reason == reason::kEnvelopeInvalid || reason == reason::kEnvelopeTooLarge,
      StatusText(status));
  CheckError(status, absl::StatusCode::kInvalidArgument,
             WxErrorCode::kParseXmlError, reason);
}

void CheckPush(absl::string_view input,
               const absl::StatusOr<FieldList>& message_fields) {
  absl::StatusOr<PushEnvelope> push = ParsePushEnvelope(input);
  if (!push.ok()) {
    CheckEnvelopeError(push.status());
    // A well-formed document only fails as a push because of its Encrypt
    // field (repeated, both spellings, or not text).
    if (message_fields.ok()) {
      FUZZ_CHECK_MSG(HasField(*message_fields, "Encrypt") ||
                         HasField(*message_fields, "encrypt"),
                     StatusText(push.status()));
    }
    return;
  }
  FUZZ_CHECK_MSG(message_fields.ok(), StatusText(message_fields.status()));
  FUZZ_CHECK(push->has_encrypt || push->encrypt.empty());
  if (push->has_encrypt) {
    const absl::string_view name =
        push->format == EnvelopeFormat::kJsonLowercase ? "encrypt" : "Encrypt";
    const std::string* value = FindField(*message_fields, name);
    FUZZ_CHECK(value != nullptr);
    FUZZ_CHECK(*value == push->encrypt);
  }

  // Re-build and re-parse. BuildPushEnvelope only takes base64 Encrypt
  // values; other ones are rejected before decryption anyway.
  if (!push->has_encrypt) return;
  absl::StatusOr<std::string> rebuilt =
      BuildPushEnvelope(push->format, "gh_97417a04a28d", push->encrypt);
  if (!rebuilt.ok()) {
    CheckError(rebuilt.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kGenReturnXmlError, reason::kEnvelopeInvalid);
    return;
  }
  absl::StatusOr<PushEnvelope> reparsed = ParsePushEnvelope(*rebuilt);
  FUZZ_CHECK_MSG(reparsed.ok(), StatusText(reparsed.status()));
  FUZZ_CHECK(reparsed->format == push->format);
  FUZZ_CHECK(reparsed->has_encrypt);
  FUZZ_CHECK(reparsed->encrypt == push->encrypt);
}

void CheckReply(absl::string_view input,
                const absl::StatusOr<FieldList>& message_fields) {
  absl::StatusOr<std::pair<EnvelopeFormat, ReplyFields>> reply =
      ParseReplyEnvelope(input);
  if (!reply.ok()) {
    CheckEnvelopeError(reply.status());
    return;
  }
  FUZZ_CHECK_MSG(message_fields.ok(), StatusText(message_fields.status()));
  const auto& [format, fields] = *reply;
  // ParseReplyEnvelope checks the same rules BuildReplyEnvelope does, so
  // whatever parsed must re-build and re-parse to the same values.
  absl::StatusOr<std::string> rebuilt = BuildReplyEnvelope(format, fields);
  FUZZ_CHECK_MSG(rebuilt.ok(), StatusText(rebuilt.status()));
  absl::StatusOr<std::pair<EnvelopeFormat, ReplyFields>> reparsed =
      ParseReplyEnvelope(*rebuilt);
  FUZZ_CHECK_MSG(reparsed.ok(), StatusText(reparsed.status()));
  FUZZ_CHECK(reparsed->first == format);
  FUZZ_CHECK(reparsed->second.encrypt == fields.encrypt);
  FUZZ_CHECK(reparsed->second.msg_signature == fields.msg_signature);
  FUZZ_CHECK(reparsed->second.timestamp == fields.timestamp);
  FUZZ_CHECK(reparsed->second.nonce == fields.nonce);
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto;        // NOLINT(build/namespaces)
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  const absl::StatusOr<FieldList> fields = ExtractMessageFields(input);
  if (fields.ok()) {
    // Names are unique, the first occurrence kept.
    absl::flat_hash_set<absl::string_view> names;
    for (const auto& field : *fields) {
      FUZZ_CHECK_MSG(names.insert(field.first).second, field.first);
    }
  } else {
    CheckError(fields.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kParseXmlError, reason::kMessageInvalid);
  }
  CheckPush(input, fields);
  CheckReply(input, fields);
  return 0;
}
