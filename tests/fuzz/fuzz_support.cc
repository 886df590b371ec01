#include "tests/fuzz/fuzz_support.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/crypto/error.h"

namespace wxcrypto::fuzz {
namespace {

constexpr std::size_t kBlock = 16;
constexpr std::size_t kHeader = 16 + 4;
// WXBizMsgCrypt's PKCS7Encoder block size.
constexpr std::size_t kMessagePadBlock = 32;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

const EVP_CIPHER* CbcCipher(std::size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_cbc();
    case 32:
      return EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

std::string RunCipher(absl::string_view key, absl::string_view iv,
                      absl::string_view data, int encrypt) {
  const EVP_CIPHER* cipher = CbcCipher(key.size());
  FUZZ_CHECK(cipher != nullptr);
  FUZZ_CHECK(iv.size() == kBlock);
  FUZZ_CHECK(data.size() % kBlock == 0);
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  FUZZ_CHECK(ctx != nullptr);
  FUZZ_CHECK(
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr,
                        reinterpret_cast<const unsigned char*>(key.data()),
                        reinterpret_cast<const unsigned char*>(iv.data()),
                        encrypt) == 1);
  FUZZ_CHECK(EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1);
  std::string out(data.size() + kBlock, '\0');
  int written = 0;
  FUZZ_CHECK(EVP_CipherUpdate(
                 ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                 &written, reinterpret_cast<const unsigned char*>(data.data()),
                 static_cast<int>(data.size())) == 1);
  int final_written = 0;
  FUZZ_CHECK(
      EVP_CipherFinal_ex(ctx.get(),
                         reinterpret_cast<unsigned char*>(out.data()) + written,
                         &final_written) == 1);
  FUZZ_CHECK(static_cast<std::size_t>(written + final_written) == data.size());
  out.resize(data.size());
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void Fail(const char* file, int line, absl::string_view what) {
  std::fprintf(stderr, "\n%s:%d: FUZZ_CHECK failed: %.*s\n", file, line,
               static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

std::string Describe(absl::string_view condition, absl::string_view detail) {
  return absl::StrCat(condition, " (", detail, ")");
}

std::string StatusText(const absl::Status& status) {
  return absl::StrCat(
      status.ToString(absl::StatusToStringMode::kWithNoExtraData), " [wx_code ",
      static_cast<int>(GetWxErrorCode(status)), ", reason \"",
      GetErrorReason(status), "\"]");
}

void CheckError(const absl::Status& status, absl::StatusCode code,
                WxErrorCode wx_code, absl::string_view reason) {
  const std::string expected =
      absl::StrCat(absl::StatusCodeToString(code), " [wx_code ",
                   static_cast<int>(wx_code), ", reason \"", reason, "\"]");
  FUZZ_CHECK_MSG(status.code() == code,
                 absl::StrCat("got ", StatusText(status), ", want ", expected));
  FUZZ_CHECK_MSG(GetWxErrorCode(status) == wx_code,
                 absl::StrCat("got ", StatusText(status), ", want ", expected));
  FUZZ_CHECK_MSG(GetErrorReason(status) == reason,
                 absl::StrCat("got ", StatusText(status), ", want ", expected));
}

void CheckClientError(const absl::Status& status) {
  FUZZ_CHECK_MSG(!status.ok() && status.code() != absl::StatusCode::kUnknown &&
                     status.code() != absl::StatusCode::kInternal,
                 StatusText(status));
  FUZZ_CHECK_MSG(GetWxErrorCode(status) != WxErrorCode::kOk,
                 StatusText(status));
  FUZZ_CHECK_MSG(!GetErrorReason(status).empty(), StatusText(status));
}

void CheckNoSecret(const absl::Status& status, absl::string_view secret) {
  if (secret.size() < kMinCheckedSecretSize) return;
  FUZZ_CHECK_MSG(
      !absl::StrContains(status.message(), secret),
      absl::StrCat("the message of ", StatusText(status),
                   " contains a secret of ", secret.size(), " bytes"));
}

std::string RotateAlnum(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>('A' + (c - 'A' + 13) % 26);
    } else if (c >= '0' && c <= '9') {
      c = static_cast<char>('0' + (c - '0' + 5) % 10);
    }
  }
  return out;
}

std::uint64_t ReadBigEndian(const std::uint8_t* data, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | data[i];
  return value;
}

std::optional<std::string> ReferenceBase64Decode(absl::string_view encoded) {
  if (encoded.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!encoded.empty() && encoded.back() == '=') {
    padding = 1;
    if (encoded.size() >= 2 && encoded[encoded.size() - 2] == '=') padding = 2;
  }
  const std::size_t symbols = encoded.size() - padding;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < symbols; ++i) {
    const int value = Base64Value(encoded[i]);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Only "xx==" and "xxx=" end a padded quad; "x===" and "====" do not.
  if (padding > 0 && symbols % 4 != 4 - padding) return std::nullopt;
  return out;
}

std::string ReferenceAesCbcEncrypt(absl::string_view key, absl::string_view iv,
                                   absl::string_view data) {
  return RunCipher(key, iv, data, 1);
}

std::string ReferenceAesCbcDecrypt(absl::string_view key, absl::string_view iv,
                                   absl::string_view data) {
  return RunCipher(key, iv, data, 0);
}

std::optional<std::size_t> ReferencePkcs7Unpad(absl::string_view data,
                                               std::size_t block_size) {
  if (data.empty()) return std::nullopt;
  const std::size_t pad = static_cast<unsigned char>(data.back());
  if (pad == 0 || pad > block_size || pad > data.size()) return std::nullopt;
  for (std::size_t i = data.size() - pad; i < data.size(); ++i) {
    if (static_cast<unsigned char>(data[i]) != pad) return std::nullopt;
  }
  return data.size() - pad;
}

ReferenceMessage ReferenceParseMessage(absl::string_view plaintext,
                                       absl::string_view receive_id) {
  ReferenceMessage result;
  const std::optional<std::size_t> unpadded =
      ReferencePkcs7Unpad(plaintext, kMessagePadBlock);
  if (!unpadded.has_value()) return result;
  const absl::string_view body = plaintext.substr(0, *unpadded);
  result.stage = MessageStage::kLength;
  if (body.size() < kHeader) return result;
  const std::uint64_t length =
      ReadBigEndian(reinterpret_cast<const std::uint8_t*>(body.data()) + 16, 4);
  if (length > body.size() - kHeader) return result;
  result.stage = MessageStage::kReceiveId;
  if (body.substr(kHeader + length) != receive_id) return result;
  result.stage = MessageStage::kOk;
  result.message = std::string(body.substr(kHeader, length));
  return result;
}

const char kFuzzConfigJson[] = R"json({
  "apps": [
    {
      "app_id": "wx2c2769f8efd9abc2",
      "token": "spamtest",
      "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
      "mode": "MODE_COMPATIBLE"
    },
    {
      "app_id": "wxba5fad812f8e6fb9",
      "token": "AAAAA",
      "encoding_aes_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "mode": "MODE_COMPATIBLE"
    },
    {
      "app_id": "wxf0220secure00001",
      "token": "SecureToken2024",
      "encoding_aes_key": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
      "previous_encoding_aes_keys": ["abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"],
      "mode": "MODE_SECURE",
      "max_timestamp_skew_seconds": 300
    },
    {
      "app_id": "ww0220corp0000001",
      "receive_id": "",
      "token": "CorpToken2024",
      "encoding_aes_key": "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj",
      "mode": "MODE_COMPATIBLE"
    },
    {
      "app_id": "wxf0220plain00001",
      "token": "PlainToken2024",
      "mode": "MODE_PLAINTEXT"
    }
  ]
}
)json";

}  // namespace wxcrypto::fuzz

// Sanitizer defaults for every fuzz binary (UBSAN_OPTIONS still overrides
// them): stop at the first report, with a stack, except for the third-party
// defects listed in tests/fuzz/ubsan_suppressions.txt (suppressible because
// the fuzz build makes pointer-overflow recoverable; halt_on_error keeps
// every other report fatal).
extern "C" const char* __ubsan_default_options() {  // NOLINT
  return "print_stacktrace=1:halt_on_error=1:"
         "suppressions=" WXCRYPTO_FUZZ_UBSAN_SUPPRESSIONS;
}
