#include "server/crypto/message_crypt.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace wxcrypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ReadTestJson;
using ::wxcrypto::testing::WxStatusIs;

// Keys from the official samples (tests/testdata/wechat_vectors.json).
constexpr absl::string_view kKeyA =
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr absl::string_view kKeyB =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr absl::string_view kKeyC =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
constexpr absl::string_view kReceiveId = "wx2c2769f8efd9abc2";

MessageCrypt MakeCrypt(std::vector<absl::string_view> keys,
                       absl::string_view receive_id = kReceiveId) {
  absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create(keys, receive_id);
  EXPECT_THAT(crypt, IsOk());
  return *std::move(crypt);
}

std::string BigEndian32(std::uint32_t value) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
  return out;
}

// Encrypts `plaintext` (already block-aligned, padding included) with the
// raw cipher, to build ciphertexts a correct encryptor never produces.
std::string SealRaw(absl::string_view encoding_aes_key,
                    const std::string& plaintext) {
  absl::StatusOr<EncodingAesKey> key = EncodingAesKey::Parse(encoding_aes_key);
  EXPECT_THAT(key, IsOk());
  std::string ciphertext;
  EXPECT_THAT(
      AesCbcEncryptNoPadding(key->key(), key->iv(), plaintext, ciphertext),
      IsOk());
  return Base64Encode(ciphertext);
}

// prefix | length | message | receive id, unpadded.
std::string Frame(absl::string_view message, absl::string_view receive_id,
                  std::uint32_t length_field) {
  return std::string(16, 'r') + BigEndian32(length_field) +
         std::string(message) + std::string(receive_id);
}

std::string Frame(absl::string_view message, absl::string_view receive_id) {
  return Frame(message, receive_id, static_cast<std::uint32_t>(message.size()));
}

std::string PadTo32(std::string data) {
  Pkcs7PadAppend(32, data);
  return data;
}

TEST(EncodingAesKeyTest, ParsesOfficialSampleKey) {
  absl::StatusOr<EncodingAesKey> key = EncodingAesKey::Parse(kKeyA);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->key().size(), 32u);
  EXPECT_EQ(key->iv(), key->key().substr(0, 16));
  // base64("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=") per Python's
  // base64.b64decode.
  EXPECT_EQ(absl::BytesToHexString(key->key()),
            "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051");
}

TEST(EncodingAesKeyTest, RejectsWrongLengths) {
  for (absl::string_view bad :
       {absl::string_view(""), kKeyA.substr(0, 42),
        absl::string_view("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=")}) {
    EXPECT_THAT(
        EncodingAesKey::Parse(bad),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid));
  }
}

TEST(EncodingAesKeyTest, RejectsNonBase64Characters) {
  for (const char* bad : {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!",
                          "abcdefghijklmnopqrstuvwxyz0123456789ABCDE=F",
                          "abcdefghijklmnopqrstuvwxyz-123456789ABCDEFG",
                          "abcdefghijklmnopqrstuvwxyz 123456789ABCDEFG"}) {
    absl::StatusOr<EncodingAesKey> key = EncodingAesKey::Parse(bad);
    EXPECT_THAT(
        key, WxStatusIs(absl::StatusCode::kInvalidArgument,
                        WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid));
    EXPECT_THAT(std::string(key.status().message()),
                Not(HasSubstr("abcdefghij")));
  }
}

TEST(MessageCryptTest, CreateRejectsNoKeysAndNamesBadPreviousKey) {
  EXPECT_FALSE(MessageCrypt::Create({}, kReceiveId).ok());
  absl::StatusOr<MessageCrypt> crypt =
      MessageCrypt::Create({kKeyA, "short"}, kReceiveId);
  EXPECT_THAT(crypt,
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kIllegalAesKey, reason::kAesKeyInvalid));
  EXPECT_THAT(std::string(crypt.status().message()),
              HasSubstr("previous key 1"));
  EXPECT_THAT(std::string(crypt.status().message()), Not(HasSubstr("short")));
}

TEST(MessageCryptTest, DecryptsEveryPushVector) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  ASSERT_GT(doc["push"].Size(), 0u);
  for (const auto& v : doc["push"].GetArray()) {
    SCOPED_TRACE(v["name"].GetString());
    MessageCrypt crypt = MakeCrypt({v["encoding_aes_key"].GetString()},
                                   v["receive_id"].GetString());
    absl::StatusOr<DecryptedMessage> decrypted =
        crypt.Decrypt(v["encrypt"].GetString());
    ASSERT_THAT(decrypted, IsOk());
    EXPECT_EQ(decrypted->message, v["expected_plaintext"].GetString());
    EXPECT_EQ(decrypted->key_index, 0u);
  }
}

TEST(MessageCryptTest, EncryptReproducesPushVectorsFromTheirRandomPrefix) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  for (const auto& v : doc["push"].GetArray()) {
    SCOPED_TRACE(v["name"].GetString());
    MessageCrypt crypt = MakeCrypt({v["encoding_aes_key"].GetString()},
                                   v["receive_id"].GetString());
    absl::StatusOr<std::string> encrypt = crypt.EncryptWithRandomPrefix(
        v["expected_plaintext"].GetString(),
        absl::HexStringToBytes(v["random_prefix_hex"].GetString()));
    ASSERT_THAT(encrypt, IsOk());
    EXPECT_EQ(*encrypt, v["encrypt"].GetString());
  }
}

TEST(MessageCryptTest, EncryptReproducesReplyAndCjkVectors) {
  rapidjson::Document doc = ReadTestJson("wechat_vectors.json");
  int checked = 0;
  for (const char* section : {"reply", "encrypt_only"}) {
    for (const auto& v : doc[section].GetArray()) {
      SCOPED_TRACE(v["name"].GetString());
      MessageCrypt crypt = MakeCrypt({v["encoding_aes_key"].GetString()},
                                     v["receive_id"].GetString());
      const char* plaintext = v.HasMember("reply_plaintext")
                                  ? v["reply_plaintext"].GetString()
                                  : v["plaintext"].GetString();
      absl::StatusOr<std::string> encrypt = crypt.EncryptWithRandomPrefix(
          plaintext, v["random_prefix"].GetString());
      ASSERT_THAT(encrypt, IsOk());
      EXPECT_EQ(*encrypt, v["expected_encrypt"].GetString());
      absl::StatusOr<DecryptedMessage> decrypted = crypt.Decrypt(*encrypt);
      ASSERT_THAT(decrypted, IsOk());
      EXPECT_EQ(decrypted->message, plaintext);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2);
}

TEST(MessageCryptTest, RoundTripsRandomSizesUpTo1MiB) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  std::mt19937 rng(7);
  std::vector<std::size_t> sizes = {0,    1,    11,    12,     13, 15,
                                    16,   17,   31,    32,     33, 300,
                                    1000, 4096, 65537, 1 << 20};
  for (int i = 0; i < 20; ++i) sizes.push_back(rng() % 20000);
  for (std::size_t size : sizes) {
    std::string message(size, '\0');
    for (char& c : message) c = static_cast<char>(rng());
    absl::StatusOr<std::string> encrypt = crypt.Encrypt(message);
    ASSERT_THAT(encrypt, IsOk()) << size;
    absl::StatusOr<DecryptedMessage> decrypted = crypt.Decrypt(*encrypt);
    ASSERT_THAT(decrypted, IsOk()) << size;
    EXPECT_EQ(decrypted->message, message) << size;
  }
}

TEST(MessageCryptTest, RoundTripsCjkText) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  const std::string message =
      "<xml><Content><![CDATA[你好，世界！こんにちは 안녕하세요 "
      "😀]]></Content></xml>";
  absl::StatusOr<DecryptedMessage> decrypted =
      crypt.Decrypt(*crypt.Encrypt(message));
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(decrypted->message, message);
}

TEST(MessageCryptTest, RoundTripsEveryPadLengthOneTo32) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  std::vector<bool> seen(33, false);
  for (std::size_t size = 0; size < 64; ++size) {
    const std::string message(size, 'm');
    absl::StatusOr<std::string> encrypt = crypt.Encrypt(message);
    ASSERT_THAT(encrypt, IsOk());
    const std::size_t unpadded = 16 + 4 + size + kReceiveId.size();
    seen[32 - unpadded % 32] = true;
    EXPECT_EQ(Base64Decode(*encrypt)->size(), unpadded + 32 - unpadded % 32);
    absl::StatusOr<DecryptedMessage> decrypted = crypt.Decrypt(*encrypt);
    ASSERT_THAT(decrypted, IsOk());
    EXPECT_EQ(decrypted->message, message);
  }
  for (std::size_t pad = 1; pad <= 32; ++pad) EXPECT_TRUE(seen[pad]) << pad;
}

TEST(MessageCryptTest, EncryptUsesAFreshRandomPrefixEachTime) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  EXPECT_NE(*crypt.Encrypt("same"), *crypt.Encrypt("same"));
}

TEST(MessageCryptTest, RoundTripsWithEmptyReceiveId) {
  MessageCrypt crypt = MakeCrypt({kKeyA}, "");
  absl::StatusOr<DecryptedMessage> decrypted =
      crypt.Decrypt(*crypt.Encrypt("hi"));
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(decrypted->message, "hi");
}

TEST(MessageCryptTest, AcceptsHandSealedWellFormedPlaintext) {
  // Guards the rejection tests below: the same construction, well formed,
  // must decrypt.
  MessageCrypt crypt = MakeCrypt({kKeyA});
  absl::StatusOr<DecryptedMessage> decrypted =
      crypt.Decrypt(SealRaw(kKeyA, PadTo32(Frame("hello", kReceiveId))));
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(decrypted->message, "hello");
}

TEST(MessageCryptTest, DecryptRejectsEmptyEncrypt) {
  EXPECT_THAT(
      MakeCrypt({kKeyA}).Decrypt(""),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kDecryptAesError, reason::kDecryptFailed));
}

TEST(MessageCryptTest, DecryptRejectsInvalidBase64) {
  for (const char* bad : {"abc", "ab!d", "YWJj\n", "YW=j"}) {
    EXPECT_THAT(
        MakeCrypt({kKeyA}).Decrypt(bad),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kDecodeBase64Error, reason::kBase64Invalid))
        << bad;
  }
}

TEST(MessageCryptTest, DecryptRejectsCiphertextNotMultipleOf16) {
  EXPECT_THAT(
      MakeCrypt({kKeyA}).Decrypt(Base64Encode(std::string(17, 'x'))),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kDecryptAesError, reason::kDecryptFailed));
}

TEST(MessageCryptTest, DecryptRejectsTruncatedCiphertext) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  std::string ciphertext = *Base64Decode(*crypt.Encrypt(std::string(100, 'm')));
  ciphertext.resize(ciphertext.size() - 16);
  EXPECT_FALSE(crypt.Decrypt(Base64Encode(ciphertext)).ok());
}

TEST(MessageCryptTest, DecryptRejectsPadByteZero) {
  std::string plaintext = Frame("hello", kReceiveId);
  plaintext.append(64 - plaintext.size(), '\0');
  EXPECT_THAT(
      MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kDecryptAesError, reason::kDecryptFailed));
}

TEST(MessageCryptTest, DecryptRejectsPadByteLargerThan32) {
  for (int pad = 33; pad <= 255; ++pad) {
    std::string plaintext = Frame("hello", kReceiveId);
    plaintext.append(64 - plaintext.size(), 'x');
    plaintext.append(static_cast<std::size_t>(pad) > 64 ? 64 : 32,
                     static_cast<char>(pad));
    EXPECT_THAT(
        MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kDecryptAesError, reason::kDecryptFailed))
        << pad;
  }
}

TEST(MessageCryptTest, DecryptRejectsInconsistentPadBytes) {
  const std::string good = PadTo32(Frame("hello", kReceiveId));
  const std::size_t pad = static_cast<unsigned char>(good.back());
  ASSERT_GT(pad, 1u);
  for (std::size_t i = 1; i < pad; ++i) {
    std::string bad = good;
    bad[bad.size() - 1 - i] ^= 0x40;
    EXPECT_THAT(
        MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, bad)),
        WxStatusIs(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kDecryptAesError, reason::kDecryptFailed))
        << i;
  }
}

TEST(MessageCryptTest, DecryptRejectsLengthFieldPastTheEnd) {
  for (std::uint32_t length : {24u, 100u, 0x7fffffffu, 0xffffffffu}) {
    const std::string plaintext = PadTo32(Frame("hello", kReceiveId, length));
    EXPECT_THAT(MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
                WxStatusIs(absl::StatusCode::kInvalidArgument,
                           WxErrorCode::kIllegalBuffer, reason::kBufferInvalid))
        << length;
  }
}

TEST(MessageCryptTest, DecryptRejectsPlaintextShorterThanHeader) {
  std::string plaintext(10, 'r');
  plaintext.append(22, static_cast<char>(22));
  EXPECT_THAT(MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kIllegalBuffer, reason::kBufferInvalid));
}

TEST(MessageCryptTest, DecryptRejectsWrongReceiveId) {
  for (absl::string_view other :
       {"wx0000000000000000", "wx2c2769f8efd9abc", "", "wx2c2769f8efd9abc2x"}) {
    const std::string plaintext = PadTo32(Frame("hello", other));
    EXPECT_THAT(MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
                WxStatusIs(absl::StatusCode::kInvalidArgument,
                           WxErrorCode::kValidateReceiveIdError,
                           reason::kReceiveIdMismatch))
        << other;
  }
}

TEST(MessageCryptTest, DecryptRejectsShorterLengthThatShiftsReceiveId) {
  // A length field one short makes the last message byte part of the
  // receive id: strict comparison must catch it.
  const std::string plaintext = PadTo32(Frame("hello", kReceiveId, 4));
  EXPECT_THAT(MakeCrypt({kKeyA}).Decrypt(SealRaw(kKeyA, plaintext)),
              WxStatusIs(absl::StatusCode::kInvalidArgument,
                         WxErrorCode::kValidateReceiveIdError,
                         reason::kReceiveIdMismatch));
}

TEST(MessageCryptTest, DecryptRejectsUnconfiguredKey) {
  MessageCrypt sender = MakeCrypt({kKeyC});
  absl::StatusOr<DecryptedMessage> decrypted =
      MakeCrypt({kKeyA, kKeyB}).Decrypt(*sender.Encrypt("secret"));
  EXPECT_FALSE(decrypted.ok());
  EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MessageCryptTest, DecryptRejectsOversizedEncryptBeforeDecoding) {
  const std::string huge((kMaxMessageSize / 3 + 4096) * 4, 'A');
  EXPECT_THAT(
      MakeCrypt({kKeyA}).Decrypt(huge),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalBuffer, reason::kMessageTooLarge));
}

TEST(MessageCryptTest, EncryptRejectsOversizedMessage) {
  EXPECT_THAT(
      MakeCrypt({kKeyA}).Encrypt(std::string(kMaxMessageSize + 1, 'm')),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalBuffer, reason::kMessageTooLarge));
}

TEST(MessageCryptTest, DecryptTriesPreviousKeysAndReportsWhichOpened) {
  MessageCrypt rotated = MakeCrypt({kKeyA, kKeyB, kKeyC});
  const std::vector<absl::string_view> keys = {kKeyA, kKeyB, kKeyC};
  for (std::size_t index = 0; index < keys.size(); ++index) {
    MessageCrypt sender = MakeCrypt({keys[index]});
    absl::StatusOr<DecryptedMessage> decrypted =
        rotated.Decrypt(*sender.Encrypt("rotation"));
    ASSERT_THAT(decrypted, IsOk()) << index;
    EXPECT_EQ(decrypted->message, "rotation");
    EXPECT_EQ(decrypted->key_index, index);
  }
}

TEST(MessageCryptTest, EncryptWithKeyIndexUsesThatKey) {
  MessageCrypt rotated = MakeCrypt({kKeyA, kKeyB});
  absl::StatusOr<std::string> encrypt =
      rotated.Encrypt("reply", /*key_index=*/1);
  ASSERT_THAT(encrypt, IsOk());
  // Only a receiver holding the previous key as its current key opens it.
  absl::StatusOr<DecryptedMessage> with_b =
      MakeCrypt({kKeyB}).Decrypt(*encrypt);
  ASSERT_THAT(with_b, IsOk());
  EXPECT_EQ(with_b->message, "reply");
  EXPECT_FALSE(MakeCrypt({kKeyA}).Decrypt(*encrypt).ok());
}

TEST(MessageCryptTest, EncryptRejectsUnknownKeyIndex) {
  EXPECT_THAT(
      MakeCrypt({kKeyA, kKeyB}).Encrypt("reply", /*key_index=*/2),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kIllegalAesKey, reason::kKeyIndexInvalid));
}

TEST(MessageCryptTest, EncryptWithRandomPrefixRejectsWrongPrefixSize) {
  EXPECT_FALSE(MakeCrypt({kKeyA}).EncryptWithRandomPrefix("m", "short").ok());
}

TEST(MessageCryptTest, ErrorMessagesNeverContainKeysOrPlaintext) {
  MessageCrypt crypt = MakeCrypt({kKeyA});
  const std::string secret_message = "TOP-SECRET-PLAINTEXT";
  const std::string bad_id = PadTo32(Frame(secret_message, "other-receiver"));
  absl::Status status = crypt.Decrypt(SealRaw(kKeyA, bad_id)).status();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.ToString(), Not(HasSubstr(secret_message)));
  EXPECT_THAT(status.ToString(), Not(HasSubstr(std::string(kKeyA))));
  EXPECT_THAT(status.ToString(), Not(HasSubstr("other-receiver")));
}

}  // namespace
}  // namespace wxcrypto
