// A JSON validator and open-data watermark extractor that runs the same
// instructions for every input of a given length, whatever its bytes.
//
// Mini program open data decrypts to a JSON object carrying
//
//   {..., "watermark": {"appid": "wx4f4bc4dec97d474b",
//                       "timestamp": 1477314187}}
//
// and DecryptUserData (user_data.h) must not reveal through its timing
// whether a ciphertext failed on its padding or on its content. An ordinary
// parser stops at the first invalid byte and does more work for some values
// than for others; this one runs the same sequence of operations for every
// byte of its input, with no branch on the text and no early exit:
//
//   - a table-driven pushdown automaton: each byte is mapped to one of 45
//     byte classes, then (state, class) to the next state and a set of
//     flags. State 0 is a sticky error state. Strings (escapes, UTF-8),
//     numbers, literals and whitespace are states of the automaton; objects
//     and arrays are a 64-bit stack of container kinds (bit k: the
//     container k levels up is an array) above a sentinel bit that marks
//     the depth, updated by shifts of the flags on every byte. A bracket
//     that closes the other kind of container, or one level too many, sets
//     a sticky error bit.
//   - in the same pass, a trie over the wanted member names ("watermark",
//     "appid", "timestamp"), stepped on every byte of every member name, and
//     a 23-state extraction automaton fed one event per byte (a wanted name
//     ended at the depth where it counts, a value of some type started, a
//     value ended, the container at depth 2 closed). It finds the first
//     top-level member named "watermark" (the first member of a name wins,
//     as with RapidJSON's GenericValue::FindMember) and, if its value is an
//     object, that object's first "appid" and first "timestamp". The
//     automaton marks the bytes of the appid's content and of the
//     timestamp's integer part (it tracks the sign, and a fraction or
//     exponent fails the timestamp); the pass counts them and records where
//     the last of each was.
//   - a second pass over every byte compares those of the appid with the
//     expected ones and reads the timestamp's digits, each byte counting
//     when its index lies in the range the first pass found.
//
// Accepted texts: RFC 8259 JSON texts whose top-level value is an object,
// with whitespace (space, tab, LF, CR) around any token, UTF-8 validated as
// RFC 3629 requires (no overlong forms, no surrogates, nothing above
// U+10FFFF), string values with the escapes \" \\ \/ \b \f \n \r \t and
// \uXXXX. Compared with RapidJSON 1.1.0's Reader with kParseIterativeFlag |
// kParseValidateEncodingFlag (what DecryptUserData used before), the
// differences are:
//
//   1. Byte order mark: rejected. Document::Parse(data, size) reads through
//      EncodedInputStream<UTF8<>, MemoryStream>, which skips a leading 0xEF,
//      then 0xBB, then 0xBF, each if present (so even a lone 0xBB was
//      skipped); the Reader on a plain stream rejects them, as this scanner
//      does. RFC 8259 section 8.1 forbids sending a BOM.
//   2. NUL: rejected anywhere. RapidJSON's streams read NUL as the end of
//      the text, so a NUL byte after the top-level value ends it and
//      whatever follows is ignored ("{...}\0garbage" is accepted).
//   3. Lone surrogate escapes: \uDC00-\uDFFF not preceded by a high
//      surrogate escape is rejected. RapidJSON accepts it and produces the
//      ill-formed UTF-8 ED B0 80-ED BF BF. (A high surrogate escape must be
//      followed by a low one in both.)
//   4. Nesting: at most kCtJsonMaxDepth (63) open objects and arrays.
//      RapidJSON's iterative parser has no limit.
//   5. Number magnitude: any number the RFC 8259 grammar allows is accepted.
//      RapidJSON rejects some numbers a double cannot hold
//      (kParseErrorNumberTooBig: an integer part of about 309 digits or
//      more, an exponent above 308 plus the fraction digits) and accepts
//      others that overflow to infinity (1000e308).
//   6. Member names may not contain escapes: such a text is rejected.
//      RapidJSON unescapes them. Open data uses fixed ASCII names; rejecting
//      escaped ones means no name can be disguised ("water\u006dark" would
//      otherwise be the watermark) and keeps name matching to raw bytes.
//   7. The watermark's appid must be written without escapes and be at most
//      kCtJsonAppIdCapacity (64) bytes; otherwise the watermark counts as
//      not found (the text is still valid). RapidJSON unescapes it.
//
// Timing model: both passes run once per byte of the input, every
// iteration doing the same loads and arithmetic, with no branch and no
// store. The automata's four loads per byte use indices derived from the
// text, into about 12 KB of tables (one object, read in full before the
// scan so that it is in the L1 cache whatever the text is); the second
// pass's loads have fixed addresses (the expected appid is rotated, in
// constant time, to where the text's appid lies). The text is copied a
// chunk at a time into a stack buffer with the bytes past `size` replaced
// by spaces, then a fence waits for every store to complete before the
// automata run over the chunk: with stores in flight (the compiler's
// register spills, the copy), a table load whose address matched a
// store's in its low 12 bits was delayed, which made the time depend on
// the text (bench/NOTES.md, "Timing"). A smaller difference between JSON
// and text that is not JSON is left, from the loads' text-dependent
// addresses or the values computed; bench/timing/user_data_timing.cc
// measures it.
#ifndef WXCRYPTO_SERVER_CRYPTO_CT_JSON_H_
#define WXCRYPTO_SERVER_CRYPTO_CT_JSON_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace wxcrypto {

// The deepest nesting of objects and arrays the scanner accepts: one bit
// per level in a 64-bit register, above a sentinel bit.
inline constexpr std::size_t kCtJsonMaxDepth = 63;

// The longest watermark.appid the scanner captures, in bytes.
inline constexpr std::size_t kCtJsonAppIdCapacity = 64;

// What CtJsonScanWatermark found. Masks are all ones or zero.
struct CtJsonWatermark {
  // All ones if the text is valid JSON whose top-level value is an object.
  std::uint64_t valid_mask = 0;
  // All ones if valid_mask is and the object's first "watermark" member is
  // an object whose first "appid" member is a string and whose first
  // "timestamp" member is an integer (no fraction, no exponent) within
  // int64 range.
  std::uint64_t found_mask = 0;
  // All ones if found_mask is and the appid, as written (its raw bytes
  // between the quotes), equals the expected app id. An appid written with
  // an escape or longer than kCtJsonAppIdCapacity bytes never matches.
  std::uint64_t app_id_match_mask = 0;
  // The timestamp when found_mask is all ones, zero otherwise.
  std::int64_t timestamp = 0;
};

// Scans all of `text` as JSON, finds the watermark and compares its appid
// with `app_id`, in time that depends only on text.size() (and on whether
// `app_id` can match at all: it must be at most kCtJsonAppIdCapacity bytes,
// with no '"', '\\' or control character, else nothing matches it). Bytes
// at index `size` and beyond are read as spaces, without branching on
// `size`, so that a caller can scan a decrypted buffer whose unpadded
// length is secret; `size` is clamped to text.size(), which must be below
// 2^32.
CtJsonWatermark CtJsonScanWatermark(absl::string_view text, std::size_t size,
                                    absl::string_view app_id);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_CT_JSON_H_
