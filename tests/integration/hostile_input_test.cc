// Hostile input against the real server: a table of malformed requests
// across all RPCs. Every one must get its documented status and metadata,
// never UNKNOWN or INTERNAL, never a crash, and no log line or error message
// may contain a configured token or key.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/integration/server_process.h"
#include "tests/testing/status_matchers.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ServerProcess;
using ::wxcrypto::testing::TempDir;
namespace v1 = ::wxcrypto::v1;

constexpr char kApp[] = "wxhostile00000001";
constexpr char kToken[] = "hostileToken42";
constexpr char kKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kSecureApp[] = "wxhostilesecure01";
constexpr char kSecureToken[] = "secureToken77";
constexpr char kSecureKey[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
constexpr char kTimestamp[] = "1700000000";
constexpr char kNonce[] = "98765";

std::string Config() {
  return absl::StrCat(
      R"({"apps":[{"app_id":")", kApp, R"(","token":")", kToken,
      R"(","encoding_aes_key":")", kKey,
      R"(","mode":"MODE_COMPATIBLE"},{"app_id":")", kSecureApp,
      R"(","token":")", kSecureToken, R"(","encoding_aes_key":")", kSecureKey,
      R"(","mode":"MODE_SECURE","max_timestamp_skew_seconds":600}]})");
}

// One malformed request and what it must get.
struct Case {
  std::string name;
  std::function<grpc::Status(v1::CryptoService::Stub&, grpc::ClientContext&)>
      call;
  grpc::StatusCode code;
  std::string wx_error_code;  // empty: any non-empty value
  std::string reason;         // empty: any non-empty value
};

// Encrypts a raw (already padded) plaintext with kKey, for ciphertexts a
// correct encryptor never makes; returns the signed push.
v1::DecryptPushRequest PushWithEncrypt(const std::string& encrypt) {
  v1::DecryptPushRequest request;
  request.set_app_id(kApp);
  request.set_timestamp(kTimestamp);
  request.set_nonce(kNonce);
  request.set_encrypt_type("aes");
  request.set_msg_signature(
      ComputeMsgSignature(kToken, kTimestamp, kNonce, encrypt));
  // Built by hand: BuildPushEnvelope refuses the malformed values used here.
  request.set_body(absl::StrCat(
      "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[",
      encrypt, "]]></Encrypt></xml>"));
  return request;
}

std::string SealRaw(const std::string& padded_plaintext) {
  const EncodingAesKey key = *EncodingAesKey::Parse(kKey);
  std::string ciphertext;
  EXPECT_THAT(
      AesCbcEncryptNoPadding(key.key(), key.iv(), padded_plaintext, ciphertext),
      IsOk());
  return Base64Encode(ciphertext);
}

std::string Frame(const std::string& message, const std::string& receive_id,
                  std::uint32_t length) {
  std::string out(16, 'r');
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  return out + message + receive_id;
}

std::string Pad(std::string data, int pad_value, std::size_t pad_count) {
  const std::size_t target = (data.size() + pad_count + 15) / 16 * 16;
  data.append(target - data.size() - pad_count, 'x');
  data.append(pad_count, static_cast<char>(pad_value));
  return data;
}

template <typename Request, typename Response, typename Method>
std::function<grpc::Status(v1::CryptoService::Stub&, grpc::ClientContext&)> Rpc(
    Method method, Request request) {
  return [method, request](v1::CryptoService::Stub& stub,
                           grpc::ClientContext& context) {
    Response response;
    return (stub.*method)(&context, request, &response);
  };
}

auto Push(v1::DecryptPushRequest request) {
  return Rpc<v1::DecryptPushRequest, v1::DecryptPushResponse>(
      &v1::CryptoService::Stub::DecryptPush, std::move(request));
}
auto Reply(v1::BuildEncryptedReplyRequest request) {
  return Rpc<v1::BuildEncryptedReplyRequest, v1::BuildEncryptedReplyResponse>(
      &v1::CryptoService::Stub::BuildEncryptedReply, std::move(request));
}
auto UserData(v1::DecryptUserDataRequest request) {
  return Rpc<v1::DecryptUserDataRequest, v1::DecryptUserDataResponse>(
      &v1::CryptoService::Stub::DecryptUserData, std::move(request));
}
auto RawData(v1::VerifyRawDataRequest request) {
  return Rpc<v1::VerifyRawDataRequest, v1::VerifyRawDataResponse>(
      &v1::CryptoService::Stub::VerifyRawData, std::move(request));
}
auto Url(v1::VerifyUrlRequest request) {
  return Rpc<v1::VerifyUrlRequest, v1::VerifyUrlResponse>(
      &v1::CryptoService::Stub::VerifyUrl, std::move(request));
}

std::vector<Case> BuildCases() {
  std::vector<Case> cases;
  const auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  const auto kUnauth = grpc::StatusCode::UNAUTHENTICATED;
  const std::string msg = "<xml><MsgType><![CDATA[text]]></MsgType></xml>";
  const v1::DecryptPushRequest good =
      PushWithEncrypt(*(*MessageCrypt::Create({kKey}, kApp)).Encrypt(msg));

  // --- DecryptPush: identity and query parameters.
  for (const std::string& app :
       {std::string(), std::string("wxnope"), std::string(4096, 'a'),
        std::string("wx\0nul", 6), std::string(kApp) + " "}) {
    v1::DecryptPushRequest r = good;
    r.set_app_id(app);
    cases.push_back({"push unknown app " + std::to_string(cases.size()),
                     Push(r), grpc::StatusCode::NOT_FOUND, "-40005",
                     "APP_NOT_FOUND"});
  }
  for (const std::string& sig :
       {std::string(), std::string(39, 'a'), std::string(41, 'a'),
        std::string(40, 'g'), std::string(40, '\0'), std::string(4096, 'f'),
        good.msg_signature().substr(1) + "0"}) {
    v1::DecryptPushRequest r = good;
    r.set_msg_signature(sig);
    cases.push_back({"push bad msg_signature " + std::to_string(cases.size()),
                     Push(r), kUnauth, "-40001", ""});
  }
  for (const std::string& ts :
       {std::string(), std::string("0"), std::string("-1"), std::string("1e9"),
        std::string(30, '9'), std::string("1700000000 "),
        std::string("\xe4\xb8\x80")}) {
    v1::DecryptPushRequest r = good;
    r.set_timestamp(ts);  // the signature no longer matches
    cases.push_back({"push bad timestamp " + std::to_string(cases.size()),
                     Push(r), kUnauth, "-40001", "SIGNATURE_MISMATCH"});
  }
  for (const std::string& nonce :
       {std::string(), std::string(10000, 'n'), std::string("\0", 1)}) {
    v1::DecryptPushRequest r = good;
    r.set_nonce(nonce);
    cases.push_back({"push bad nonce " + std::to_string(cases.size()), Push(r),
                     kUnauth, "-40001", "SIGNATURE_MISMATCH"});
  }
  for (const std::string& type :
       {std::string("AES"), std::string("aes "), std::string("des"),
        std::string("raw2"), std::string("\0", 1)}) {
    v1::DecryptPushRequest r = good;
    r.set_encrypt_type(type);
    cases.push_back({"push bad encrypt_type " + std::to_string(cases.size()),
                     Push(r), kInvalid, "-40008", "ENCRYPT_TYPE_INVALID"});
  }
  // String fields that are not UTF-8 (proto3 requires it): refused before
  // any handler runs, still with the service's status and metadata.
  for (int field = 0; field < 6; ++field) {
    v1::DecryptPushRequest r = good;
    const std::string bad = "\xff\xfe\xc3\x28";
    if (field == 0) r.set_app_id(bad);
    if (field == 1) r.set_msg_signature(bad + std::string(36, 'a'));
    if (field == 2) r.set_signature(bad);
    if (field == 3) r.set_timestamp(bad);
    if (field == 4) r.set_nonce(bad);
    if (field == 5) r.set_encrypt_type(bad);
    cases.push_back({"push non-UTF-8 string field " + std::to_string(field),
                     Push(r), kInvalid, "-40008", "REQUEST_INVALID"});
  }
  // A valid ciphertext cut short or with a flipped bit: never decrypts.
  {
    const std::string ciphertext = *Base64Decode(
        *(*MessageCrypt::Create({kKey}, kApp)).Encrypt(std::string(300, 'm')));
    for (std::size_t cut = 16; cut < ciphertext.size(); cut += 48) {
      cases.push_back(
          {"push truncated ciphertext " + std::to_string(cut),
           Push(PushWithEncrypt(Base64Encode(ciphertext.substr(0, cut)))),
           kInvalid, "", ""});
    }
    for (std::size_t bit = 0; bit < 8; ++bit) {
      std::string flipped = ciphertext;
      flipped[flipped.size() - 17] ^=
          static_cast<char>(1 << bit);  // garbles the pad block
      cases.push_back({"push flipped pad bit " + std::to_string(bit),
                       Push(PushWithEncrypt(Base64Encode(flipped))), kInvalid,
                       "", ""});
    }
  }
  // Timestamps out of the secure app's window: far past, far future, not a
  // number.
  for (const std::string& ts : {std::string("1"), std::string("9999999999"),
                                std::string("abc"), std::string("")}) {
    v1::DecryptPushRequest r = good;
    r.set_app_id(kSecureApp);
    r.set_timestamp(ts);
    cases.push_back({"push timestamp window " + std::to_string(cases.size()),
                     Push(r), kUnauth, "-40001", ""});
  }

  // --- DecryptPush: bodies (signed, so they reach the parser; signature
  // covers only Encrypt, so an unparseable body fails before the signature).
  const std::vector<std::string> bad_bodies = {
      "",
      " ",
      "x",
      "<",
      "<xml>",
      "<xml></xml>",
      "<xml><Encrypt></xml>",
      "{",
      "{}",
      "[]",
      "null",
      "\"str\"",
      "1",
      "{\"Encrypt\":1}",
      "{\"Encrypt\":null}",
      "{\"Encrypt\":[\"a\"]}",
      "{\"Encrypt\":{\"a\":1}}",
      "{\"encrypt\":true}",
      "<notxml><Encrypt>a</Encrypt></notxml>",
      "<!DOCTYPE xml><xml><Encrypt>a</Encrypt></xml>",
      "<!DOCTYPE xml [<!ENTITY x SYSTEM "
      "\"file:///etc/passwd\">]><xml><Encrypt>&x;</Encrypt></xml>",
      "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
      "\"&lol;&lol;\">]><xml><Encrypt>&lol2;</Encrypt></xml>",
      "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
      "{\"Encrypt\":\"a\",\"Encrypt\":\"b\"}",
      "<xml><Encrypt>a</Encrypt></xml>trailing",
      "{\"Encrypt\":\"a\"} trailing",
      "{\"Encrypt\":\"a\"",
      "<xml><Encrypt><![CDATA[a]]></Encrypt>",
      std::string("<xml><Encrypt>a\0b</Encrypt></xml>", 31),
      "\xef\xbb\xbf\xff<xml/>",
      std::string(100000, '[') + std::string(100000, ']'),
      std::string(200, '{').append("\"a\":").append(200, '}'),
      [] {
        std::string deep = "<xml>";
        for (int i = 0; i < 5000; ++i) deep += "<a>";
        return deep;
      }(),
      "{\"Encrypt\":\"\\ud800\"}",
      "{\"Encrypt\":\"\xc3\x28\"}",
  };
  for (const std::string& body : bad_bodies) {
    v1::DecryptPushRequest r = good;
    r.set_body(body);
    cases.push_back({"push bad body " + std::to_string(cases.size()), Push(r),
                     kInvalid, "-40002", ""});
  }

  // --- DecryptPush: Encrypt values that pass the signature but not decryption.
  const auto add_encrypt =
      [&](const std::string& name, const std::string& encrypt,
          const std::string& wx_code, const std::string& reason) {
        cases.push_back({name + " " + std::to_string(cases.size()),
                         Push(PushWithEncrypt(encrypt)), kInvalid, wx_code,
                         reason});
      };
  for (const std::string& b64 :
       {std::string("a"), std::string("ab"), std::string("abc"),
        std::string("a==="), std::string("ab=c"), std::string("ab c"),
        std::string("YWJj\n"), std::string("-_-_"), std::string("Y*Jj")}) {
    add_encrypt("push Encrypt not base64", b64, "-40010", "BASE64_INVALID");
  }
  add_encrypt("push empty Encrypt", "", "-40007", "DECRYPT_FAILED");
  for (std::size_t size : {1u, 15u, 17u, 31u, 33u, 100u}) {
    add_encrypt("push ciphertext not block-aligned",
                Base64Encode(std::string(size, 'c')), "-40007",
                "DECRYPT_FAILED");
  }
  add_encrypt("push pad 0", SealRaw(Pad(Frame(msg, kApp, msg.size()), 0, 1)),
              "-40007", "DECRYPT_FAILED");
  for (int pad = 33; pad <= 255; pad += 37) {
    add_encrypt("push pad too large",
                SealRaw(Pad(Frame(msg, kApp, msg.size()), pad, 1)), "-40007",
                "DECRYPT_FAILED");
  }
  for (int pad = 2; pad <= 32; pad += 5) {
    std::string plaintext =
        Pad(Frame(msg, kApp, msg.size()), pad, static_cast<std::size_t>(pad));
    plaintext[plaintext.size() - 2] ^= 1;  // one pad byte differs
    add_encrypt("push inconsistent pad", SealRaw(plaintext), "-40007",
                "DECRYPT_FAILED");
  }
  for (std::uint32_t length : {1000u, 0x7fffffffu, 0xffffffffu}) {
    add_encrypt("push length past end",
                SealRaw(Pad(Frame(msg, kApp, length), 32, 32)), "-40008",
                "BUFFER_INVALID");
  }
  for (const std::string& other :
       {std::string(), std::string("wxother"), std::string(kApp) + "x",
        std::string(kSecureApp)}) {
    add_encrypt("push wrong receive id",
                SealRaw(Pad(Frame(msg, other, msg.size()), 32, 32)), "-40005",
                "RECEIVE_ID_MISMATCH");
  }
  add_encrypt("push not XML or JSON inside",
              *(*MessageCrypt::Create({kKey}, kApp))
                   .Encrypt("plain text, not a message"),
              "-40002", "MESSAGE_INVALID");
  add_encrypt(
      "push DOCTYPE inside",
      *(*MessageCrypt::Create({kKey}, kApp))
           .Encrypt("<!DOCTYPE x [<!ENTITY e \"e\">]><xml><A>&e;</A></xml>"),
      "-40002", "MESSAGE_INVALID");
  add_encrypt(
      "push invalid UTF-8 JSON inside",
      *(*MessageCrypt::Create({kKey}, kApp)).Encrypt("{\"a\":\"\xff\"}"),
      "-40002", "MESSAGE_INVALID");
  add_encrypt("push sealed for another app",
              *(*MessageCrypt::Create({kSecureKey}, kApp)).Encrypt(msg), "",
              "");
  // Plaintext mode.
  {
    v1::DecryptPushRequest r = good;
    r.set_encrypt_type("raw");
    r.set_app_id(kSecureApp);
    r.set_timestamp(std::to_string(std::time(nullptr)));
    r.set_signature(ComputeUrlSignature(kSecureToken, r.timestamp(), kNonce));
    cases.push_back({"plaintext push to secure app", Push(r),
                     grpc::StatusCode::FAILED_PRECONDITION, "-40001",
                     "PLAINTEXT_NOT_ALLOWED"});
    v1::DecryptPushRequest p = good;
    p.clear_encrypt_type();
    for (const std::string& sig :
         {std::string(), std::string(40, 'a'), good.msg_signature()}) {
      p.set_signature(sig);
      cases.push_back(
          {"plaintext push bad signature " + std::to_string(cases.size()),
           Push(p), kUnauth, "-40001", ""});
    }
    p.set_signature(ComputeUrlSignature(kToken, kTimestamp, kNonce));
    for (const std::string& body :
         {std::string("not a message"), std::string("<!DOCTYPE x><xml/>"),
          std::string("{\"a\":")}) {
      p.set_body(body);
      cases.push_back(
          {"plaintext push bad body " + std::to_string(cases.size()), Push(p),
           kInvalid, "-40002", ""});
    }
  }
  // Oversized request (the server runs with a 256 KiB limit).
  {
    v1::DecryptPushRequest r = good;
    r.set_body(std::string(300 << 10, '<'));
    cases.push_back({"push oversized", Push(r),
                     grpc::StatusCode::RESOURCE_EXHAUSTED, "-40008",
                     "REQUEST_TOO_LARGE"});
  }

  // --- BuildEncryptedReply.
  v1::BuildEncryptedReplyRequest reply;
  reply.set_app_id(kApp);
  reply.set_message("hi");
  reply.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  {
    v1::BuildEncryptedReplyRequest r = reply;
    r.set_app_id("wxnope");
    cases.push_back({"reply unknown app", Reply(r), grpc::StatusCode::NOT_FOUND,
                     "-40005", "APP_NOT_FOUND"});
  }
  for (int format : {0, 4, 99, -1}) {
    v1::BuildEncryptedReplyRequest r = reply;
    r.set_envelope_format(static_cast<v1::EnvelopeFormat>(format));
    cases.push_back({"reply bad format " + std::to_string(format), Reply(r),
                     kInvalid, "-40011", "ENVELOPE_FORMAT_INVALID"});
  }
  for (std::uint32_t index : {1u, 2u, 1000u, 0xffffffffu}) {
    v1::BuildEncryptedReplyRequest r = reply;
    r.set_key_index(index);
    cases.push_back({"reply bad key index " + std::to_string(index), Reply(r),
                     kInvalid, "-40004", "KEY_INDEX_INVALID"});
  }
  for (const std::string& ts :
       {std::string("abc"), std::string("-5"), std::string("1.5"),
        std::string(25, '1'), std::string("12 34"), std::string("\xe4\xb8\x80"),
        std::string("]]><x>")}) {
    v1::BuildEncryptedReplyRequest r = reply;
    r.set_timestamp(ts);
    cases.push_back({"reply bad timestamp " + std::to_string(cases.size()),
                     Reply(r), kInvalid, "-40011", ""});
  }
  for (const std::string& nonce :
       {std::string(200, 'n'), std::string("a]]>b"), std::string("\x01\x02"),
        std::string("\xe4\xb8\x80")}) {
    v1::BuildEncryptedReplyRequest r = reply;
    r.set_nonce(nonce);
    cases.push_back({"reply bad nonce " + std::to_string(cases.size()),
                     Reply(r), kInvalid, "-40011", ""});
  }
  for (const std::string& data :
       {std::string("not json"), std::string("{"), std::string("{\"a\":1} x"),
        std::string(1000, '[')}) {
    v1::BuildEncryptedReplyRequest r = reply;
    r.mutable_widget_data()->set_query("{}");
    r.mutable_widget_data()->set_data(data);
    cases.push_back(
        {"reply widget data not JSON " + std::to_string(cases.size()), Reply(r),
         kInvalid, "-40011", ""});
  }
  {
    v1::BuildEncryptedReplyRequest r = reply;
    r.mutable_widget_data()->set_data("{}");
    r.mutable_widget_data()->set_lifespan(-1);
    cases.push_back(
        {"reply widget negative lifespan", Reply(r), kInvalid, "-40011", ""});
    v1::BuildEncryptedReplyRequest big = reply;
    big.set_message(std::string(300 << 10, 'm'));
    cases.push_back({"reply oversized", Reply(big),
                     grpc::StatusCode::RESOURCE_EXHAUSTED, "-40008",
                     "REQUEST_TOO_LARGE"});
  }

  // --- DecryptUserData: errors before decryption are distinct...
  v1::DecryptUserDataRequest user;
  user.set_app_id("wx4f4bc4dec97d474b");
  user.set_session_key("tiihtNczf5v6AKRyjwEUhQ==");
  user.set_iv("r7BXXKkLb8qrSNn05n0qiA==");
  user.set_encrypted_data(Base64Encode(std::string(32, 'e')));
  for (const std::string& key :
       {std::string(), std::string("short"), std::string(24, '!'),
        std::string("tiihtNczf5v6AKRyjwEUhQ="), std::string(1000, 'A'),
        std::string("tiihtNczf5v6AKRyjwEUhQ==\n")}) {
    v1::DecryptUserDataRequest r = user;
    r.set_session_key(key);
    cases.push_back(
        {"user data bad session key " + std::to_string(cases.size()),
         UserData(r), kInvalid, "-41001", "SESSION_KEY_INVALID"});
  }
  for (const std::string& iv :
       {std::string(), std::string("AAAA"), std::string(24, '*'),
        std::string("r7BXXKkLb8qrSNn05n0qiA")}) {
    v1::DecryptUserDataRequest r = user;
    r.set_iv(iv);
    cases.push_back({"user data bad iv " + std::to_string(cases.size()),
                     UserData(r), kInvalid, "-41002", "IV_INVALID"});
  }
  for (const std::string& data : {std::string(), std::string("abc"),
                                  std::string("ab!="), std::string("====")}) {
    v1::DecryptUserDataRequest r = user;
    r.set_encrypted_data(data);
    cases.push_back({"user data not base64 " + std::to_string(cases.size()),
                     UserData(r), kInvalid, "-41004", "BASE64_INVALID"});
  }
  for (std::size_t size : {1u, 15u, 17u}) {
    v1::DecryptUserDataRequest r = user;
    r.set_encrypted_data(Base64Encode(std::string(size, 'e')));
    cases.push_back({"user data not block-aligned " + std::to_string(size),
                     UserData(r), kInvalid, "-41003", "BUFFER_INVALID"});
  }
  // ...and every failure after decryption starts is the same one.
  const std::string key = *Base64Decode("tiihtNczf5v6AKRyjwEUhQ==");
  const std::string iv = *Base64Decode("r7BXXKkLb8qrSNn05n0qiA==");
  for (const std::string& plaintext :
       {std::string("{}"), std::string("not json"),
        std::string("{\"watermark\":{}}"),
        std::string("{\"watermark\":{\"appid\":\"wxother\",\"timestamp\":1}}"),
        std::string("{\"watermark\":{\"appid\":\"wx4f4bc4dec97d474b\","
                    "\"timestamp\":\"1\"}}"),
        std::string(1000, '['), std::string("\xff\xfe")}) {
    v1::DecryptUserDataRequest r = user;
    r.set_encrypted_data(Base64Encode(*AesCbcPkcs7Encrypt(key, iv, plaintext)));
    cases.push_back({"user data rejected " + std::to_string(cases.size()),
                     UserData(r), kInvalid, "-41003", "USER_DATA_INVALID"});
  }
  for (std::size_t blocks : {1u, 2u, 4u}) {
    v1::DecryptUserDataRequest r =
        user;  // random bytes: padding almost surely bad
    r.set_encrypted_data(
        Base64Encode(std::string(16 * blocks, static_cast<char>(blocks))));
    cases.push_back({"user data garbage " + std::to_string(blocks), UserData(r),
                     kInvalid, "-41003", "USER_DATA_INVALID"});
  }
  {
    v1::DecryptUserDataRequest r = user;
    r.set_encrypted_data(Base64Encode(*AesCbcPkcs7Encrypt(
        key, iv,
        "{\"watermark\":{\"appid\":\"wx4f4bc4dec97d474b\",\"timestamp\":1}}")));
    r.set_max_age_seconds(60);
    cases.push_back({"user data too old", UserData(r), kInvalid, "-41003",
                     "USER_DATA_INVALID"});
    r.set_max_age_seconds(-5);
    cases.push_back({"user data negative max age", UserData(r), kInvalid,
                     "-41003", "BUFFER_INVALID"});
  }

  // --- VerifyRawData: only a missing session key is an error.
  {
    v1::VerifyRawDataRequest r;
    r.set_raw_data("{}");
    r.set_signature(std::string(40, 'a'));
    cases.push_back({"raw data without session key", RawData(r), kInvalid,
                     "-41001", "SESSION_KEY_INVALID"});
  }

  // --- VerifyUrl.
  v1::VerifyUrlRequest url;
  url.set_app_id(kApp);
  url.set_timestamp(kTimestamp);
  url.set_nonce(kNonce);
  url.set_echostr("12345");
  url.set_signature(ComputeUrlSignature(kToken, kTimestamp, kNonce));
  {
    v1::VerifyUrlRequest r = url;
    r.set_app_id("wxnope");
    cases.push_back({"url unknown app", Url(r), grpc::StatusCode::NOT_FOUND,
                     "-40005", "APP_NOT_FOUND"});
    r = url;
    r.clear_echostr();
    cases.push_back(
        {"url without echostr", Url(r), kInvalid, "-40008", "ECHOSTR_MISSING"});
  }
  for (const std::string& sig : {std::string(), std::string(40, '0'),
                                 std::string(39, 'a'), std::string("\0", 1)}) {
    v1::VerifyUrlRequest r = url;
    r.set_signature(sig);
    cases.push_back({"url bad signature " + std::to_string(cases.size()),
                     Url(r), kUnauth, "-40001", ""});
  }
  for (const std::string& echostr :
       {std::string("abc"), std::string("!!!!"),
        Base64Encode(std::string(17, 'x')),
        SealRaw(Pad(Frame("1", "wxother", 1), 32, 32))}) {
    v1::VerifyUrlRequest r = url;  // WeCom style: msg_signature over echostr
    r.set_echostr(echostr);
    r.set_msg_signature(
        ComputeMsgSignature(kToken, kTimestamp, kNonce, echostr));
    cases.push_back(
        {"url bad encrypted echostr " + std::to_string(cases.size()), Url(r),
         kInvalid, "", ""});
  }
  {
    v1::VerifyUrlRequest r = url;
    r.set_msg_signature(std::string(40, 'b'));
    cases.push_back({"url bad msg_signature", Url(r), kUnauth, "-40001",
                     "SIGNATURE_MISMATCH"});
  }
  return cases;
}

TEST(HostileInputTest, EveryMalformedRequestGetsItsDocumentedError) {
  TempDir dir;
  dir.WriteFile("config.json", Config());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({"--config=" + dir.path() + "/config.json",
                            "--max-request-bytes=262144", "--log-level=debug"});
  ASSERT_THAT(server, IsOk());
  auto stub = v1::CryptoService::NewStub(grpc::CreateChannel(
      (*server)->grpc_address(), grpc::InsecureChannelCredentials()));

  const std::vector<Case> cases = BuildCases();
  EXPECT_GE(cases.size(), 200u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Status status = c.call(*stub, context);
    std::string wx_code;
    std::string reason;
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      if (key == "wx-error-code")
        wx_code = std::string(value.data(), value.size());
      if (key == "error-reason")
        reason = std::string(value.data(), value.size());
    }
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN);
    EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_FALSE(wx_code.empty());
    EXPECT_FALSE(reason.empty());
    if (!c.wx_error_code.empty()) {
      EXPECT_EQ(wx_code, c.wx_error_code);
    }
    if (!c.reason.empty()) {
      EXPECT_EQ(reason, c.reason);
    }
    for (const std::string& secret :
         {std::string(kToken), std::string(kKey), std::string(kSecureToken),
          std::string(kSecureKey), std::string("tiihtNczf5v6AKRyjwEUhQ==")}) {
      EXPECT_THAT(status.error_message(), Not(HasSubstr(secret)));
    }
  }
  // The server survived all of it and still answers.
  grpc::ClientContext context;
  v1::VerifyRawDataRequest ping;
  ping.set_session_key("k");
  v1::VerifyRawDataResponse pong;
  EXPECT_TRUE(stub->VerifyRawData(&context, ping, &pong).ok());
  // Every failure was logged (debug level), and no log line holds a secret.
  std::size_t failures_logged = 0;
  for (const std::string& line : (*server)->LogLines()) {
    if (line.find("request failed") != std::string::npos) ++failures_logged;
    for (const std::string& secret :
         {std::string(kToken), std::string(kKey), std::string(kSecureToken),
          std::string(kSecureKey), std::string("tiihtNczf5v6AKRyjwEUhQ==")}) {
      EXPECT_THAT(line, Not(HasSubstr(secret)));
    }
  }
  EXPECT_TRUE(
      (*server)->WaitForLogLine("request failed", std::chrono::seconds(1)));
  EXPECT_GE(failures_logged + 5, cases.size() - 5);
}

}  // namespace
}  // namespace wxcrypto
