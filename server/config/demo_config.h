// A built-in config for demos and tests: the two apps whose tokens and
// EncodingAESKeys WeChat publishes in its own documentation, so that the
// published vectors (tests/testdata/wechat_vectors.json) verify against a
// server started with it. The secrets are public: never use this config for
// a real app.
#ifndef WXCRYPTO_SERVER_CONFIG_DEMO_CONFIG_H_
#define WXCRYPTO_SERVER_CONFIG_DEMO_CONFIG_H_

#include "absl/strings/string_view.h"

namespace wxcrypto {

// Returns the JSON text of the demo config (a wxcrypto.v1.Config):
//   wx2c2769f8efd9abc2  token "spamtest", the official WXBizMsgCrypt
//                       sample's key, MODE_COMPATIBLE
//   wxba5fad812f8e6fb9  token "AAAAA", key "AAA...A" from the mini program
//                       message-push documentation, MODE_COMPATIBLE
absl::string_view DemoConfigJson();

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CONFIG_DEMO_CONFIG_H_
