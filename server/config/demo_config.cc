#include "server/config/demo_config.h"

#include "absl/strings/string_view.h"

namespace wxcrypto {

absl::string_view DemoConfigJson() {
  // Apps and secrets from WeChat's public documentation: the WXBizMsgCrypt
  // Python sample (Sample.py) and the mini program message-push guide.
  static constexpr absl::string_view kJson = R"json({
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
    }
  ]
}
)json";
  return kJson;
}

}  // namespace wxcrypto
