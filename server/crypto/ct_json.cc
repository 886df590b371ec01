#include "server/crypto/ct_json.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"

namespace wxcrypto {
namespace {

// ---------------------------------------------------------------------------
// Byte classes: bytes that every state treats alike share a class.

enum Class : std::uint8_t {
  kSpace,      // 0x20
  kWs,         // tab, LF, CR: whitespace, not allowed raw in strings
  kLBrace,     // {
  kRBrace,     // }
  kLBracket,   // [
  kRBracket,   // ]
  kColon,      // :
  kComma,      // ,
  kQuote,      // "
  kBackslash,  // '\'
  kSlash,      // /
  kMinus,      // -
  kPlus,       // +
  kDot,        // .
  kZero,       // 0
  kDigit1to7,  // 1-7
  kDigit8or9,  // 8-9
  kLowerA,     // a: hex, false
  kLowerB,     // b: hex, \b
  kUpperAB,    // A B: hex
  kLetterC,    // c C: hex
  kLetterD,    // d D: hex, first digit of a surrogate
  kUpperE,     // E: hex, exponent
  kLowerE,     // e: hex, exponent, true, false
  kUpperF,     // F: hex
  kLowerF,     // f: hex, false, \f
  kLowerL,     // l: false, null
  kLowerN,     // n: null, \n
  kLowerR,     // r: true, \r
  kLowerS,     // s: false
  kLowerT,     // t: true, \t
  kLowerU,     // u: true, null, \u
  kOther,      // any other byte 0x21-0x7F: string content only
  kControl,    // 0x00-0x1F except tab, LF, CR: never allowed
  kCont80,     // 0x80-0x8F: UTF-8 continuation
  kCont90,     // 0x90-0x9F: UTF-8 continuation
  kContA0,     // 0xA0-0xBF: UTF-8 continuation
  kLead2,      // 0xC2-0xDF: first of two bytes
  kLeadE0,     // 0xE0: first of three, second A0-BF (no overlong)
  kLead3,      // 0xE1-0xEC, 0xEE-0xEF: first of three
  kLeadED,     // 0xED: first of three, second 80-9F (no surrogate)
  kLeadF0,     // 0xF0: first of four, second 90-BF (no overlong)
  kLead4,      // 0xF1-0xF3: first of four
  kLeadF4,     // 0xF4: first of four, second 80-8F (at most U+10FFFF)
  kInvalid,    // 0xC0, 0xC1, 0xF5-0xFF: never in UTF-8 (RFC 3629)
  kClassCount
};

// Row length of kTransitions: kClassCount rounded up to a multiple of 16
// (so that a row offset, state * 48, leaves the low 4 bits of an entry
// free).
constexpr int kClassStride = 48;
static_assert(kClassCount <= kClassStride, "classes must fit a row");

constexpr std::array<std::uint8_t, 256> BuildClasses() {
  std::array<std::uint8_t, 256> c = {};
  for (int b = 0x00; b < 0x20; ++b) c[b] = kControl;
  c['\t'] = c['\n'] = c['\r'] = kWs;
  c[' '] = kSpace;
  for (int b = 0x21; b < 0x80; ++b) c[b] = kOther;
  c['{'] = kLBrace;
  c['}'] = kRBrace;
  c['['] = kLBracket;
  c[']'] = kRBracket;
  c[':'] = kColon;
  c[','] = kComma;
  c['"'] = kQuote;
  c['\\'] = kBackslash;
  c['/'] = kSlash;
  c['-'] = kMinus;
  c['+'] = kPlus;
  c['.'] = kDot;
  c['0'] = kZero;
  for (int b = '1'; b <= '7'; ++b) c[b] = kDigit1to7;
  c['8'] = c['9'] = kDigit8or9;
  c['a'] = kLowerA;
  c['b'] = kLowerB;
  c['A'] = c['B'] = kUpperAB;
  c['c'] = c['C'] = kLetterC;
  c['d'] = c['D'] = kLetterD;
  c['E'] = kUpperE;
  c['e'] = kLowerE;
  c['F'] = kUpperF;
  c['f'] = kLowerF;
  c['l'] = kLowerL;
  c['n'] = kLowerN;
  c['r'] = kLowerR;
  c['s'] = kLowerS;
  c['t'] = kLowerT;
  c['u'] = kLowerU;
  for (int b = 0x80; b < 0x90; ++b) c[b] = kCont80;
  for (int b = 0x90; b < 0xA0; ++b) c[b] = kCont90;
  for (int b = 0xA0; b < 0xC0; ++b) c[b] = kContA0;
  c[0xC0] = c[0xC1] = kInvalid;
  for (int b = 0xC2; b < 0xE0; ++b) c[b] = kLead2;
  c[0xE0] = kLeadE0;
  for (int b = 0xE1; b < 0xF0; ++b) c[b] = kLead3;
  c[0xED] = kLeadED;
  c[0xF0] = kLeadF0;
  c[0xF1] = c[0xF2] = c[0xF3] = kLead4;
  c[0xF4] = kLeadF4;
  for (int b = 0xF5; b < 0x100; ++b) c[b] = kInvalid;
  return c;
}

constexpr std::array<std::uint8_t, 256> kClassOf = BuildClasses();

// Trie columns: the letters of the wanted member names, 1-11; any other
// byte is 0 (a name that contains it is none of them).
constexpr std::array<std::uint8_t, 256> BuildTrieColumns() {
  std::array<std::uint8_t, 256> c = {};
  constexpr char kLetters[] = "watermkpids";
  for (int j = 0; kLetters[j] != '\0'; ++j) {
    c[static_cast<unsigned char>(kLetters[j])] =
        static_cast<std::uint8_t>(j + 1);
  }
  return c;
}

constexpr std::array<std::uint8_t, 256> kTrieColumnOf = BuildTrieColumns();

// What the scan looks up for a byte: its class in bits 0-5, its trie
// column in bits 8-11.
constexpr std::array<std::uint16_t, 256> BuildByteInfo() {
  std::array<std::uint16_t, 256> info = {};
  for (int b = 0; b < 256; ++b) {
    info[b] = static_cast<std::uint16_t>(kClassOf[b] | (kTrieColumnOf[b] << 8));
  }
  return info;
}

// ---------------------------------------------------------------------------
// States. kError must be 0: the table starts zeroed, so every transition not
// listed leads to it, and all of its own transitions stay in it.

enum State : std::uint8_t {
  kError,
  kStart,      // before the top-level object
  kObjOpen,    // after '{': a member name or '}'
  kName,       // after ',' in an object: a member name
  kValue,      // after ':', or after ',' in an array: a value
  kColonNext,  // after a member name: ':'
  kArrOpen,    // after '[': a value or ']'
  kAfter,      // after a value inside a container: ',' '}' ']'
  kDone,       // after the top-level object: only whitespace
  kTrueR,      // "t" read, expects r
  kTrueU,
  kTrueE,
  kFalseA,  // "f" read, expects a
  kFalseL,
  kFalseS,
  kFalseE,
  kNullU,  // "n" read, expects u
  kNullL,
  kNullL2,
  // Numbers, RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  kNumMinus,     // '-'
  kNumZero,      // integer part "0"
  kNumInt,       // integer part [1-9][0-9]*
  kNumFracHead,  // '.', expects a digit
  kNumFrac,      // fraction digits
  kNumExpHead,   // 'e', expects a sign or a digit
  kNumExpSign,   // sign, expects a digit
  kNumExp,       // exponent digits
  // Strings that are values, RFC 8259 section 7.
  kStr,       // inside the string
  kEscape,    // after '\'
  kHex1,      // \u, first hex digit
  kHex2,      // second, the first was not D
  kHex2D,     // second after D: 0-7 plain, 8-B high surrogate, C-F lone low
  kHex3,      // third
  kHex4,      // fourth
  kHigh3,     // third digit of a high surrogate
  kHigh4,     // fourth digit of a high surrogate
  kLowSlash,  // after a high surrogate: expects '\'
  kLowU,      // expects 'u'
  kLow1,      // expects D
  kLow2,      // expects C-F
  kLow3,
  kLow4,
  kUtf8Need1,  // one continuation byte left
  kUtf8Need2,  // two left
  kUtf8Need3,  // three left
  kUtf8E0,     // after E0: A0-BF, then one more
  kUtf8ED,     // after ED: 80-9F, then one more
  kUtf8F0,     // after F0: 90-BF, then two more
  kUtf8F4,     // after F4: 80-8F, then two more
  // Strings that are member names: no escapes (see ct_json.h), UTF-8 as in
  // values.
  kNameStr,
  kNameNeed1,
  kNameNeed2,
  kNameNeed3,
  kNameE0,
  kNameED,
  kNameF0,
  kNameF4,
  kStateCount
};
static_assert(kStateCount <= 64, "a state must fit 6 bits");
// ',' adds "the container is an array" to kName; a '}' or ']' adds "the
// container was the top-level one" to kAfter.
static_assert(kValue == kName + 1 && kDone == kAfter + 1, "state order");

constexpr bool IsValueString(int s) { return s >= kStr && s <= kUtf8F4; }
constexpr bool IsNumber(int s) { return s >= kNumMinus && s <= kNumExp; }
constexpr bool IsName(int s) { return s >= kNameStr && s <= kNameF4; }

// ---------------------------------------------------------------------------
// Events for the extraction automaton (BuildExtract), one per byte. A member
// name's closing quote adds the wanted name it completed (1, 2 or 4: see the
// trie) if it is at the depth where that member counts; a '}' or ']' adds 1
// if it closes a container at depth 2 (the watermark object, if the scan is
// inside it).
enum Event : std::uint8_t {
  kEvNone = 0,
  kEvWatermarkName = 1,
  kEvAppIdName = 2,
  kEvStartObject = 3,
  kEvTimestampName = 4,
  kEvStartString = 5,
  kEvStartNumber = 6,  // a digit
  kEvStartOther = 7,   // an array or a literal
  kEvPop = 8,
  kEvPopDepth2 = 9,
  kEvEndPop = 10,  // a number ends with '}' or ']'
  kEvEndPopDepth2 = 11,
  kEvEnd = 12,            // a string value or a number ends otherwise
  kEvStartNegative = 13,  // '-'
  kEvNotInteger = 14,     // a number's '.', 'e' or 'E'
  kEventCount = 16
};

// A transition, 32 bits. Bits 4-15 hold the next state's row offset
// (state * kClassStride) so that masking the entry gives the next row of
// the table directly.
//   0     ',': the next row is one further (kValue) if the container is
//         an array
//   1     push a container; 2: it is an array
//   3     pop a container; the next row is one further (kDone) if it was
//         the top-level one
//   4-15  next state * kClassStride
//   16    error if the container is an object; 17: if it is an array
//   18    the trie steps by this byte's letter; else 19-22 give the trie
//         column to use instead (kTrieKeep or kTrieReset)
//   23-25 all set: a member name ends
//   26-29 extraction event (before the additions above)
//   30    the byte belongs to a string value's content or to a number's
//         integer part
using Entry = std::uint32_t;
using Table = std::array<Entry, kStateCount * kClassStride>;

constexpr Entry Bit(int bit) { return Entry{1} << bit; }
constexpr Entry EventBits(int event) { return static_cast<Entry>(event) << 26; }
constexpr Entry kNextItem = Bit(0);
constexpr Entry kPushObject = Bit(1);
constexpr Entry kPushArray = Bit(1) | Bit(2);
constexpr Entry kPopObject = Bit(3) | Bit(17);
constexpr Entry kPopArray = Bit(3) | Bit(16);
constexpr Entry kRowMask = 0xfff0;
// Trie columns besides the letters (kTrieColumnOf): stay on this node, go
// back to the root.
constexpr int kTrieKeep = 12;
constexpr int kTrieReset = 13;
static_assert(kStateCount * kClassStride <= kRowMask, "rows must fit");

// Adds a transition; the trie column, name end, event (except value
// starts) and data bits follow from the two states.
constexpr void Set(Table& t, int state, int cls, int next, Entry bits = 0) {
  Entry trie = static_cast<Entry>(kTrieKeep) << 19;
  if (IsName(state) && IsName(next)) trie = Bit(18);
  if (!IsName(state) && next == kNameStr) {
    trie = static_cast<Entry>(kTrieReset) << 19;
  }
  Entry e = static_cast<Entry>(next * kClassStride) | bits | trie;
  if (IsName(state) && next == kColonNext) e |= Entry{7} << 23;
  if ((bits & Bit(3)) != 0) {
    e |= EventBits(IsNumber(state) ? kEvEndPop : kEvPop);
  } else if ((IsValueString(state) && !IsValueString(next)) ||
             (IsNumber(state) && !IsNumber(next))) {
    e |= EventBits(kEvEnd);
  } else if (IsNumber(state) && (next == kNumFracHead || next == kNumExpHead)) {
    e |= EventBits(kEvNotInteger);
  }
  if ((IsValueString(state) && IsValueString(next)) || next == kNumZero ||
      next == kNumInt) {
    e |= Bit(30);
  }
  t[state * kClassStride + cls] = e;
}

constexpr void SetWhitespace(Table& t, int state) {
  Set(t, state, kSpace, state);
  Set(t, state, kWs, state);
}

constexpr void SetDigits(Table& t, int state, int next) {
  Set(t, state, kZero, next);
  Set(t, state, kDigit1to7, next);
  Set(t, state, kDigit8or9, next);
}

constexpr void SetHexDigits(Table& t, int state, int next) {
  for (int cls : {kZero, kDigit1to7, kDigit8or9, kLowerA, kLowerB, kUpperAB,
                  kLetterC, kLetterD, kUpperE, kLowerE, kUpperF, kLowerF}) {
    Set(t, state, cls, next);
  }
}

// Where a value may start.
constexpr void SetValueStarts(Table& t, int state) {
  Set(t, state, kLBrace, kObjOpen, kPushObject | EventBits(kEvStartObject));
  Set(t, state, kLBracket, kArrOpen, kPushArray | EventBits(kEvStartOther));
  Set(t, state, kQuote, kStr, EventBits(kEvStartString));
  Set(t, state, kMinus, kNumMinus, EventBits(kEvStartNegative));
  Set(t, state, kZero, kNumZero, EventBits(kEvStartNumber));
  Set(t, state, kDigit1to7, kNumInt, EventBits(kEvStartNumber));
  Set(t, state, kDigit8or9, kNumInt, EventBits(kEvStartNumber));
  Set(t, state, kLowerT, kTrueR, EventBits(kEvStartOther));
  Set(t, state, kLowerF, kFalseA, EventBits(kEvStartOther));
  Set(t, state, kLowerN, kNullU, EventBits(kEvStartOther));
}

// What may follow a complete value (also what ends a number).
constexpr void SetValueEnds(Table& t, int state) {
  Set(t, state, kSpace, kAfter);
  Set(t, state, kWs, kAfter);
  Set(t, state, kComma, kName, kNextItem);
  Set(t, state, kRBrace, kAfter, kPopObject);
  Set(t, state, kRBracket, kAfter, kPopArray);
}

// A string's raw content: any byte 0x20-0x7F but '"' and '\', and UTF-8
// (RFC 3629 section 4) through the given states.
constexpr void SetStringContent(Table& t, int body, int need1, int need2,
                                int need3, int e0, int ed, int f0, int f4) {
  for (int cls = 0; cls < kControl; ++cls) {
    if (cls != kWs && cls != kQuote && cls != kBackslash) {
      Set(t, body, cls, body);
    }
  }
  Set(t, body, kLead2, need1);
  Set(t, body, kLeadE0, e0);
  Set(t, body, kLead3, need2);
  Set(t, body, kLeadED, ed);
  Set(t, body, kLeadF0, f0);
  Set(t, body, kLead4, need3);
  Set(t, body, kLeadF4, f4);
  for (int cls : {kCont80, kCont90, kContA0}) {
    Set(t, need1, cls, body);
    Set(t, need2, cls, need1);
    Set(t, need3, cls, need2);
  }
  Set(t, e0, kContA0, need1);
  Set(t, ed, kCont80, need1);
  Set(t, ed, kCont90, need1);
  Set(t, f0, kCont90, need2);
  Set(t, f0, kContA0, need2);
  Set(t, f4, kCont80, need2);
}

constexpr Table BuildTransitions() {
  Table t = {};
  // Structure.
  SetWhitespace(t, kStart);
  Set(t, kStart, kLBrace, kObjOpen, kPushObject);
  SetWhitespace(t, kObjOpen);
  Set(t, kObjOpen, kQuote, kNameStr);
  Set(t, kObjOpen, kRBrace, kAfter, kPopObject);
  SetWhitespace(t, kName);
  Set(t, kName, kQuote, kNameStr);
  SetWhitespace(t, kColonNext);
  Set(t, kColonNext, kColon, kValue);
  SetWhitespace(t, kValue);
  SetValueStarts(t, kValue);
  SetWhitespace(t, kArrOpen);
  SetValueStarts(t, kArrOpen);
  Set(t, kArrOpen, kRBracket, kAfter, kPopArray);
  SetValueEnds(t, kAfter);
  SetWhitespace(t, kDone);
  // Literals.
  Set(t, kTrueR, kLowerR, kTrueU);
  Set(t, kTrueU, kLowerU, kTrueE);
  Set(t, kTrueE, kLowerE, kAfter);
  Set(t, kFalseA, kLowerA, kFalseL);
  Set(t, kFalseL, kLowerL, kFalseS);
  Set(t, kFalseS, kLowerS, kFalseE);
  Set(t, kFalseE, kLowerE, kAfter);
  Set(t, kNullU, kLowerU, kNullL);
  Set(t, kNullL, kLowerL, kNullL2);
  Set(t, kNullL2, kLowerL, kAfter);
  // Numbers.
  Set(t, kNumMinus, kZero, kNumZero);
  Set(t, kNumMinus, kDigit1to7, kNumInt);
  Set(t, kNumMinus, kDigit8or9, kNumInt);
  for (int state : {kNumZero, kNumInt}) {
    Set(t, state, kDot, kNumFracHead);
    Set(t, state, kLowerE, kNumExpHead);
    Set(t, state, kUpperE, kNumExpHead);
    SetValueEnds(t, state);
  }
  SetDigits(t, kNumInt, kNumInt);
  SetDigits(t, kNumFracHead, kNumFrac);
  SetDigits(t, kNumFrac, kNumFrac);
  Set(t, kNumFrac, kLowerE, kNumExpHead);
  Set(t, kNumFrac, kUpperE, kNumExpHead);
  SetValueEnds(t, kNumFrac);
  Set(t, kNumExpHead, kPlus, kNumExpSign);
  Set(t, kNumExpHead, kMinus, kNumExpSign);
  SetDigits(t, kNumExpHead, kNumExp);
  SetDigits(t, kNumExpSign, kNumExp);
  SetDigits(t, kNumExp, kNumExp);
  SetValueEnds(t, kNumExp);
  // String values.
  SetStringContent(t, kStr, kUtf8Need1, kUtf8Need2, kUtf8Need3, kUtf8E0,
                   kUtf8ED, kUtf8F0, kUtf8F4);
  Set(t, kStr, kQuote, kAfter);
  Set(t, kStr, kBackslash, kEscape);
  for (int cls : {kQuote, kBackslash, kSlash, kLowerB, kLowerF, kLowerN,
                  kLowerR, kLowerT}) {
    Set(t, kEscape, cls, kStr);
  }
  Set(t, kEscape, kLowerU, kHex1);
  SetHexDigits(t, kHex1, kHex2);
  Set(t, kHex1, kLetterD, kHex2D);
  SetHexDigits(t, kHex2, kHex3);
  Set(t, kHex2D, kZero, kHex3);
  Set(t, kHex2D, kDigit1to7, kHex3);
  for (int cls : {kDigit8or9, kLowerA, kLowerB, kUpperAB}) {
    Set(t, kHex2D, cls, kHigh3);
  }
  SetHexDigits(t, kHex3, kHex4);
  SetHexDigits(t, kHex4, kStr);
  SetHexDigits(t, kHigh3, kHigh4);
  SetHexDigits(t, kHigh4, kLowSlash);
  Set(t, kLowSlash, kBackslash, kLowU);
  Set(t, kLowU, kLowerU, kLow1);
  Set(t, kLow1, kLetterD, kLow2);
  for (int cls : {kLetterC, kLetterD, kUpperE, kLowerE, kUpperF, kLowerF}) {
    Set(t, kLow2, cls, kLow3);
  }
  SetHexDigits(t, kLow3, kLow4);
  SetHexDigits(t, kLow4, kStr);
  // Member names.
  SetStringContent(t, kNameStr, kNameNeed1, kNameNeed2, kNameNeed3, kNameE0,
                   kNameED, kNameF0, kNameF4);
  Set(t, kNameStr, kQuote, kColonNext);
  return t;
}

// ---------------------------------------------------------------------------
// The trie of the wanted member names. A node is (row << 3) | bit: rows 1-3
// end "watermark", "appid" and "timestamp" and carry bit 1, 2 or 4 (so
// node & 7 names the wanted member just read, as the events expect), row 0
// is dead (no wanted name has this prefix), row 4 the root. A row has 16
// columns: 0 for a byte that is no letter of a wanted name, 1-11 by letter
// (kTrieColumnOf), kTrieKeep back to the node itself, kTrieReset to the
// root.

constexpr int kTrieRows = 25;  // 5 + the 8 + 4 + 8 inner nodes
constexpr int kTrieRowSize = 16;
using Trie = std::array<std::uint8_t, kTrieRows * kTrieRowSize>;

constexpr std::uint8_t TrieNode(int row) {
  return static_cast<std::uint8_t>((row << 3) |
                                   (row >= 1 && row <= 3 ? 1 << (row - 1) : 0));
}
constexpr std::uint8_t kTrieRoot = TrieNode(4);

constexpr Trie BuildTrie() {
  Trie t = {};
  for (int row = 0; row < kTrieRows; ++row) {
    t[row * kTrieRowSize + kTrieKeep] = TrieNode(row);
    t[row * kTrieRowSize + kTrieReset] = kTrieRoot;
  }
  constexpr const char* kWords[] = {"watermark", "appid", "timestamp"};
  int next_free = 5;
  for (int w = 0; w < 3; ++w) {
    int row = 4;
    for (int j = 0; kWords[w][j] != '\0'; ++j) {
      const int col = kTrieColumnOf[static_cast<unsigned char>(kWords[w][j])];
      std::uint8_t& slot = t[row * kTrieRowSize + col];
      if (slot == 0) {
        slot = TrieNode(kWords[w][j + 1] == '\0' ? w + 1 : next_free++);
      }
      row = slot >> 3;
    }
  }
  return t;
}

// ---------------------------------------------------------------------------
// The extraction automaton: where the scan is with respect to the
// watermark. Inside the watermark object, a state records the appid's and
// the timestamp's progress: U not seen yet, P name seen (its value comes
// next), O inside its value, G its value had the right type (a string; an
// integer, + or -). Any other outcome (a wanted value of the wrong type, a
// fraction or exponent in the timestamp, the object closing without both)
// is kXFail which, like kXFound*, never changes again: the first member of a
// name wins. An entry of the table is the next state (bits 0-4) plus bit 5,
// "inside the appid string", and bit 6, "inside the timestamp number".

enum Progress { kU, kP, kO, kG };
enum Extract : std::uint8_t {
  kXFail,
  kXSearch,     // before the top-level "watermark" name
  kXWatermark,  // after it: its value comes next
  kXFoundPositive,
  kXFoundNegative,
  kXInside,  // first of the states inside the watermark object
};
constexpr int kExtractRows = 32;
constexpr std::uint8_t kInsideAppId = 1 << 5;
constexpr std::uint8_t kInsideTimestamp = 1 << 6;
using ExtractTable = std::array<std::uint8_t, kExtractRows * kEventCount>;

// Timestamp progress with its sign: U, P, O+, O-, G+, G-.
enum TimeProgress { kTU, kTP, kTOPos, kTONeg, kTGPos, kTGNeg, kTimeCount };

constexpr bool Busy(int app, int time) {
  return (app == kP || app == kO) &&
         (time == kTP || time == kTOPos || time == kTONeg);
}

// The state inside the watermark object for (app, time), with its flags.
constexpr std::uint8_t Inside(int app, int time) {
  int id = kXInside;
  for (int a = 0; a < 4; ++a) {
    for (int t = 0; t < kTimeCount; ++t) {
      if (Busy(a, t)) continue;
      if (a == app && t == time) {
        return static_cast<std::uint8_t>(
            id | (app == kO ? kInsideAppId : 0) |
            (time == kTOPos || time == kTONeg ? kInsideTimestamp : 0));
      }
      ++id;
    }
  }
  return kXFail;
}
static_assert((Inside(kG, kTGNeg) & 31) < kExtractRows, "states must fit");

constexpr void SetX(ExtractTable& t, int from, int event, std::uint8_t to) {
  t[(from & 31) * kEventCount + event] = to;
}

// What closing the watermark object leads to.
constexpr std::uint8_t Closed(int app, int time) {
  if (app != kG) return kXFail;
  if (time == kTGPos) return kXFoundPositive;
  if (time == kTGNeg) return kXFoundNegative;
  return kXFail;
}

constexpr ExtractTable BuildExtract() {
  ExtractTable t = {};
  for (int x = 0; x < kExtractRows; ++x) {
    for (int event = 0; event < kEventCount; ++event) {
      t[x * kEventCount + event] = static_cast<std::uint8_t>(x);
    }
  }
  constexpr int kStarts[] = {kEvStartObject, kEvStartString, kEvStartNumber,
                             kEvStartNegative, kEvStartOther};
  SetX(t, kXSearch, kEvWatermarkName, kXWatermark);
  for (int event : kStarts) SetX(t, kXWatermark, event, kXFail);
  SetX(t, kXWatermark, kEvStartObject, Inside(kU, kTU));
  for (int app = 0; app < 4; ++app) {
    for (int time = 0; time < kTimeCount; ++time) {
      if (Busy(app, time)) continue;
      // Restore the flags of the state itself: rows are indexed without
      // them, entries carry them.
      const std::uint8_t x = Inside(app, time);
      for (int event = 0; event < kEventCount; ++event) SetX(t, x, event, x);
      if (app == kU && time != kTP && time != kTOPos && time != kTONeg) {
        SetX(t, x, kEvAppIdName, Inside(kP, time));
      }
      if (time == kTU && app != kP && app != kO) {
        SetX(t, x, kEvTimestampName, Inside(app, kTP));
      }
      if (app == kP) {
        for (int event : kStarts) SetX(t, x, event, kXFail);
        SetX(t, x, kEvStartString, Inside(kO, time));
      }
      if (app == kO) SetX(t, x, kEvEnd, Inside(kG, time));
      if (time == kTP) {
        for (int event : kStarts) SetX(t, x, event, kXFail);
        SetX(t, x, kEvStartNumber, Inside(app, kTOPos));
        SetX(t, x, kEvStartNegative, Inside(app, kTONeg));
      }
      if (time == kTOPos || time == kTONeg) {
        const int done = time == kTOPos ? kTGPos : kTGNeg;
        SetX(t, x, kEvNotInteger, kXFail);
        SetX(t, x, kEvEnd, Inside(app, done));
        SetX(t, x, kEvEndPop, Inside(app, done));
        SetX(t, x, kEvEndPopDepth2, Closed(app, done));
      } else {
        SetX(t, x, kEvPopDepth2, Closed(app, time));
        SetX(t, x, kEvEndPopDepth2, Closed(app, time));
      }
    }
  }
  return t;
}

// All tables in one object, so that the scan reaches them from one base
// register and TouchTables reads one block (about 12 KB).
struct Tables {
  Table transitions;
  Trie trie;
  ExtractTable extract;
  std::array<std::uint16_t, 256> byte_info;
};

alignas(64) constexpr Tables kTables = {BuildTransitions(), BuildTrie(),
                                        BuildExtract(), BuildByteInfo()};

// Reads every cache line of the tables, so that the scan's lookups hit the
// L1 cache whatever the text is. Returns zero, computed from the loads so
// that they are not removed.
std::uint64_t TouchTables() {
  std::uint64_t sum = 0;
  const auto* bytes = reinterpret_cast<const volatile std::uint8_t*>(&kTables);
  for (std::size_t i = 0; i < sizeof(kTables); i += 64) sum |= bytes[i];
  return sum & 0;
}

// Constant-time helpers for the checks after the scan. A mask is all ones
// or zero.
using Mask = std::uint64_t;

inline Mask MaskFromBit(std::uint64_t bit) { return 0 - bit; }

inline Mask IsZero(std::uint64_t x) {
  return MaskFromBit((~x & (x - 1)) >> 63);
}

inline Mask Equal(std::uint64_t a, std::uint64_t b) { return IsZero(a ^ b); }

// a < b, unsigned (BoringSSL's constant_time_lt_w).
inline Mask LessThan(std::uint64_t a, std::uint64_t b) {
  return MaskFromBit((a ^ ((a ^ b) | ((a - b) ^ a))) >> 63);
}

// The bits of `names` that record a structural error, and those a step
// keeps (the counts and the error).
constexpr std::uint64_t kErrorBits = std::uint64_t{3} << 60;
constexpr std::uint64_t kKeptBits = kErrorBits | 0xffff0000;

// How many bytes the scan copies and runs the automata on at a time.
constexpr std::uint64_t kChunkSize = 1024;

// rotated[(first + j) % 64] = want[j] for every j, in time that does not
// depend on `first`: six rounds over eight words, each rotating by a power
// of two bytes or not, with masks.
void RotateAppId(const std::uint8_t* want, std::uint64_t first,
                 std::uint8_t* rotated) {
  static_assert(kCtJsonAppIdCapacity == 64, "eight words");
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "byte order");
  std::uint64_t words[8];
  std::memcpy(words, want, sizeof(words));
  for (int bit = 0; bit < 6; ++bit) {
    const Mask mask = MaskFromBit((first >> bit) & 1);
    std::uint64_t moved[8];
    if (bit < 3) {
      // Byte j of the buffer is byte j % 8 of word j / 8 (little-endian):
      // moving bytes up shifts each word left and brings in the previous
      // word's top bytes.
      const int shift = 8 << bit;
      for (int w = 0; w < 8; ++w) {
        moved[w] = (words[w] << shift) | (words[(w + 7) & 7] >> (64 - shift));
      }
    } else {
      const int by = 1 << (bit - 3);
      for (int w = 0; w < 8; ++w) moved[w] = words[(w + 8 - by) & 7];
    }
    for (int w = 0; w < 8; ++w) {
      words[w] = (words[w] & ~mask) | (moved[w] & mask);
    }
  }
  std::memcpy(rotated, words, sizeof(words));
}

// Waits until every earlier store has left the CPU's store buffer.
inline void Fence() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_mfence();
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Whether `app_id` can be compared: short enough, and raw JSON string
// content that needs no escape (so an escaped appid never matches it).
bool ComparableAppId(absl::string_view app_id) {
  if (app_id.size() > kCtJsonAppIdCapacity) return false;
  for (char c : app_id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == '"' || byte == '\\') return false;
  }
  return true;
}

// The state of the automata between chunks.
struct Automata {
  std::uint64_t row;    // the state's row
  std::uint64_t stack;  // the open containers
  std::uint64_t names;  // trie node, extraction state, counts, error
};

// Runs the automata over the `length` bytes that end at `end`, one step per
// byte, and returns where the appid's and the timestamp's last bytes were
// (see `here` below).
//
// The loop body has no branch and no store: every step is arithmetic on the
// byte, the state and one entry of each table, and the state fits in the
// CPU's registers, so that the compiler spills nothing to the stack inside
// the loop. The fence before it waits for every earlier store (the chunk's,
// and the caller's spills) to leave the store buffer. Both matter: a load
// whose address matched that of a store in flight in its low 12 bits took
// longer, and the table loads here have addresses that depend on the text
// (bench/NOTES.md, "Timing"). Not inlined, so that the function's own
// register saves come before the fence.
//
// Aligned to a cache line, so that the loop's place in the code does not
// move with whatever the linker puts before the function: on the reference
// machine the same code measured |t| ~2 or ~60 for JSON vs garbage
// depending on the loop's offset modulo 64 (bench/NOTES.md, "Timing").
__attribute__((noinline, aligned(64))) std::uint64_t RunAutomata(
    Automata& automata, const std::uint8_t* end, std::int64_t length) {
  std::uint64_t row = automata.row;
  std::uint64_t stack = automata.stack;
  std::uint64_t names = automata.names;
  // Where to write the state back, stored before the fence rather than
  // kept in a register the loop needs (which the compiler would spill
  // after it).
  Automata* volatile const output = &automata;
  // k counts from -length up to 0, so that the end and the index share
  // registers; `here` records k modulo 2^32 (bits 0-31 for the appid,
  // 32-63 for the timestamp), which the caller turns into an index.
  std::uint64_t here = 0;
  Fence();
  for (std::int64_t k = -length; k != 0; ++k) {
    const std::uint64_t byte = end[k];
    const std::uint64_t info = kTables.byte_info[byte];
    const Entry e = kTables.transitions[row + (info & 0x3f)];

    // Containers.
    const std::uint64_t top_is_array = stack & 1;
    const std::uint64_t depth_is_1 = (((stack >> 1) ^ 1) - 1) >> 63;
    const std::uint64_t depth_is_2 = (((stack >> 2) ^ 1) - 1) >> 63;
    const std::uint64_t push = (e >> 1) & 1;
    const std::uint64_t pop = (e >> 3) & 1;
    row = (e & kRowMask) +
          ((((e & top_is_array) | (pop & depth_is_1)) & 1) * kClassStride);
    const std::uint64_t error =
        (((e >> 16) & (top_is_array + 1)) |  // the wrong container
         (push & (stack >> 63)))             // a 64th level
        << 60;
    stack = ((stack << push) | ((e >> 2) & 1)) >> pop;

    // Member names: the node before this byte's trie step (a closing
    // quote leaves it unchanged) says which wanted name just ended, if
    // any. The watermark counts at depth 1, the others at depth 2 (the
    // extraction automaton knows whether that is the watermark object).
    const std::uint64_t name =
        names & (e >> 23) & (depth_is_1 | (depth_is_2 * 6));
    const std::uint64_t column =
        ((info >> 8) & (0 - ((e >> 18) & 1))) | ((e >> 19) & 0xf);
    const std::uint64_t node = kTables.trie[((names & 0xf8) << 1) + column];
    const std::uint64_t event = ((e >> 26) & 0xf) + name + (pop & depth_is_2);
    const std::uint64_t extract =
        kTables.extract[((names >> 8) & 31) * kEventCount + event];

    // The bytes of the appid's content and of the timestamp's integer
    // part are counted and the last of each located; the second loop
    // reads them.
    const std::uint64_t data = (e >> 30) & 1;
    const std::uint64_t app_byte = (extract >> 5) & data;
    const std::uint64_t digit = (extract >> 6) & data;
    names = node | (extract << 8) | (names & kKeptBits) | error;
    names +=
        ((app_byte & ~(names >> 23)) << 16) | ((digit & ~(names >> 31)) << 24);
    const std::uint64_t at =
        ((0 - app_byte) & 0xffffffff) | ((0 - digit) << 32);
    here = (here & ~at) |
           ((static_cast<std::uint64_t>(k) & 0xffffffff) * 0x100000001 & at);
  }
  Automata* const result = output;
  result->row = row;
  result->stack = stack;
  result->names = names;
  return here;
}

}  // namespace

CtJsonWatermark CtJsonScanWatermark(absl::string_view text, std::size_t size,
                                    absl::string_view app_id) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  const std::uint64_t n = text.size();
  const Mask size_is_less = LessThan(size, n);
  const std::uint64_t limit = (size & size_is_less) | (n & ~size_is_less);

  // The expected appid, zero-padded to one cache line.
  const bool comparable = ComparableAppId(app_id);
  alignas(64) std::uint8_t want[kCtJsonAppIdCapacity] = {};
  if (comparable) std::memcpy(want, app_id.data(), app_id.size());

  // The state of the automata. The open containers are one bit each (1: an
  // array), the innermost in bit 0, above a sentinel 1: stack == 1 means
  // depth 0, stack >> 1 == 1 depth 1, and so on; hence at most 63 levels.
  // `names` holds the trie node in bits 0-7, the extraction state in bits
  // 8-15, how many bytes of the appid's content (bits 16-23) and of the
  // timestamp's integer part (bits 24-31) have been read, each counted up
  // to 128 (more never matches), and in bits 60-61 a structural error (a
  // container closed by the wrong bracket, a 64th level).
  Automata automata = {kStart * kClassStride, 1,
                       kTrieRoot | (std::uint64_t{kXSearch} << 8)};
  // Where the last byte of the appid's content (bits 0-31) and of the
  // timestamp's integer part (bits 32-63) was, as an index modulo 2^32.
  std::uint64_t last = 0;

  automata.row += TouchTables();

  // The text is scanned a chunk at a time: each chunk is first copied into
  // `chunk` with the bytes at `limit` and beyond replaced by spaces, so that
  // the automata need no limit test (a register fewer: see RunAutomata).
  alignas(64) std::uint8_t chunk[kChunkSize];
  for (std::uint64_t start = 0; start < n; start += kChunkSize) {
    const std::uint64_t length =
        n - start < kChunkSize ? n - start : kChunkSize;
    for (std::uint64_t j = 0; j < length; ++j) {
      const Mask inside = LessThan(start + j, limit);
      chunk[j] = static_cast<std::uint8_t>(
          0x20 ^ ((bytes[start + j] ^ 0x20) & inside));
    }
    const std::uint64_t here = RunAutomata(automata, chunk + length,
                                           static_cast<std::int64_t>(length));
    // A half of `here` that is not zero holds k - 2^32 (k is negative) for
    // the byte at index start + length + k.
    const std::uint64_t offset = (start + length) & 0xffffffff;
    const std::uint64_t app_here = here & 0xffffffff;
    const std::uint64_t digit_here = here >> 32;
    const Mask app_moved = ~IsZero(app_here);
    const Mask digit_moved = ~IsZero(digit_here);
    last = (last & ~(app_moved & 0xffffffff) & ~(digit_moved << 32)) |
           (((app_here + offset) & 0xffffffff) & app_moved) |
           ((((digit_here + offset) & 0xffffffff) << 32) & digit_moved);
  }
  const std::uint64_t names = automata.names;
  const std::uint64_t extract = (names >> 8) & 0xff;

  // The second loop compares the appid's bytes with the expected ones and
  // reads the timestamp's digits: a byte counts when its index lies in the
  // range the first loop found. Every byte is read, and again there is no
  // branch and no store. (The ranges end before `limit`, so the bytes are
  // read from the text itself.) The expected appid is first rotated so that
  // byte i of the text meets byte i % 64 of `rotated`: the loop's loads
  // then have the same addresses for every text of a length.
  const std::uint64_t app_count = (names >> 16) & 0xff;
  const std::uint64_t digits = (names >> 24) & 0xff;
  const std::uint64_t app_first = (last + 1 - app_count) & 0xffffffff;
  const std::uint64_t digits_first = ((last >> 32) + 1 - digits) & 0xffffffff;
  alignas(64) std::uint8_t rotated[kCtJsonAppIdCapacity];
  RotateAppId(want, app_first, rotated);
  std::uint64_t mismatch = 0;
  std::uint64_t magnitude = 0;
  for (std::uint64_t i = 0; i != n; ++i) {
    const std::uint64_t byte = bytes[i];
    const Mask in_app =
        MaskFromBit((((i - app_first) & 0xffffffff) - app_count) >> 63);
    mismatch |= (byte ^ rotated[i & (kCtJsonAppIdCapacity - 1)]) & in_app;
    const Mask in_digits =
        MaskFromBit((((i - digits_first) & 0xffffffff) - digits) >> 63);
    magnitude = magnitude * (1 + (9 & in_digits)) + ((byte - '0') & in_digits);
  }

  CtJsonWatermark result;
  result.valid_mask = Equal(automata.row, kDone * kClassStride) &
                      Equal(automata.stack, 1) & IsZero(names >> 60);
  const Mask negative = Equal(extract, kXFoundNegative);
  // An int64 holds magnitudes up to 2^63 - 1, or 2^63 when negative; 20
  // digits or more never fit (and 19 do not overflow `magnitude`).
  const std::uint64_t max_magnitude =
      (std::uint64_t{1} << 63) - 1 + (negative & 1);
  result.found_mask =
      result.valid_mask & (Equal(extract, kXFoundPositive) | negative) &
      LessThan(digits, 20) & ~LessThan(max_magnitude, magnitude);
  result.app_id_match_mask =
      result.found_mask & MaskFromBit(comparable ? 1 : 0) & IsZero(mismatch) &
      Equal(app_count, comparable ? app_id.size() : 0);
  result.timestamp = static_cast<std::int64_t>(
      ((magnitude ^ negative) - negative) & result.found_mask);
  return result;
}

}  // namespace wxcrypto
