// Writes the generated seed corpora of the fuzz targets, one directory per
// target, from the published vectors in tests/testdata/wechat_vectors.json:
//
//   fuzz_seed_corpus <wechat_vectors.json> <output dir>
//
// The build runs it (tests/fuzz/CMakeLists.txt) into the build tree, so the
// seeds always match the vectors and the current protos; hand-written seeds
// live in tests/fuzz/corpus/<target>/. Each file's layout is the one its
// target's header comment describes. Output is deterministic.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "server/config/demo_config.h"
#include "server/crypto/base64.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/fuzz/fuzz_support.h"
#include "wxcrypto/v1/crypto_service.pb.h"

namespace wxcrypto::fuzz {
namespace {

namespace fs = std::filesystem;

// Aborts with `what` unless `status_or` holds a value; returns the value.
template <typename T>
T Must(absl::StatusOr<T> status_or, absl::string_view what) {
  FUZZ_CHECK_MSG(status_or.ok(),
                 absl::StrCat(what, ": ", StatusText(status_or.status())));
  return *std::move(status_or);
}

class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {}

  void Write(absl::string_view target, absl::string_view name,
             absl::string_view bytes) {
    const fs::path dir = root_ / std::string(target);
    fs::create_directories(dir);
    std::ofstream out(dir / std::string(name), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK_MSG(out.good(), (dir / std::string(name)).string());
    ++count_;
  }
  int count() const { return count_; }

 private:
  fs::path root_;
  int count_ = 0;
};

std::string Str(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  FUZZ_CHECK_MSG(it != object.MemberEnd() && it->value.IsString(), key);
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string OptStr(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const rapidjson::Value& Array(const rapidjson::Document& doc, const char* key) {
  auto it = doc.FindMember(key);
  FUZZ_CHECK_MSG(it != doc.MemberEnd() && it->value.IsArray(), key);
  return it->value;
}

std::string BigEndian(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
  return out;
}

// The byte-0 crypt index of message_decrypt_fuzzer for a receive id.
int CryptIndex(absl::string_view receive_id) {
  if (receive_id == "wx2c2769f8efd9abc2") return 0;
  if (receive_id == "wxba5fad812f8e6fb9") return 1;
  if (receive_id == "wxb11529c136998cb6") return 2;
  return 3;
}

EnvelopeFormat FormatOf(absl::string_view name) {
  if (name == "xml") return EnvelopeFormat::kXml;
  if (name == "json") return EnvelopeFormat::kJson;
  return EnvelopeFormat::kJsonLowercase;
}

constexpr EnvelopeFormat kFormats[] = {EnvelopeFormat::kXml,
                                       EnvelopeFormat::kJson,
                                       EnvelopeFormat::kJsonLowercase};

std::string FormatSuffix(EnvelopeFormat format) {
  return absl::AsciiStrToLower(EnvelopeFormatName(format));
}

// A message-crypt vector: what every message seed needs.
struct MessageVector {
  std::string name;
  std::string receive_id;
  std::string prefix;   // 16 bytes
  std::string message;  // plaintext
  std::string encrypt;  // base64
};

std::vector<MessageVector> MessageVectors(const rapidjson::Document& doc) {
  std::vector<MessageVector> out;
  for (const auto& v : Array(doc, "push").GetArray()) {
    out.push_back({Str(v, "name"), Str(v, "receive_id"),
                   absl::HexStringToBytes(Str(v, "random_prefix_hex")),
                   Str(v, "expected_plaintext"), Str(v, "encrypt")});
  }
  for (const auto& v : Array(doc, "reply").GetArray()) {
    out.push_back({Str(v, "name"), Str(v, "receive_id"),
                   Str(v, "random_prefix"), Str(v, "reply_plaintext"),
                   Str(v, "expected_encrypt")});
  }
  for (const auto& v : Array(doc, "encrypt_only").GetArray()) {
    out.push_back({Str(v, "name"), Str(v, "receive_id"),
                   Str(v, "random_prefix"), Str(v, "plaintext"),
                   Str(v, "expected_encrypt")});
  }
  for (const MessageVector& v : out)
    FUZZ_CHECK_MSG(v.prefix.size() == 16, v.name);
  return out;
}

void WriteEnvelopeSeeds(const rapidjson::Document& doc,
                        const std::vector<MessageVector>& messages,
                        SeedWriter& out) {
  constexpr absl::string_view kTarget = "envelope_fuzzer";
  for (const auto& v : Array(doc, "push").GetArray()) {
    const std::string name = Str(v, "name");
    out.Write(kTarget, absl::StrCat("push-", name), Str(v, "body"));
    for (EnvelopeFormat format : kFormats) {
      out.Write(
          kTarget, absl::StrCat("push-", name, "-", FormatSuffix(format)),
          Must(BuildPushEnvelope(format, "gh_97417a04a28d", Str(v, "encrypt")),
               name));
    }
  }
  for (const auto& v : Array(doc, "reply").GetArray()) {
    ReplyFields fields;
    fields.encrypt = Str(v, "expected_encrypt");
    fields.msg_signature = Str(v, "expected_msg_signature");
    fields.timestamp = Str(v, "timestamp");
    fields.nonce = Str(v, "nonce");
    for (EnvelopeFormat format : kFormats) {
      out.Write(
          kTarget,
          absl::StrCat("reply-", Str(v, "name"), "-", FormatSuffix(format)),
          Must(BuildReplyEnvelope(format, fields), "reply"));
    }
  }
  for (const MessageVector& v : messages) {
    out.Write(kTarget, absl::StrCat("message-", v.name), v.message);
  }
  for (const auto& v : Array(doc, "user_data").GetArray()) {
    const std::string plaintext = OptStr(v, "expected_plaintext");
    if (!plaintext.empty()) {
      out.Write(kTarget, absl::StrCat("message-", Str(v, "name")), plaintext);
    }
  }
  for (const auto& v : Array(doc, "raw_data").GetArray()) {
    out.Write(kTarget, absl::StrCat("message-", Str(v, "name")),
              Str(v, "raw_data"));
  }
}

void WriteMessageDecryptSeeds(const std::vector<MessageVector>& messages,
                              SeedWriter& out) {
  constexpr absl::string_view kTarget = "message_decrypt_fuzzer";
  for (const MessageVector& v : messages) {
    const int crypt = CryptIndex(v.receive_id);
    const std::string ciphertext = Must(Base64Decode(v.encrypt), v.name);
    auto mode = [crypt](int m) {
      return std::string(1, static_cast<char>((crypt << 2) | m));
    };
    out.Write(kTarget, absl::StrCat("raw-", v.name), mode(0) + ciphertext);
    out.Write(kTarget, absl::StrCat("text-", v.name), mode(1) + v.encrypt);
    // Structured: flags, prefix, [length], message, [receive id], [padding].
    const std::string message = BigEndian(v.message.size(), 2) + v.message;
    out.Write(kTarget, absl::StrCat("plain-", v.name),
              mode(2) + std::string(1, '\0') + v.prefix + message);
    out.Write(kTarget, absl::StrCat("plain-second-key-", v.name),
              mode(2) + std::string(1, '\1') + v.prefix + message);
    out.Write(kTarget, absl::StrCat("plain-raw-length-", v.name),
              mode(2) + std::string(1, '\2') + v.prefix +
                  BigEndian(v.message.size() + 1, 4) + message);
    out.Write(kTarget, absl::StrCat("plain-raw-receive-id-", v.name),
              mode(2) + std::string(1, '\4') + v.prefix + message +
                  BigEndian(v.receive_id.size(), 1) + v.receive_id);
    // The correct padding, written out: bit 3 with the right pad bytes.
    const std::size_t unpadded = 20 + v.message.size() + v.receive_id.size();
    const std::size_t pad = 32 - unpadded % 32;
    out.Write(kTarget, absl::StrCat("plain-raw-padding-", v.name),
              mode(2) + std::string(1, '\x0c') + v.prefix + message +
                  BigEndian(v.receive_id.size(), 1) + v.receive_id +
                  std::string(pad, static_cast<char>(pad)));
  }
}

void WriteUserDataSeeds(const rapidjson::Document& doc, SeedWriter& out) {
  constexpr absl::string_view kTarget = "user_data_fuzzer";
  auto header = [](int mode, int flags, int max_age, std::int32_t now_delta) {
    return std::string{static_cast<char>(mode), static_cast<char>(flags),
                       static_cast<char>(max_age)} +
           BigEndian(static_cast<std::uint32_t>(now_delta), 4);
  };
  for (const auto& v : Array(doc, "user_data").GetArray()) {
    const std::string name = Str(v, "name");
    const std::string ciphertext =
        Must(Base64Decode(Str(v, "encrypted_data")), name);
    out.Write(kTarget, absl::StrCat("raw-", name),
              header(0, 0, 0, 0) + ciphertext);
    const std::string app_id = Str(v, "app_id");
    const std::string session_key = Str(v, "session_key");
    const std::string iv = Str(v, "iv");
    out.Write(kTarget, absl::StrCat("fields-", name),
              header(2, 0, 2, 10) + BigEndian(session_key.size(), 1) +
                  session_key + BigEndian(iv.size(), 1) + iv +
                  BigEndian(app_id.size(), 1) + app_id +
                  Str(v, "encrypted_data"));
    const std::string plaintext = OptStr(v, "expected_plaintext");
    if (plaintext.empty()) continue;
    out.Write(kTarget, absl::StrCat("plain-", name),
              header(1, 0, 0, 0) + plaintext);
    out.Write(kTarget, absl::StrCat("plain-age-300-", name),
              header(1, 0, 2, 299) + plaintext);
    out.Write(kTarget, absl::StrCat("plain-age-300-too-old-", name),
              header(1, 0, 2, 301) + plaintext);
    out.Write(kTarget, absl::StrCat("plain-unpadded-", name),
              header(1, 1, 0, 0) + plaintext);
  }
}

void WriteBase64Seeds(const rapidjson::Document& doc,
                      const std::vector<MessageVector>& messages,
                      SeedWriter& out) {
  constexpr absl::string_view kTarget = "base64_key_fuzzer";
  int n = 0;
  auto write = [&](absl::string_view text) {
    out.Write(kTarget, absl::StrCat("text-", n++), text);
  };
  for (const FuzzApp& app : kFuzzApps) {
    if (!app.keys[0].empty()) write(app.keys[0]);
  }
  for (const MessageVector& v : messages) write(v.encrypt);
  for (const auto& v : Array(doc, "user_data").GetArray()) {
    write(Str(v, "session_key"));
    write(Str(v, "iv"));
    write(Str(v, "encrypted_data"));
  }
}

void WriteConfigSeeds(SeedWriter& out) {
  constexpr absl::string_view kTarget = "config_fuzzer";
  out.Write(kTarget, "demo-config", DemoConfigJson());
  out.Write(kTarget, "fuzz-config", kFuzzConfigJson);
}

void WritePushRequestSeeds(const rapidjson::Document& doc, SeedWriter& out) {
  constexpr absl::string_view kTarget = "push_request_fuzzer";
  using ::wxcrypto::v1::DecryptPushRequest;
  auto write = [&](absl::string_view name, std::uint8_t control,
                   const DecryptPushRequest& request) {
    std::string bytes(1, static_cast<char>(control));
    FUZZ_CHECK(request.AppendToString(&bytes));
    out.Write(kTarget, name, bytes);
  };
  constexpr std::uint8_t kFuzzConfig = 0x10;
  constexpr std::uint8_t kWidgetReply = 0x40;
  constexpr std::uint8_t kWeComUrl = 0x80;

  // The published pushes, as WeChat sent them.
  std::string plain_message;
  for (const auto& v : Array(doc, "push").GetArray()) {
    // Bits 0-3 of the control byte: replace app_id with this app.
    std::uint8_t app_bits = 0;
    for (std::size_t a = 0; a < kFuzzAppCount; ++a) {
      if (kFuzzApps[a].app_id == Str(v, "receive_id")) {
        app_bits = static_cast<std::uint8_t>(1 | (a << 1));
      }
    }
    DecryptPushRequest request;
    request.set_app_id(Str(v, "receive_id"));
    request.set_msg_signature(Str(v, "msg_signature"));
    request.set_timestamp(Str(v, "timestamp"));
    request.set_nonce(Str(v, "nonce"));
    request.set_encrypt_type("aes");
    request.set_body(Str(v, "body"));
    const std::string name = Str(v, "name");
    write(absl::StrCat("push-", name), 0, request);
    write(absl::StrCat("push-", name, "-fuzz-config"), kFuzzConfig, request);
    write(absl::StrCat("push-", name, "-widget-reply"), kWidgetReply, request);
    write(absl::StrCat("push-", name, "-wecom-url"), kWeComUrl, request);
    // The body alone: not a serialized request, so the target uses it as
    // the body of a push with fixed fields, re-signed for the vector's app.
    out.Write(
        kTarget, absl::StrCat("body-", name),
        std::string(1, static_cast<char>(0x20 | app_bits)) + Str(v, "body"));
    if (FormatOf(Str(v, "envelope_format")) == EnvelopeFormat::kJson) {
      plain_message = Str(v, "expected_plaintext");
    }
  }

  // A plaintext push (signature over token, timestamp and nonce only).
  for (const auto& v : Array(doc, "plain_push").GetArray()) {
    DecryptPushRequest request;
    request.set_app_id("wxba5fad812f8e6fb9");
    request.set_signature(Str(v, "signature"));
    request.set_timestamp(Str(v, "timestamp"));
    request.set_nonce(Str(v, "nonce"));
    request.set_body(plain_message);
    write(absl::StrCat("plain-", Str(v, "name")), 0, request);
  }
  // URL verification: the target uses the body as echostr.
  for (const auto& v : Array(doc, "url_verify").GetArray()) {
    DecryptPushRequest request;
    request.set_app_id("wxba5fad812f8e6fb9");
    request.set_signature(Str(v, "signature"));
    request.set_timestamp(Str(v, "timestamp"));
    request.set_nonce(Str(v, "nonce"));
    request.set_body(Str(v, "echostr"));
    write(absl::StrCat("url-", Str(v, "name")), 0, request);
  }

  // The fuzz config's other apps, sealed the way WeChat seals pushes, with
  // the vector's message, at the target's clock.
  const std::string timestamp = absl::StrCat(kFuzzNow);
  const std::string nonce = "1320562132";
  for (std::size_t a = 2; a < kFuzzAppCount; ++a) {
    const FuzzApp& app = kFuzzApps[a];
    for (int key_index = 0; key_index < 2; ++key_index) {
      DecryptPushRequest request;
      request.set_app_id(std::string(app.app_id));
      request.set_timestamp(timestamp);
      request.set_nonce(nonce);
      if (app.keys[key_index].empty()) {
        if (key_index > 0) continue;
        request.set_signature(ComputeUrlSignature(app.token, timestamp, nonce));
        request.set_encrypt_type("raw");
        request.set_body(plain_message);
      } else {
        std::vector<absl::string_view> keys;
        for (absl::string_view key : app.keys) {
          if (!key.empty()) keys.push_back(key);
        }
        const MessageCrypt crypt =
            Must(MessageCrypt::Create(keys, app.receive_id), "crypt");
        const std::string encrypt =
            Must(crypt.EncryptWithRandomPrefix(plain_message,
                                               "0123456789abcdef", key_index),
                 "encrypt");
        const EnvelopeFormat format =
            kFormats[(a + static_cast<std::size_t>(key_index)) % 3];
        request.set_body(Must(
            BuildPushEnvelope(format, "gh_97417a04a28d", encrypt), "envelope"));
        request.set_msg_signature(
            ComputeMsgSignature(app.token, timestamp, nonce, encrypt));
        request.set_encrypt_type("aes");
      }
      write(absl::StrCat("sealed-", app.app_id, "-key-", key_index),
            kFuzzConfig, request);
      write(absl::StrCat("sealed-", app.app_id, "-key-", key_index,
                         "-wecom-url-widget"),
            kFuzzConfig | kWeComUrl | kWidgetReply, request);
    }
  }
}

}  // namespace
}  // namespace wxcrypto::fuzz

int main(int argc, char** argv) {
  using namespace ::wxcrypto::fuzz;  // NOLINT(build/namespaces)
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <wechat_vectors.json> <output dir>\n",
                 argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string json((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  FUZZ_CHECK_MSG(in.good() || in.eof(), argv[1]);
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  FUZZ_CHECK_MSG(!doc.HasParseError() && doc.IsObject(), argv[1]);

  SeedWriter out{std::filesystem::path(argv[2])};
  const std::vector<MessageVector> messages = MessageVectors(doc);
  WriteEnvelopeSeeds(doc, messages, out);
  WriteMessageDecryptSeeds(messages, out);
  WriteUserDataSeeds(doc, out);
  WriteBase64Seeds(doc, messages, out);
  WriteConfigSeeds(out);
  WritePushRequestSeeds(doc, out);
  std::printf("fuzz_seed_corpus: wrote %d seeds to %s\n", out.count(), argv[2]);
  return 0;
}
