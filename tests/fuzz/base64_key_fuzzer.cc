// libFuzzer target: base64 (server/crypto/base64.h) and EncodingAESKey
// parsing (server/crypto/message_crypt.h) on arbitrary text.
//
// Checked against an independent strict decoder (fuzz_support.cc):
//   - Base64Decode and Base64DecodeSecret accept exactly what the reference
//     accepts and return the same bytes;
//   - Base64Encode of the decoded bytes has the input's length, differs from
//     it at most in the unused bits of the last symbol, and re-decodes to the
//     same bytes; Base64Encode of the raw input decodes back to the input;
//     Base64EncodeAppend appends exactly Base64Encode;
//   - EncodingAesKey::Parse accepts exactly the 43-character texts whose
//     base64 (with '=' appended) is 32 bytes, the key being those bytes and
//     the IV its first 16; its errors are -40004 / AES_KEY_INVALID and never
//     quote the text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/secret_data.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

constexpr absl::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int SymbolValue(char c) {
  const std::size_t pos = kAlphabet.find(c);
  return pos == absl::string_view::npos ? -1 : static_cast<int>(pos);
}

void CheckDecode(absl::string_view input) {
  const std::optional<std::string> expected = ReferenceBase64Decode(input);
  const absl::StatusOr<std::string> decoded = Base64Decode(input);
  const absl::StatusOr<SecretData> secret = Base64DecodeSecret(input);
  FUZZ_CHECK(decoded.ok() == expected.has_value());
  FUZZ_CHECK(secret.ok() == expected.has_value());
  if (!expected.has_value()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(secret.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(*decoded == *expected);
  FUZZ_CHECK(SecretDataAsStringView(*secret) == *expected);

  // Re-encoding: same length, same text except for the unused low bits of
  // the last symbol (ignored by the decoder), same bytes when decoded again.
  const std::string encoded = Base64Encode(*decoded);
  FUZZ_CHECK(encoded.size() == input.size());
  std::size_t padding = 0;
  while (padding < input.size() && input[input.size() - 1 - padding] == '=') {
    ++padding;
  }
  // 4 unused bits after "xx==", 2 after "xxx=", none otherwise.
  const int unused = padding == 2 ? 15 : padding == 1 ? 3 : 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (i + 1 + padding == input.size()) {
      FUZZ_CHECK((SymbolValue(encoded[i]) & ~unused) ==
                 (SymbolValue(input[i]) & ~unused));
    } else {
      FUZZ_CHECK(encoded[i] == input[i]);
    }
  }
  absl::StatusOr<std::string> again = Base64Decode(encoded);
  FUZZ_CHECK(again.ok() && *again == *decoded);
}

void CheckEncode(absl::string_view input) {
  const std::string encoded = Base64Encode(input);
  FUZZ_CHECK(encoded.size() == (input.size() + 2) / 3 * 4);
  const absl::StatusOr<std::string> decoded = Base64Decode(encoded);
  FUZZ_CHECK_MSG(decoded.ok(), StatusText(decoded.status()));
  FUZZ_CHECK(*decoded == input);
  std::string appended = "prefix";
  Base64EncodeAppend(input, appended);
  FUZZ_CHECK(appended == absl::StrCat("prefix", encoded));
}

void CheckEncodingAesKey(absl::string_view input) {
  const absl::StatusOr<EncodingAesKey> key = EncodingAesKey::Parse(input);
  std::optional<std::string> expected;
  if (input.size() == kEncodingAesKeySize) {
    expected = ReferenceBase64Decode(absl::StrCat(input, "="));
    if (expected.has_value() && expected->size() != 32) expected.reset();
  }
  FUZZ_CHECK_MSG(key.ok() == expected.has_value(),
                 key.ok() ? "accepted" : StatusText(key.status()));
  if (!key.ok()) {
    CheckError(key.status(), absl::StatusCode::kInvalidArgument,
               WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid);
    // The text is a key: the message must not echo it. Text the message
    // contains for another reason (a word of it) stays when the input's
    // letters and digits are rotated; an echo would rotate with them.
    if (absl::StrContains(key.status().message(), input)) {
      const std::string rotated = RotateAlnum(input);
      const absl::StatusOr<EncodingAesKey> again =
          EncodingAesKey::Parse(rotated);
      if (rotated != input && !again.ok() &&
          !absl::StrContains(again.status().message(), input)) {
        CheckNoSecret(key.status(), input);
      }
    }
    return;
  }
  FUZZ_CHECK(key->key() == *expected);
  FUZZ_CHECK(key->iv() == absl::string_view(*expected).substr(0, 16));
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckDecode(input);
  CheckEncode(input);
  CheckEncodingAesKey(input);
  return 0;
}
