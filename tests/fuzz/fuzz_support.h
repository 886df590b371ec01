// Shared pieces of the libFuzzer targets: a check macro that aborts (so that
// libFuzzer records the input as a crash), status assertions, independent
// reference implementations (base64, raw AES-CBC on libcrypto's EVP API, the
// message-crypt plaintext check) that the targets compare the server code
// against, and the fixed apps and keys the targets use.
//
// Nothing here is used by the server; it exists only for tests/fuzz.
#ifndef WXCRYPTO_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define WXCRYPTO_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/crypto/error.h"

namespace wxcrypto::fuzz {

// Prints `what` with the location and aborts. Never returns.
[[noreturn]] void Fail(const char* file, int line, absl::string_view what);

// Aborts with the failed condition unless `cond`.
#define FUZZ_CHECK(cond)                                            \
  do {                                                              \
    if (!(cond)) ::wxcrypto::fuzz::Fail(__FILE__, __LINE__, #cond); \
  } while (0)

// As FUZZ_CHECK, printing `detail` (a string) as well.
#define FUZZ_CHECK_MSG(cond, detail)                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      ::wxcrypto::fuzz::Fail(__FILE__, __LINE__,                         \
                             ::wxcrypto::fuzz::Describe(#cond, detail)); \
    }                                                                    \
  } while (0)

// Formats a failed condition and its detail for Fail.
std::string Describe(absl::string_view condition, absl::string_view detail);

// Returns `status` as text with its WeChat code and reason (for FUZZ_CHECK
// details).
std::string StatusText(const absl::Status& status);

// Aborts unless `status` has `code`, the WeChat code `wx_code` and the reason
// `reason`.
void CheckError(const absl::Status& status, absl::StatusCode code,
                WxErrorCode wx_code, absl::string_view reason);

// Aborts unless `status` is a client fault the API documents: a canonical
// code other than OK, UNKNOWN and INTERNAL, with a WeChat code and a reason.
void CheckClientError(const absl::Status& status);

// Aborts if `status`'s message contains `secret` (secrets shorter than
// kMinCheckedSecretSize are skipped: they occur in ordinary words).
inline constexpr std::size_t kMinCheckedSecretSize = 6;
void CheckNoSecret(const absl::Status& status, absl::string_view secret);

// Returns `text` with letters rotated by 13 and digits by 5; other bytes
// stay. A value an error message echoes changes with it; words of the
// message itself do not (used to tell a leak from a coincidence).
std::string RotateAlnum(absl::string_view text);

// Reads a big-endian integer of `size` bytes from `data` (size <= 8).
std::uint64_t ReadBigEndian(const std::uint8_t* data, std::size_t size);

// Reference strict base64 decoder (RFC 4648 section 4, '=' padding, unused
// low bits of the last symbol ignored), written independently of
// server/crypto/base64.cc. Returns nullopt for malformed input.
std::optional<std::string> ReferenceBase64Decode(absl::string_view encoded);

// AES-CBC without padding on libcrypto's EVP API directly (not through
// server/crypto/aes_cbc.cc). `key` is 16 or 32 bytes, `iv` 16, `data` a
// multiple of 16 bytes. Aborts on a libcrypto failure.
std::string ReferenceAesCbcEncrypt(absl::string_view key, absl::string_view iv,
                                   absl::string_view data);
std::string ReferenceAesCbcDecrypt(absl::string_view key, absl::string_view iv,
                                   absl::string_view data);

// Returns the unpadded size if `data` ends in valid PKCS#7 padding for
// `block_size` (pad value 1..block_size, at most data.size(), every pad byte
// equal), else nullopt. Not constant time: a reference only.
std::optional<std::size_t> ReferencePkcs7Unpad(absl::string_view data,
                                               std::size_t block_size);

// How far the reference message-crypt check of one plaintext got, in the
// order of MessageCrypt::Decrypt's error precedence.
enum class MessageStage { kCipher = 0, kLength = 1, kReceiveId = 2, kOk = 3 };

// The reference check of a decrypted message-crypt plaintext:
// random(16) | length(4, BE) | message | receive_id | PKCS#7 to 32 bytes.
struct ReferenceMessage {
  MessageStage stage = MessageStage::kCipher;
  std::string message;  // set when stage == kOk
};
ReferenceMessage ReferenceParseMessage(absl::string_view plaintext,
                                       absl::string_view receive_id);

// The apps of the fuzz config (kFuzzConfigJson): the two demo apps of
// server/config/demo_config.cc plus one of each remaining kind.
struct FuzzApp {
  absl::string_view app_id;
  absl::string_view receive_id;
  absl::string_view token;
  // Current key first; empty for an app without keys.
  absl::string_view keys[2];
};
inline constexpr FuzzApp kFuzzApps[] = {
    // The demo apps (DemoConfigJson()), MODE_COMPATIBLE.
    {"wx2c2769f8efd9abc2",
     "wx2c2769f8efd9abc2",
     "spamtest",
     {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", ""}},
    {"wxba5fad812f8e6fb9",
     "wxba5fad812f8e6fb9",
     "AAAAA",
     {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""}},
    // MODE_SECURE, a previous key, a 300 s timestamp window.
    {"wxf0220secure00001",
     "wxf0220secure00001",
     "SecureToken2024",
     {"0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}},
    // WeCom third-party app of an individual subject: empty receive id.
    {"ww0220corp0000001",
     "",
     "CorpToken2024",
     {"ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj", ""}},
    // MODE_PLAINTEXT without a key.
    {"wxf0220plain00001", "wxf0220plain00001", "PlainToken2024", {"", ""}},
};
inline constexpr std::size_t kFuzzAppCount =
    sizeof(kFuzzApps) / sizeof(kFuzzApps[0]);

// The JSON config of kFuzzApps (push_request_fuzzer checks that they
// agree).
extern const char kFuzzConfigJson[];

// The fixed clock of the service targets (the timestamp of the mini program
// documentation's push vector).
inline constexpr std::int64_t kFuzzNow = 1714112445;

// The open-data vector of the official WXBizDataCrypt demo
// (tests/testdata/wechat_vectors.json, user_data[0]).
inline constexpr absl::string_view kUserDataAppId = "wx4f4bc4dec97d474b";
inline constexpr absl::string_view kUserDataSessionKey =
    "tiihtNczf5v6AKRyjwEUhQ==";
inline constexpr absl::string_view kUserDataIv = "r7BXXKkLb8qrSNn05n0qiA==";
inline constexpr std::int64_t kUserDataTimestamp = 1477314187;

}  // namespace wxcrypto::fuzz

#endif  // WXCRYPTO_TESTS_FUZZ_FUZZ_SUPPORT_H_
