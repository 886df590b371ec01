// The offline half of wxcrypto-cli: acting as WeChat to test a gateway.
//
// SealPush builds what WeChat sends for an encrypted push: the query string
// it appends to the webhook URL,
//
//   signature=S&timestamp=T&nonce=N[&openid=O]&encrypt_type=aes&msg_signature=M
//
// (S = sha1 over token, timestamp, nonce; M = sha1 over those and Encrypt;
// values percent-encoded), and the POST body in one of the three envelope
// dialects. OpenReply does what WeChat does with the gateway's passive
// reply: parse the envelope, check MsgSignature, decrypt Encrypt.
//
// Neither touches the network. Both use the service's own crypto core, so a
// gateway tested against them talks to the service the way WeChat does.
#ifndef WXCRYPTO_CLIENT_CLI_OFFLINE_H_
#define WXCRYPTO_CLIENT_CLI_OFFLINE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/envelope/envelope.h"

namespace wxcrypto {
namespace cli {

// What to seal. The token and key are plain strings: they came from the
// command line, so wiping them here would protect nothing.
struct SealPushParams {
  std::string token;
  std::string encoding_aes_key;
  std::string receive_id;
  // The plaintext push message (XML or JSON), not validated.
  std::string message;
  EnvelopeFormat format = EnvelopeFormat::kXml;
  // Used as given (a tester may want a malformed one).
  std::string timestamp;
  std::string nonce;
  // ToUserName (tousername) of the body.
  std::string to_user_name = "gh_test";
  // If non-empty, an openid parameter is added to the query, as official
  // accounts send it.
  std::string openid;
  // For known-answer tests only: a 16-byte random prefix to reproduce a
  // published vector. Empty: a fresh one from the CSPRNG.
  std::string random_prefix;
};

// A sealed push.
struct SealedPush {
  EnvelopeFormat format = EnvelopeFormat::kXml;
  std::string encrypt;
  std::string msg_signature;
  // The plaintext-mode `signature` parameter: sha1 over token, timestamp,
  // nonce. WeChat sends it alongside msg_signature.
  std::string signature;
  std::string timestamp;
  std::string nonce;
  // The HTTP body to POST.
  std::string body;
  // The query string to append to the webhook URL (without '?').
  std::string query;
};

// Encrypts and signs a push. Errors: the crypto core's (-40004
// AES_KEY_INVALID for a bad key, -40011 REPLY_INVALID for an envelope that
// cannot be built).
absl::StatusOr<SealedPush> SealPush(const SealPushParams& params);

// What to open.
struct OpenReplyParams {
  std::string token;
  // encoding_aes_keys[0] is the current key, the rest previous ones.
  std::vector<std::string> encoding_aes_keys;
  std::string receive_id;
  // The reply body as the gateway returned it.
  std::string body;
};

// An opened reply.
struct OpenedReply {
  EnvelopeFormat format = EnvelopeFormat::kXml;
  std::string message;
  std::string encrypt;
  std::string msg_signature;
  std::string timestamp;
  std::string nonce;
  // Which key decrypted it: 0 current, n the n-th previous.
  std::size_t key_index = 0;
};

// Parses a reply envelope (any dialect), verifies its MsgSignature and only
// then decrypts it. Errors: -40004 AES_KEY_INVALID, -40002 ENVELOPE_INVALID,
// -40001 SIGNATURE_MISMATCH / SIGNATURE_MISSING, and the decryption errors of
// MessageCrypt::Decrypt (-40010, -40007, -40008, -40005).
absl::StatusOr<OpenedReply> OpenReply(const OpenReplyParams& params);

// Returns `value` percent-encoded for a query string: RFC 3986 unreserved
// characters (A-Z a-z 0-9 - . _ ~) as they are, every other byte as %XX
// (uppercase hex).
std::string UrlEncode(absl::string_view value);

// Returns the query string WeChat appends to the webhook URL for an
// encrypted push, in WeChat's parameter order.
std::string BuildPushQuery(absl::string_view signature,
                           absl::string_view timestamp, absl::string_view nonce,
                           absl::string_view openid,
                           absl::string_view msg_signature);

}  // namespace cli
}  // namespace wxcrypto

#endif  // WXCRYPTO_CLIENT_CLI_OFFLINE_H_
