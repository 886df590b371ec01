// Google Benchmark for every core operation, on realistic 0.3 / 1 / 4 KB
// messages, next to the primitive floor: the same bytes through bare SHA-1,
// base64 decode and AES-CBC, with no framing or parsing. Built against
// whichever provider the build selected (WXCRYPTO_CRYPTO_PROVIDER).
//
//   DecryptPush/{Xml,Json}: parse envelope, verify msg_signature, decrypt,
//                           extract top-level fields
//   BuildReply:             encrypt, sign, build the XML envelope
//   DecryptUserData:        base64, AES-128-CBC, constant-time unpad,
//                           JSON parse and watermark check
//   VerifyRawData:          SHA-1 over rawData + session_key, compare
//
// BM_Floor* are the floors; BM_Step* time one step at a time, and the fast
// paths next to what they replace (bench/NOTES.md explains the ratios with
// them). bench/run.sh runs only the operations and floors.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/random.h"
#include "server/crypto/raw_data.h"
#include "server/crypto/signature.h"
#include "server/crypto/ssl_util.h"
#include "server/crypto/user_data.h"
#include "server/envelope/document.h"
#include "server/envelope/envelope.h"
#include "server/envelope/text.h"

namespace wxcrypto {
namespace {

constexpr char kKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kAppId[] = "wx2c2769f8efd9abc2";
constexpr char kToken[] = "spamtest";
constexpr char kTimestamp[] = "1409735669";
constexpr char kNonce[] = "1320562132";

// An XML text message of about `size` bytes, like an official account push.
std::string XmlMessage(std::size_t size) {
  std::string message =
      "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
      "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
      "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
      "<Content><![CDATA[";
  const std::string tail =
      "]]></Content><MsgId>6054768590064713728</MsgId></xml>";
  while (message.size() + tail.size() < size) message += "hello 你好 ";
  return message + tail;
}

// A JSON event of about `size` bytes, like a mini program push.
std::string JsonMessage(std::size_t size) {
  std::string message =
      R"({"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
      R"("CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":")";
  const std::string tail = R"("})";
  while (message.size() + tail.size() < size) message += "hello 你好 ";
  return message + tail;
}

const MessageCrypt& Crypt() {
  static const MessageCrypt* const kCrypt =
      new MessageCrypt(*MessageCrypt::Create({kKey}, kAppId));
  return *kCrypt;
}

struct SealedPush {
  std::string body;
  std::string msg_signature;
  std::string encrypt;
};

SealedPush Seal(const std::string& message, EnvelopeFormat format) {
  SealedPush push;
  push.encrypt = *Crypt().Encrypt(message);
  push.msg_signature =
      ComputeMsgSignature(kToken, kTimestamp, kNonce, push.encrypt);
  push.body = *BuildPushEnvelope(format, "gh_10f6c3c3ac5a", push.encrypt);
  return push;
}

void DecryptPushBench(benchmark::State& state, EnvelopeFormat format) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const SealedPush push = Seal(
      format == EnvelopeFormat::kXml ? XmlMessage(size) : JsonMessage(size),
      format);
  for (auto _ : state) {
    absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(push.body);
    absl::Status signature = VerifyMsgSignature(
        push.msg_signature, kToken, kTimestamp, kNonce, envelope->encrypt);
    absl::StatusOr<DecryptedMessage> decrypted =
        Crypt().Decrypt(envelope->encrypt);
    absl::StatusOr<FieldList> fields = ExtractMessageFields(decrypted->message);
    if (!signature.ok() || !fields.ok()) state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void BM_DecryptPushXml(benchmark::State& state) {
  DecryptPushBench(state, EnvelopeFormat::kXml);
}
void BM_DecryptPushJson(benchmark::State& state) {
  DecryptPushBench(state, EnvelopeFormat::kJson);
}

void BM_BuildReply(benchmark::State& state) {
  const std::string message =
      XmlMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    ReplyFields fields;
    fields.encrypt = *Crypt().Encrypt(message);
    fields.timestamp = kTimestamp;
    fields.nonce = kNonce;
    fields.msg_signature = ComputeMsgSignature(kToken, fields.timestamp,
                                               fields.nonce, fields.encrypt);
    absl::StatusOr<std::string> body =
        BuildReplyEnvelope(EnvelopeFormat::kXml, fields);
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

constexpr char kSessionKey[] = "tiihtNczf5v6AKRyjwEUhQ==";
constexpr char kIv[] = "r7BXXKkLb8qrSNn05n0qiA==";

std::string UserDataPlaintext(std::size_t size) {
  std::string data = R"({"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":")";
  const std::string tail =
      R"(","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}})";
  while (data.size() + tail.size() < size) data += "Band";
  return data + tail;
}

void BM_DecryptUserData(benchmark::State& state) {
  const std::string plaintext =
      UserDataPlaintext(static_cast<std::size_t>(state.range(0)));
  const std::string encrypted = Base64Encode(*AesCbcPkcs7Encrypt(
      *Base64Decode(kSessionKey), *Base64Decode(kIv), plaintext));
  UserDataRequest request;
  request.app_id = "wx4f4bc4dec97d474b";
  request.session_key = kSessionKey;
  request.iv = kIv;
  request.encrypted_data = encrypted;
  for (auto _ : state) {
    absl::StatusOr<UserData> data = DecryptUserData(request);
    if (!data.ok()) state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(data);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

void BM_VerifyRawData(benchmark::State& state) {
  const std::string raw =
      UserDataPlaintext(static_cast<std::size_t>(state.range(0)));
  const std::string signature = Sha1Hex(raw + kSessionKey);
  for (auto _ : state) {
    bool valid = VerifyRawData(raw, signature, kSessionKey);
    if (!valid) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(valid);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

// The primitive floor for a push of the same size: SHA-1 over the signed
// values, base64 decode and AES-256-CBC decrypt of the ciphertext.
void BM_FloorDecryptPush(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  const std::string key = *Base64Decode(std::string(kKey) + "=");
  const std::string iv = key.substr(0, 16);
  std::string plaintext;
  for (auto _ : state) {
    std::string digest =
        Sha1Hex(absl::StrCat(kToken, kTimestamp, kNonce, push.encrypt));
    std::string ciphertext = *Base64Decode(push.encrypt);
    absl::Status status =
        AesCbcDecryptNoPadding(key, iv, ciphertext, plaintext);
    benchmark::DoNotOptimize(digest);
    benchmark::DoNotOptimize(status);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

// The primitive floor for a reply: AES-256-CBC encrypt, base64 encode, SHA-1.
void BM_FloorBuildReply(benchmark::State& state) {
  const std::string plaintext(
      static_cast<std::size_t>(state.range(0)) / 32 * 32 + 64, 'p');
  const std::string key = *Base64Decode(std::string(kKey) + "=");
  const std::string iv = key.substr(0, 16);
  std::string ciphertext;
  for (auto _ : state) {
    absl::Status status =
        AesCbcEncryptNoPadding(key, iv, plaintext, ciphertext);
    std::string encoded = Base64Encode(ciphertext);
    std::string digest =
        Sha1Hex(absl::StrCat(kToken, kTimestamp, kNonce, encoded));
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

// The primitive floor for user data: base64 decode and AES-128-CBC decrypt.
void BM_FloorDecryptUserData(benchmark::State& state) {
  const std::string plaintext =
      UserDataPlaintext(static_cast<std::size_t>(state.range(0)));
  const std::string key = *Base64Decode(kSessionKey);
  const std::string iv = *Base64Decode(kIv);
  const std::string encrypted =
      Base64Encode(*AesCbcPkcs7Encrypt(key, iv, plaintext));
  std::string out;
  for (auto _ : state) {
    std::string ciphertext = *Base64Decode(encrypted);
    absl::Status status = AesCbcDecryptNoPadding(key, iv, ciphertext, out);
    benchmark::DoNotOptimize(status);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

// The primitive floor for rawData: SHA-1 of the same bytes.
void BM_FloorVerifyRawData(benchmark::State& state) {
  const std::string data =
      UserDataPlaintext(static_cast<std::size_t>(state.range(0))) + kSessionKey;
  for (auto _ : state) {
    std::string digest = Sha1Hex(data);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * state.range(0)));
}

// Where DecryptPush spends its time, one step at a time (not part of the
// ratios; bench/NOTES.md uses them to explain them).
void BM_StepParsePushEnvelope(benchmark::State& state, EnvelopeFormat format) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const SealedPush push = Seal(
      format == EnvelopeFormat::kXml ? XmlMessage(size) : JsonMessage(size),
      format);
  for (auto _ : state) {
    absl::StatusOr<PushEnvelope> envelope = ParsePushEnvelope(push.body);
    benchmark::DoNotOptimize(envelope);
  }
}
void BM_StepVerifyMsgSignature(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  for (auto _ : state) {
    absl::Status status = VerifyMsgSignature(push.msg_signature, kToken,
                                             kTimestamp, kNonce, push.encrypt);
    benchmark::DoNotOptimize(status);
  }
}
void BM_StepDecrypt(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  for (auto _ : state) {
    absl::StatusOr<DecryptedMessage> decrypted = Crypt().Decrypt(push.encrypt);
    benchmark::DoNotOptimize(decrypted);
  }
}
void BM_StepExtractMessageFields(benchmark::State& state,
                                 EnvelopeFormat format) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const std::string message =
      format == EnvelopeFormat::kXml ? XmlMessage(size) : JsonMessage(size);
  for (auto _ : state) {
    absl::StatusOr<FieldList> fields = ExtractMessageFields(message);
    benchmark::DoNotOptimize(fields);
  }
}
void BM_StepEncrypt(benchmark::State& state) {
  const std::string message =
      XmlMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<std::string> encrypt = Crypt().Encrypt(message);
    benchmark::DoNotOptimize(encrypt);
  }
}
void BM_StepRandomPrefix(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::string> prefix = RandomBytes(kRandomPrefixSize);
    benchmark::DoNotOptimize(prefix);
  }
}
void BM_StepBuildReplyEnvelope(benchmark::State& state) {
  ReplyFields fields;
  fields.encrypt =
      *Crypt().Encrypt(XmlMessage(static_cast<std::size_t>(state.range(0))));
  fields.timestamp = kTimestamp;
  fields.nonce = kNonce;
  fields.msg_signature = ComputeMsgSignature(kToken, fields.timestamp,
                                             fields.nonce, fields.encrypt);
  for (auto _ : state) {
    absl::StatusOr<std::string> body =
        BuildReplyEnvelope(EnvelopeFormat::kXml, fields);
    benchmark::DoNotOptimize(body);
  }
}
void BM_StepBase64Decode(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  for (auto _ : state) {
    absl::StatusOr<std::string> decoded = Base64Decode(push.encrypt);
    benchmark::DoNotOptimize(decoded);
  }
}
void BM_StepAes256CbcDecrypt(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  const std::string key = *Base64Decode(std::string(kKey) + "=");
  const std::string iv = key.substr(0, 16);
  const std::string ciphertext = *Base64Decode(push.encrypt);
  std::string plaintext;
  for (auto _ : state) {
    absl::Status status =
        AesCbcDecryptNoPadding(key, iv, ciphertext, plaintext);
    benchmark::DoNotOptimize(status);
  }
}
void BM_StepSha1(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  const std::string data =
      absl::StrCat(kToken, kTimestamp, kNonce, push.encrypt);
  for (auto _ : state) {
    std::string digest = Sha1Hex(data);
    benchmark::DoNotOptimize(digest);
  }
}
// The fast paths next to what they replace or fall back to, in the same
// binary: the flat readers against pugixml and RapidJSON on the message,
// the SSSE3 text check and base64 decoder against the portable ones, and
// AES-CBC with the cipher bound once per thread against binding it on
// every call (what aes_cbc.cc did before).
void BM_StepReadXmlFields(benchmark::State& state, bool flat) {
  const std::string message =
      XmlMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    if (flat) {
      auto fields = ReadFlatXmlFields(message);
      benchmark::DoNotOptimize(fields);
    } else {
      auto fields = ReadXmlFieldsWithPugixml(message, "BENCH");
      benchmark::DoNotOptimize(fields);
    }
  }
}
void BM_StepReadJsonFields(benchmark::State& state, bool flat) {
  const std::string message =
      JsonMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    if (flat) {
      auto fields = ReadFlatJsonFields(message);
      benchmark::DoNotOptimize(fields);
    } else {
      auto fields = ReadJsonFieldsWithRapidJson(message, "BENCH");
      benchmark::DoNotOptimize(fields);
    }
  }
}
void BM_StepIsXmlText(benchmark::State& state, bool portable) {
  const std::string message =
      XmlMessage(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    bool ok =
        portable ? internal::IsXmlTextPortable(message) : IsXmlText(message);
    benchmark::DoNotOptimize(ok);
  }
}
void BM_StepBase64DecodePortable(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  for (auto _ : state) {
    absl::StatusOr<std::string> decoded =
        internal::Base64DecodePortable(push.encrypt);
    benchmark::DoNotOptimize(decoded);
  }
}
void BM_StepAes256CbcDecryptRebinding(benchmark::State& state) {
  const SealedPush push =
      Seal(XmlMessage(static_cast<std::size_t>(state.range(0))),
           EnvelopeFormat::kXml);
  const std::string key = *Base64Decode(std::string(kKey) + "=");
  const std::string ciphertext = *Base64Decode(push.encrypt);
  std::string plaintext(ciphertext.size(), '\0');
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const auto* key_bytes = reinterpret_cast<const std::uint8_t*>(key.data());
  for (auto _ : state) {
    int len = 0;
    int final_len = 0;
    auto* out = reinterpret_cast<std::uint8_t*>(plaintext.data());
    bool ok = EVP_CipherInit_ex(ctx.get(), internal::AesCbcCipher(32), nullptr,
                                key_bytes, key_bytes, 0) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
              EVP_CipherUpdate(
                  ctx.get(), out, &len,
                  reinterpret_cast<const std::uint8_t*>(ciphertext.data()),
                  static_cast<int>(ciphertext.size())) == 1 &&
              EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) == 1;
    benchmark::DoNotOptimize(ok);
  }
}

#define WXCRYPTO_SIZES Arg(300)->Arg(1024)->Arg(4096)
BENCHMARK(BM_DecryptPushXml)->WXCRYPTO_SIZES;
BENCHMARK(BM_DecryptPushJson)->WXCRYPTO_SIZES;
BENCHMARK(BM_FloorDecryptPush)->WXCRYPTO_SIZES;
BENCHMARK(BM_BuildReply)->WXCRYPTO_SIZES;
BENCHMARK(BM_FloorBuildReply)->WXCRYPTO_SIZES;
BENCHMARK(BM_DecryptUserData)->WXCRYPTO_SIZES;
BENCHMARK(BM_FloorDecryptUserData)->WXCRYPTO_SIZES;
BENCHMARK(BM_VerifyRawData)->WXCRYPTO_SIZES;
BENCHMARK(BM_FloorVerifyRawData)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepParsePushEnvelope, Xml, EnvelopeFormat::kXml)
    ->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepParsePushEnvelope, Json, EnvelopeFormat::kJson)
    ->WXCRYPTO_SIZES;
BENCHMARK(BM_StepVerifyMsgSignature)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepDecrypt)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepExtractMessageFields, Xml, EnvelopeFormat::kXml)
    ->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepExtractMessageFields, Json, EnvelopeFormat::kJson)
    ->WXCRYPTO_SIZES;
BENCHMARK(BM_StepBase64Decode)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepAes256CbcDecrypt)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepSha1)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepEncrypt)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepRandomPrefix);
BENCHMARK(BM_StepBuildReplyEnvelope)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepReadXmlFields, Flat, true)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepReadXmlFields, Pugixml, false)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepReadJsonFields, Flat, true)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepReadJsonFields, RapidJson, false)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepIsXmlText, Ssse3, false)->WXCRYPTO_SIZES;
BENCHMARK_CAPTURE(BM_StepIsXmlText, Portable, true)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepBase64DecodePortable)->WXCRYPTO_SIZES;
BENCHMARK(BM_StepAes256CbcDecryptRebinding)->WXCRYPTO_SIZES;

}  // namespace
}  // namespace wxcrypto

int main(int argc, char** argv) {
  benchmark::AddCustomContext("crypto_provider",
                              wxcrypto::CryptoProviderName());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
