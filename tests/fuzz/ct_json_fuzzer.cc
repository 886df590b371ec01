// libFuzzer target: CtJsonScanWatermark (server/crypto/ct_json.h), the
// constant-time JSON scan behind DecryptUserData, against RapidJSON.
//
// Input: one header byte, then the text.
//   byte 0, bits 0-4  t: the last t bytes of the text (at most all of it)
//                     are a tail scanned past `size`, i.e. read as spaces
//   byte 0, bit 5     compare the appid with the one RapidJSON found
//                     (else with the demo app id)
//
// The oracle (any violation aborts):
//   - masks are all ones or zero; a match implies found, found implies
//     valid; the timestamp is zero unless found;
//   - the tail makes no difference: scanning text + tail with size =
//     text.size() gives exactly the result of scanning the text alone;
//   - against RapidJSON's Reader (kParseIterativeFlag |
//     kParseValidateEncodingFlag) on the text, with the differences
//     ct_json.h documents applied (tests/testing/ct_json_reference.h,
//     shared with ct_json_test.cc): the same validity (top-level object), the
//     same watermark found (first member of a name wins, IsInt64 timestamp),
//     the same timestamp, and an appid that matches exactly when RapidJSON's
//     value was written without escapes and fits. A text RapidJSON rejects
//     only for a number's magnitude (kParseErrorNumberTooBig) is checked for
//     the first two properties only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "server/crypto/ct_json.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/testing/ct_json_reference.h"

namespace wxcrypto::fuzz {
namespace {

using ::wxcrypto::testing::Reference;
using ::wxcrypto::testing::ReferenceScan;

bool IsMask(std::uint64_t mask) {
  return mask == 0 || mask == ~std::uint64_t{0};
}

bool Same(const CtJsonWatermark& a, const CtJsonWatermark& b) {
  return a.valid_mask == b.valid_mask && a.found_mask == b.found_mask &&
         a.app_id_match_mask == b.app_id_match_mask &&
         a.timestamp == b.timestamp;
}

void CheckOne(absl::string_view text, absl::string_view tail,
              bool use_reference_app_id) {
  const std::string shown = absl::CHexEscape(text);

  // RapidJSON's appid, if its handler found a watermark at all (even in a
  // text it then rejected).
  const Reference ref = ReferenceScan(text);
  const absl::string_view app_id = use_reference_app_id && ref.handler_found
                                       ? absl::string_view(ref.app_id)
                                       : kUserDataAppId;
  const CtJsonWatermark scan = CtJsonScanWatermark(text, text.size(), app_id);

  // Invariants.
  FUZZ_CHECK(IsMask(scan.valid_mask) && IsMask(scan.found_mask) &&
             IsMask(scan.app_id_match_mask));
  FUZZ_CHECK((scan.found_mask & ~scan.valid_mask) == 0);
  FUZZ_CHECK((scan.app_id_match_mask & ~scan.found_mask) == 0);
  FUZZ_CHECK(scan.found_mask != 0 || scan.timestamp == 0);

  // Bytes past `size` read as spaces.
  const std::string padded = std::string(text) + std::string(tail);
  FUZZ_CHECK_MSG(Same(CtJsonScanWatermark(padded, text.size(), app_id), scan),
                 shown);

  // RapidJSON, with the documented differences.
  if (ref.undecided) return;
  FUZZ_CHECK_MSG((scan.valid_mask != 0) == ref.valid, shown);
  FUZZ_CHECK_MSG((scan.found_mask != 0) == ref.found, shown);
  if (!ref.found) return;
  FUZZ_CHECK_MSG(scan.timestamp == ref.timestamp, shown);
  const bool comparable =
      !ref.app_id_escaped && ref.app_id.size() <= kCtJsonAppIdCapacity;
  FUZZ_CHECK_MSG(
      (scan.app_id_match_mask != 0) == (comparable && ref.app_id == app_id),
      shown);
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size < 1) return 0;
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  const std::size_t tail = std::min<std::size_t>(data[0] & 0x1f, body.size());
  wxcrypto::fuzz::CheckOne(body.substr(0, body.size() - tail),
                           body.substr(body.size() - tail),
                           (data[0] & 0x20) != 0);
  return 0;
}
