#include "client/cli/offline.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"

namespace wxcrypto {
namespace cli {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string UrlEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

std::string BuildPushQuery(absl::string_view signature,
                           absl::string_view timestamp, absl::string_view nonce,
                           absl::string_view openid,
                           absl::string_view msg_signature) {
  std::string query = absl::StrCat("signature=", UrlEncode(signature),
                                   "&timestamp=", UrlEncode(timestamp),
                                   "&nonce=", UrlEncode(nonce));
  if (!openid.empty()) absl::StrAppend(&query, "&openid=", UrlEncode(openid));
  absl::StrAppend(&query,
                  "&encrypt_type=aes&msg_signature=", UrlEncode(msg_signature));
  return query;
}

absl::StatusOr<SealedPush> SealPush(const SealPushParams& params) {
  const absl::string_view keys[] = {params.encoding_aes_key};
  auto crypt = MessageCrypt::Create(keys, params.receive_id);
  if (!crypt.ok()) return crypt.status();
  auto encrypt = params.random_prefix.empty()
                     ? crypt->Encrypt(params.message)
                     : crypt->EncryptWithRandomPrefix(params.message,
                                                      params.random_prefix);
  if (!encrypt.ok()) return encrypt.status();

  SealedPush sealed;
  sealed.format = params.format;
  sealed.encrypt = *std::move(encrypt);
  sealed.timestamp = params.timestamp;
  sealed.nonce = params.nonce;
  sealed.msg_signature = ComputeMsgSignature(params.token, params.timestamp,
                                             params.nonce, sealed.encrypt);
  sealed.signature =
      ComputeUrlSignature(params.token, params.timestamp, params.nonce);
  auto body =
      BuildPushEnvelope(params.format, params.to_user_name, sealed.encrypt);
  if (!body.ok()) return body.status();
  sealed.body = *std::move(body);
  sealed.query =
      BuildPushQuery(sealed.signature, sealed.timestamp, sealed.nonce,
                     params.openid, sealed.msg_signature);
  return sealed;
}

absl::StatusOr<OpenedReply> OpenReply(const OpenReplyParams& params) {
  std::vector<absl::string_view> keys(params.encoding_aes_keys.begin(),
                                      params.encoding_aes_keys.end());
  auto crypt = MessageCrypt::Create(keys, params.receive_id);
  if (!crypt.ok()) return crypt.status();
  auto parsed = ParseReplyEnvelope(params.body);
  if (!parsed.ok()) return parsed.status();
  auto& [format, fields] = *parsed;

  // Signature first: never decrypt what is not authenticated.
  absl::Status verified =
      VerifyMsgSignature(fields.msg_signature, params.token, fields.timestamp,
                         fields.nonce, fields.encrypt);
  if (!verified.ok()) return verified;
  auto decrypted = crypt->Decrypt(fields.encrypt);
  if (!decrypted.ok()) return decrypted.status();

  OpenedReply opened;
  opened.format = format;
  opened.message = std::move(decrypted->message);
  opened.key_index = decrypted->key_index;
  opened.encrypt = std::move(fields.encrypt);
  opened.msg_signature = std::move(fields.msg_signature);
  opened.timestamp = std::move(fields.timestamp);
  opened.nonce = std::move(fields.nonce);
  return opened;
}

}  // namespace cli
}  // namespace wxcrypto
