// Chooses the XML and JSON parsers of server/envelope by measurement.
//
// Two tasks, each on realistic documents of about 0.3, 1 and 4 KB (the
// benchmark argument is the target size in bytes):
//   Envelope  a push body: check it, return the Encrypt value.
//   Fields    a decrypted message: return every top-level field as
//             (name, text), nested values as XML / compact JSON text.
// Every candidate does the same checks the production code needs: nesting
// depth at most 64, DOCTYPE rejected, root <xml> / top-level object, a
// duplicate Encrypt rejected, the whole input consumed.
//
// Candidates (the name after the slash in each benchmark):
//   XML   pugixml        pugixml 1.13, DOM.
//         expat          expat 2.5, SAX, a new parser per document.
//         expat_reused   the same with a per-thread parser, XML_ParserReset
//                        and a fixed hash salt (saves expat's getrandom()).
//   JSON  rapidjson_sax  RapidJSON 1.1 SAX reader, iterative, with
//                        kParseValidateEncodingFlag, over the input in place.
//         rapidjson_sax_novalidate  the same over a NUL-terminated copy
//                        (rapidjson::StringStream) with UTF-8 checked up
//                        front instead. With RAPIDJSON_SSE2 defined for the
//                        whole build (-DCMAKE_CXX_FLAGS=-DRAPIDJSON_SSE2),
//                        this is the variant RapidJSON's SIMD scanning speeds
//                        up.
//         rapidjson_dom  RapidJSON Document, iterative, depth checked after.
//         simdjson_dom   simdjson 3.0 DOM (kernel chosen at run time), a
//                        reused per-thread parser; input copied to a padded
//                        buffer because a request body has no padding.
//         simdjson_dom_fresh  the same with a new parser per document.
//         simdjson_ondemand[_haswell]  simdjson On-Demand, built with the
//                        default flags and with -march=haswell (see
//                        simdjson_ondemand.h).
//   Both  wxcrypto       the production functions, ParsePushEnvelope and
//                        ExtractMessageFields, with all their checks.
//
// Results and the decision are in bench/NOTES.md, "Parser choice".

#include <expat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/parsers/simdjson_ondemand.h"
#include "benchmark/benchmark.h"
#include "pugixml.hpp"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/envelope/envelope.h"
#include "simdjson.h"

namespace {

// The production limit (server/envelope/envelope.h, kMaxNestingDepth).
constexpr int kMaxDepth = 64;

using wxcrypto_bench::FieldList;

// ---------------------------------------------------------------------------
// Documents.

// Returns `n` characters of deterministic base64 text ending in "=".
std::string FakeBase64(std::size_t n, std::uint32_t seed) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(n);
  std::uint32_t x = seed;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    x = x * 1664525u + 1013904223u;  // Numerical Recipes LCG.
    out.push_back(kAlphabet[(x >> 24) & 63]);
  }
  out.push_back('=');
  return out;
}

// Returns `text` repeated until it is at least `n` bytes, cut at a repeat.
std::string RepeatTo(const std::string& text, std::size_t n) {
  std::string out;
  while (out.size() < n) out += text;
  return out;
}

// Pads the Encrypt of `prefix` + b64 + `suffix` so the whole is `size`.
std::string WithEncrypt(const std::string& prefix, const std::string& suffix,
                        std::size_t size) {
  std::size_t fixed = prefix.size() + suffix.size();
  std::size_t n = size > fixed + 4 ? size - fixed : 4;
  return prefix + FakeBase64(n - n % 4, 7) + suffix;
}

const std::string& XmlEnvelope(std::int64_t size) {
  static const auto* docs = new std::map<std::int64_t, std::string>{
      // Secure mode: ToUserName and Encrypt only.
      {300,
       WithEncrypt("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
                   "<Encrypt><![CDATA[",
                   "]]></Encrypt></xml>", 300)},
      // Compatible mode, the shape of the official WXBizMsgCrypt sample.
      {1024,
       WithEncrypt(
           "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
           "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
           "</FromUserName><CreateTime>1409735668</CreateTime>"
           "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
           "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[",
           "]]></Encrypt></xml>", 1024)},
      // Compatible mode with a long CJK text message.
      {4096, WithEncrypt(
                 "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
                 "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
                 "</FromUserName><CreateTime>1409735668</CreateTime>"
                 "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" +
                     RepeatTo("\xe6\x88\x91\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87"
                              "abcd123 ",
                              900) +
                     "]]></Content><MsgId>6054768590064713728</MsgId>"
                     "<Encrypt><![CDATA[",
                 "]]></Encrypt></xml>", 4096)},
  };
  return docs->at(size);
}

const std::string& JsonEnvelope(std::int64_t size) {
  static const auto* docs = new std::map<std::int64_t, std::string>{
      {300, WithEncrypt(R"({"ToUserName":"gh_97417a04a28d","Encrypt":")",
                        R"("})", 300)},
      {1024,
       WithEncrypt(
           R"({"ToUserName":"gh_97417a04a28d",)"
           R"("FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
           R"("CreateTime":1714112445,"MsgType":"text","Content":"abcdteT",)"
           R"("MsgId":24548123456789012,"Encrypt":")",
           R"("})", 1024)},
      {4096, WithEncrypt(
                 R"({"ToUserName":"gh_97417a04a28d",)"
                 R"("FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
                 R"("CreateTime":1714112445,"MsgType":"text","Content":")" +
                     RepeatTo("\xe6\x88\x91\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87"
                              "abcd123 \\\"q\\\" ",
                              900) +
                     R"(","MsgId":24548123456789012,"Encrypt":")",
                 R"("})", 4096)},
  };
  return docs->at(size);
}

const std::string& XmlMessage(std::int64_t size) {
  static const auto* docs = new std::map<std::int64_t, std::string>{
      // The official sample's plaintext.
      {300,
       "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
       "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
       "<CreateTime>1409735668</CreateTime>\n"
       "<MsgType><![CDATA[text]]></MsgType>\n"
       "<Content><![CDATA[abcdteT &lt; \xe4\xbd\xa0\xe5\xa5\xbd]]></Content>\n"
       "<MsgId>6054768590064713728</MsgId>\n"
       "<AgentID>1000002</AgentID>\n</xml>"},
      // A pic_weixin event: nested SendPicsInfo/PicList/item.
      {1024,
       "<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>\n"
       "<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>\n"
       "<CreateTime>1408090816</CreateTime>\n"
       "<MsgType><![CDATA[event]]></MsgType>\n"
       "<Event><![CDATA[pic_weixin]]></Event>\n"
       "<EventKey><![CDATA[6]]></EventKey>\n"
       "<SendPicsInfo><Count>8</Count>\n<PicList>" +
           RepeatTo("<item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c"
                    "6b]]></PicMd5Sum></item>\n",
                    620) +
           "</PicList>\n</SendPicsInfo>\n</xml>"},
      // A long CJK text message with character references.
      {4096,
       "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
       "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
       "<CreateTime>1409735668</CreateTime>\n"
       "<MsgType><![CDATA[text]]></MsgType>\n<Content>" +
           RepeatTo("\xe6\x88\x91\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87 abcd "
                    "&lt;b&gt; &amp; &#x4e2d; ",
                    3800) +
           "</Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"},
  };
  return docs->at(size);
}

const std::string& JsonMessage(std::int64_t size) {
  static const auto* docs = new std::map<std::int64_t, std::string>{
      // The mini program documentation's message, plus a text Content.
      {300, R"({"ToUserName":"gh_97417a04a28d",)"
            R"("FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
            R"("CreateTime":1714112445,"MsgType":"event","Event":"debug_demo",)"
            R"("debug_str":"hello world","Content":"\u4f60\u597d \"hi\"",)"
            R"("MsgId":24548123456789012,"Idx":1})"},
      // A wxa_media_check-like event with a nested object and array.
      {1024,
       R"({"ToUserName":"gh_97417a04a28d",)"
       R"("FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
       R"("CreateTime":1714112445,"MsgType":"event",)"
       R"("Event":"wxa_media_check","appid":"wxba5fad812f8e6fb9",)"
       R"("trace_id":"60ae15c8-5e5d7e0a-0d5b3c4a","version":2,)"
       R"("result":{"suggest":"risky","label":20001},"detail":[)" +
           RepeatTo(R"({"strategy":"content_model","errcode":0,)"
                    R"("suggest":"risky","label":20001,"prob":90},)",
                    560) +
           R"({"strategy":"keyword","errcode":0,"suggest":"pass","label":100}]})"},
      // A long CJK text message with escapes.
      {4096,
       R"({"ToUserName":"gh_97417a04a28d",)"
       R"("FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",)"
       R"("CreateTime":1714112445,"MsgType":"text","Content":")" +
           RepeatTo("\xe6\x88\x91\xe6\x98\xaf\xe4\xb8\xad\xe6\x96\x87 abcd "
                    "\\\"q\\\" \\\\ \\n \\u4e2d ",
                    3850) +
           R"(","MsgId":24548123456789012})"},
  };
  return docs->at(size);
}

// ---------------------------------------------------------------------------
// pugixml.

constexpr unsigned kPugiOptions =
    pugi::parse_default | pugi::parse_doctype | pugi::parse_ws_pcdata;

// Returns the <xml> element, or null if the document is not acceptable.
pugi::xml_node PugiRoot(const pugi::xml_document& doc) {
  pugi::xml_node root;
  for (pugi::xml_node n : doc.children()) {
    if (n.type() == pugi::node_doctype) return {};
    if (n.type() == pugi::node_element) {
      if (root) return {};
      root = n;
    }
  }
  if (!root || std::strcmp(root.name(), "xml") != 0) return {};
  // Iterative depth check: the root is depth 1.
  int depth = 1;
  pugi::xml_node n = root.first_child();
  while (n && n != root) {
    if (n.first_child()) {
      if (++depth > kMaxDepth) return {};
      n = n.first_child();
      continue;
    }
    while (n != root && !n.next_sibling()) {
      n = n.parent();
      --depth;
    }
    if (n != root) n = n.next_sibling();
  }
  return root;
}

std::string PugiText(pugi::xml_node node) {
  std::string text;
  for (pugi::xml_node c : node.children()) text += c.value();
  return text;
}

bool PugiEnvelope(std::string_view body, std::string* encrypt) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(), kPugiOptions,
                       pugi::encoding_utf8)) {
    return false;
  }
  pugi::xml_node root = PugiRoot(doc);
  if (!root) return false;
  int found = 0;
  for (pugi::xml_node c : root.children("Encrypt")) {
    if (++found > 1 || c.find_child([](pugi::xml_node k) {
          return k.type() == pugi::node_element;
        })) {
      return false;
    }
    *encrypt = PugiText(c);
  }
  return found == 1;
}

struct StringWriter : pugi::xml_writer {
  std::string* out;
  explicit StringWriter(std::string* o) : out(o) {}
  void write(const void* data, std::size_t size) override {
    out->append(static_cast<const char*>(data), size);
  }
};

bool PugiFields(std::string_view body, FieldList* fields) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(), kPugiOptions,
                       pugi::encoding_utf8)) {
    return false;
  }
  pugi::xml_node root = PugiRoot(doc);
  if (!root) return false;
  for (pugi::xml_node c : root.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string value;
    bool nested = false;
    for (pugi::xml_node k : c.children()) {
      nested = nested || k.type() == pugi::node_element;
    }
    if (nested) {
      StringWriter writer(&value);
      for (pugi::xml_node k : c.children()) {
        k.print(writer, "", pugi::format_raw, pugi::encoding_utf8);
      }
    } else {
      value = PugiText(c);
    }
    fields->emplace_back(c.name(), std::move(value));
  }
  return true;
}

// ---------------------------------------------------------------------------
// expat.

struct ExpatState {
  XML_Parser parser = nullptr;
  std::string_view input;
  bool want_fields = false;
  int depth = 0;
  bool failed = false;
  // Envelope.
  int encrypt_count = 0;
  bool in_encrypt = false;
  std::string* encrypt = nullptr;
  // Fields.
  FieldList* fields = nullptr;
  std::string text;
  bool nested = false;
  std::size_t inner_begin = 0;
};

void ExpatFail(ExpatState* s) {
  s->failed = true;
  XML_StopParser(s->parser, XML_FALSE);
}

void XMLCALL ExpatStart(void* user, const XML_Char* name, const XML_Char**) {
  auto* s = static_cast<ExpatState*>(user);
  ++s->depth;
  if (s->depth > kMaxDepth) return ExpatFail(s);
  if (s->depth == 1) {
    if (std::strcmp(name, "xml") != 0) ExpatFail(s);
    return;
  }
  if (s->depth == 2) {
    s->text.clear();
    s->nested = false;
    if (s->want_fields) {
      s->inner_begin =
          static_cast<std::size_t>(XML_GetCurrentByteIndex(s->parser) +
                                   XML_GetCurrentByteCount(s->parser));
    } else if (std::strcmp(name, "Encrypt") == 0) {
      if (++s->encrypt_count > 1) return ExpatFail(s);
      s->in_encrypt = true;
    }
    return;
  }
  if (s->depth == 3) {
    s->nested = true;
    if (s->in_encrypt) ExpatFail(s);
  }
}

void XMLCALL ExpatEnd(void* user, const XML_Char* name) {
  auto* s = static_cast<ExpatState*>(user);
  if (s->depth == 2) {
    if (s->want_fields) {
      std::string value;
      if (s->nested) {
        auto end = static_cast<std::size_t>(XML_GetCurrentByteIndex(s->parser));
        value.assign(s->input.substr(s->inner_begin, end - s->inner_begin));
      } else {
        value = std::move(s->text);
      }
      s->fields->emplace_back(name, std::move(value));
    } else if (s->in_encrypt) {
      *s->encrypt = std::move(s->text);
      s->in_encrypt = false;
    }
  }
  --s->depth;
}

void XMLCALL ExpatText(void* user, const XML_Char* data, int len) {
  auto* s = static_cast<ExpatState*>(user);
  if (s->depth == 2 && (s->want_fields || s->in_encrypt)) {
    s->text.append(data, static_cast<std::size_t>(len));
  } else if (s->depth == 1) {
    for (int i = 0; i < len; ++i) {
      if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' &&
          data[i] != '\r') {
        return ExpatFail(s);
      }
    }
  }
}

void XMLCALL ExpatDoctype(void* user, const XML_Char*, const XML_Char*,
                          const XML_Char*, int) {
  ExpatFail(static_cast<ExpatState*>(user));
}

bool ExpatRun(XML_Parser parser, ExpatState* s) {
  s->parser = parser;
  XML_SetUserData(parser, s);
  XML_SetElementHandler(parser, ExpatStart, ExpatEnd);
  XML_SetCharacterDataHandler(parser, ExpatText);
  XML_SetStartDoctypeDeclHandler(parser, ExpatDoctype);
  XML_Status st = XML_Parse(parser, s->input.data(),
                            static_cast<int>(s->input.size()), XML_TRUE);
  return st == XML_STATUS_OK && !s->failed;
}

// A fresh parser per document (expat draws a random hash salt each time).
bool ExpatParse(ExpatState* s) {
  XML_Parser parser = XML_ParserCreate("UTF-8");
  bool ok = ExpatRun(parser, s);
  XML_ParserFree(parser);
  return ok;
}

// A parser reused per thread, with a salt drawn once.
bool ExpatParseReused(ExpatState* s) {
  thread_local XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_ParserReset(parser, "UTF-8");
  XML_SetHashSalt(parser, 0x5bd1e995);
  return ExpatRun(parser, s);
}

template <bool kReuse>
bool ExpatEnvelope(std::string_view body, std::string* encrypt) {
  ExpatState s;
  s.input = body;
  s.encrypt = encrypt;
  bool ok = kReuse ? ExpatParseReused(&s) : ExpatParse(&s);
  return ok && s.encrypt_count == 1;
}

template <bool kReuse>
bool ExpatFields(std::string_view body, FieldList* fields) {
  ExpatState s;
  s.input = body;
  s.want_fields = true;
  s.fields = fields;
  return kReuse ? ExpatParseReused(&s) : ExpatParse(&s);
}

// ---------------------------------------------------------------------------
// RapidJSON.

constexpr unsigned kRapidFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

// A RapidJSON input stream over a string_view (no copy, no terminator).
class ViewStream {
 public:
  using Ch = char;
  explicit ViewStream(std::string_view s) : p_(s.data()), begin_(p_) {
    end_ = p_ + s.size();
  }
  Ch Peek() const { return p_ == end_ ? '\0' : *p_; }
  Ch Take() { return p_ == end_ ? '\0' : *p_++; }
  std::size_t Tell() const { return static_cast<std::size_t>(p_ - begin_); }
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  std::size_t PutEnd(Ch*) { return 0; }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
};

// SAX: top-level strings captured, nested values written as compact JSON.
class RapidFieldsHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>,
                                          RapidFieldsHandler> {
 public:
  explicit RapidFieldsHandler(bool want_fields) : want_fields_(want_fields) {}

  bool StartObject() { return Start(true); }
  bool StartArray() { return Start(false); }
  bool EndObject(rapidjson::SizeType) { return End(true); }
  bool EndArray(rapidjson::SizeType) { return End(false); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 1) {
      key_.assign(s, n);
      return true;
    }
    return writer_.Key(s, n);
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 0) return false;
    if (depth_ == 1) {
      if (key_ == "Encrypt") {
        if (++encrypt_count_ > 1) return false;
        encrypt_.assign(s, n);
      }
      if (want_fields_) fields_.emplace_back(key_, std::string(s, n));
      return true;
    }
    return writer_.String(s, n);
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return Scalar(
        [&] { return writer_.RawValue(s, n, rapidjson::kNumberType); });
  }
  bool Null() {
    return Scalar([&] { return writer_.Null(); });
  }
  bool Bool(bool b) {
    return Scalar([&] { return writer_.Bool(b); });
  }

  FieldList fields_;
  std::string encrypt_;
  int encrypt_count_ = 0;

 private:
  template <typename F>
  bool Scalar(F write) {
    if (depth_ == 0) return false;
    if (depth_ == 1) {
      if (!want_fields_) return key_ != "Encrypt";
      buffer_.Clear();
      writer_.Reset(buffer_);
      write();
      fields_.emplace_back(key_,
                           std::string(buffer_.GetString(), buffer_.GetSize()));
      return true;
    }
    return write();
  }
  bool Start(bool object) {
    ++depth_;
    if (depth_ > kMaxDepth) return false;
    if (depth_ == 1) return object;
    if (depth_ == 2) {
      if (!want_fields_ && key_ == "Encrypt") return false;
      buffer_.Clear();
      writer_.Reset(buffer_);
    }
    return object ? writer_.StartObject() : writer_.StartArray();
  }
  bool End(bool object) {
    bool ok = true;
    if (depth_ >= 2) ok = object ? writer_.EndObject() : writer_.EndArray();
    if (depth_ == 2 && want_fields_) {
      fields_.emplace_back(key_,
                           std::string(buffer_.GetString(), buffer_.GetSize()));
    }
    --depth_;
    return ok;
  }

  bool want_fields_;
  int depth_ = 0;
  std::string key_;
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_{buffer_};
};

bool RapidSax(std::string_view body, RapidFieldsHandler* handler) {
  rapidjson::Reader reader;
  ViewStream stream(body);
  return !reader.Parse<kRapidFlags>(stream, *handler).IsError() &&
         stream.Tell() == body.size();
}

// Returns true if `s` is well-formed UTF-8 (no overlongs, surrogates or
// code points above U+10FFFF), eight ASCII bytes at a time where possible.
bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

// The same SAX handler fed from a NUL-terminated copy through
// rapidjson::StringStream (the stream RapidJSON's RAPIDJSON_SSE2 paths
// serve), with UTF-8 checked up front instead of by
// kParseValidateEncodingFlag (which turns the SIMD string scan off).
constexpr unsigned kRapidNoValidateFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

bool RapidSaxNoValidate(std::string_view body, RapidFieldsHandler* handler) {
  if (!IsUtf8(body)) return false;
  std::string copy;
  copy.reserve(body.size() + 16);  // Slack for SSE2's aligned 16-byte loads.
  copy.assign(body);
  rapidjson::Reader reader;
  rapidjson::StringStream stream(copy.c_str());
  return !reader.Parse<kRapidNoValidateFlags>(stream, *handler).IsError() &&
         stream.Tell() == body.size();
}

// The same, parsing in place (kParseInsituFlag) in the copy: strings are
// unescaped into the buffer instead of through the reader's stack.
constexpr unsigned kRapidInsituFlags =
    kRapidNoValidateFlags | rapidjson::kParseInsituFlag;

bool RapidSaxInsitu(std::string_view body, RapidFieldsHandler* handler) {
  if (!IsUtf8(body)) return false;
  std::string copy;
  copy.reserve(body.size() + 16);  // Slack for SSE2's aligned 16-byte loads.
  copy.assign(body);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(copy.data());
  return !reader.Parse<kRapidInsituFlags>(stream, *handler).IsError() &&
         stream.Tell() == body.size();
}

bool RapidSaxInsituEnvelope(std::string_view body, std::string* encrypt) {
  RapidFieldsHandler handler(false);
  if (!RapidSaxInsitu(body, &handler) || handler.encrypt_count_ != 1) {
    return false;
  }
  *encrypt = std::move(handler.encrypt_);
  return true;
}

bool RapidSaxInsituFields(std::string_view body, FieldList* fields) {
  RapidFieldsHandler handler(true);
  if (!RapidSaxInsitu(body, &handler)) return false;
  *fields = std::move(handler.fields_);
  return true;
}

bool RapidSaxNoValidateEnvelope(std::string_view body, std::string* encrypt) {
  RapidFieldsHandler handler(false);
  if (!RapidSaxNoValidate(body, &handler) || handler.encrypt_count_ != 1) {
    return false;
  }
  *encrypt = std::move(handler.encrypt_);
  return true;
}

bool RapidSaxNoValidateFields(std::string_view body, FieldList* fields) {
  RapidFieldsHandler handler(true);
  if (!RapidSaxNoValidate(body, &handler)) return false;
  *fields = std::move(handler.fields_);
  return true;
}

bool RapidSaxEnvelope(std::string_view body, std::string* encrypt) {
  RapidFieldsHandler handler(false);
  if (!RapidSax(body, &handler) || handler.encrypt_count_ != 1) return false;
  *encrypt = std::move(handler.encrypt_);
  return true;
}

bool RapidSaxFields(std::string_view body, FieldList* fields) {
  RapidFieldsHandler handler(true);
  if (!RapidSax(body, &handler)) return false;
  *fields = std::move(handler.fields_);
  return true;
}

// DOM: the same, checking depth by an explicit-stack walk after parsing.
constexpr unsigned kRapidDomFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

bool RapidDepthOk(const rapidjson::Value& root) {
  std::vector<std::pair<const rapidjson::Value*, int>> stack = {{&root, 1}};
  while (!stack.empty()) {
    auto [v, d] = stack.back();
    stack.pop_back();
    if (d > kMaxDepth) return false;
    if (v->IsObject()) {
      for (const auto& m : v->GetObject()) {
        if (m.value.IsObject() || m.value.IsArray()) {
          stack.emplace_back(&m.value, d + 1);
        }
      }
    } else if (v->IsArray()) {
      for (const auto& e : v->GetArray()) {
        if (e.IsObject() || e.IsArray()) stack.emplace_back(&e, d + 1);
      }
    }
  }
  return true;
}

bool RapidDomParse(std::string_view body, rapidjson::Document* doc) {
  doc->Parse<kRapidDomFlags>(body.data(), body.size());
  return !doc->HasParseError() && doc->IsObject() && RapidDepthOk(*doc);
}

bool RapidDomEnvelope(std::string_view body, std::string* encrypt) {
  rapidjson::Document doc;
  if (!RapidDomParse(body, &doc)) return false;
  int found = 0;
  for (const auto& m : doc.GetObject()) {
    if (std::string_view(m.name.GetString(), m.name.GetStringLength()) ==
        "Encrypt") {
      if (++found > 1 || !m.value.IsString()) return false;
      encrypt->assign(m.value.GetString(), m.value.GetStringLength());
    }
  }
  return found == 1;
}

bool RapidDomFields(std::string_view body, FieldList* fields) {
  rapidjson::Document doc;
  if (!RapidDomParse(body, &doc)) return false;
  for (const auto& m : doc.GetObject()) {
    std::string value;
    if (m.value.IsString()) {
      value.assign(m.value.GetString(), m.value.GetStringLength());
    } else {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      m.value.Accept(writer);
      value.assign(buffer.GetString(), buffer.GetSize());
    }
    fields->emplace_back(
        std::string(m.name.GetString(), m.name.GetStringLength()),
        std::move(value));
  }
  return true;
}

// ---------------------------------------------------------------------------
// simdjson.

simdjson::dom::parser& SimdDomParser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    if (p.allocate(1 << 16, kMaxDepth) != simdjson::SUCCESS) std::abort();
    return p;
  }();
  return parser;
}

// A parser per document instead of the thread's reused one.
simdjson::dom::parser& FreshParser(simdjson::dom::parser& storage,
                                   std::size_t size) {
  if (storage.allocate(size, kMaxDepth) != simdjson::SUCCESS) std::abort();
  return storage;
}

template <bool kFresh>
bool SimdDomEnvelope(std::string_view body, std::string* encrypt) {
  simdjson::dom::parser storage;
  simdjson::dom::parser& parser =
      kFresh ? FreshParser(storage, body.size()) : SimdDomParser();
  simdjson::dom::object obj;
  // realloc_if_needed: copies the body into a padded buffer.
  if (parser.parse(body.data(), body.size(), true).get(obj)) {
    return false;
  }
  int found = 0;
  for (auto [key, value] : obj) {
    if (key == "Encrypt") {
      std::string_view s;
      if (++found > 1 || value.get(s)) return false;
      encrypt->assign(s);
    }
  }
  return found == 1;
}

template <bool kFresh>
bool SimdDomFields(std::string_view body, FieldList* fields) {
  simdjson::dom::parser storage;
  simdjson::dom::parser& parser =
      kFresh ? FreshParser(storage, body.size()) : SimdDomParser();
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size(), true).get(obj)) {
    return false;
  }
  for (auto [key, value] : obj) {
    std::string_view s;
    std::string text = value.get(s) ? simdjson::minify(value) : std::string(s);
    fields->emplace_back(std::string(key), std::move(text));
  }
  return true;
}

// ---------------------------------------------------------------------------
// The production code (server/envelope), with all its checks: pugixml and
// RapidJSON as chosen, plus UTF-8 and character checks, strict reference
// decoding, the markup limit and verbatim inner XML.

bool ProductionEnvelope(std::string_view body, std::string* encrypt) {
  absl::StatusOr<wxcrypto::PushEnvelope> envelope =
      wxcrypto::ParsePushEnvelope(absl::string_view(body.data(), body.size()));
  if (!envelope.ok() || !envelope->has_encrypt) return false;
  *encrypt = std::move(envelope->encrypt);
  return true;
}

bool ProductionFields(std::string_view body, FieldList* fields) {
  absl::StatusOr<wxcrypto::FieldList> extracted =
      wxcrypto::ExtractMessageFields(
          absl::string_view(body.data(), body.size()));
  if (!extracted.ok()) return false;
  *fields = std::move(*extracted);
  return true;
}

// ---------------------------------------------------------------------------
// Harness.

template <bool (*kParse)(std::string_view, std::string*),
          const std::string& (*kDoc)(std::int64_t)>
void BM_Envelope(benchmark::State& state) {
  const std::string& body = kDoc(state.range(0));
  for (auto _ : state) {
    std::string encrypt;
    if (!kParse(body, &encrypt)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(encrypt);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
  state.counters["doc_bytes"] = static_cast<double>(body.size());
}

template <bool (*kParse)(std::string_view, FieldList*),
          const std::string& (*kDoc)(std::int64_t)>
void BM_Fields(benchmark::State& state) {
  const std::string& body = kDoc(state.range(0));
  for (auto _ : state) {
    FieldList fields;
    if (!kParse(body, &fields) || fields.size() < 6) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
  state.counters["doc_bytes"] = static_cast<double>(body.size());
}

// The fastest repetition is the least disturbed by other load on the
// machine; report it next to the mean, median and stddev.
double Min(const std::vector<double>& values) {
  return *std::min_element(values.begin(), values.end());
}

#define WXCRYPTO_SIZES \
  ->Arg(300)->Arg(1024)->Arg(4096)->ComputeStatistics("min", Min)

BENCHMARK_TEMPLATE(BM_Envelope, PugiEnvelope, XmlEnvelope)
    ->Name("XmlEnvelope/pugixml") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, ExpatEnvelope<false>, XmlEnvelope)
    ->Name("XmlEnvelope/expat") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, ExpatEnvelope<true>, XmlEnvelope)
    ->Name("XmlEnvelope/expat_reused") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, ProductionEnvelope, XmlEnvelope)
    ->Name("XmlEnvelope/wxcrypto") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, PugiFields, XmlMessage)
    ->Name("XmlFields/pugixml") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, ExpatFields<false>, XmlMessage)
    ->Name("XmlFields/expat") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, ExpatFields<true>, XmlMessage)
    ->Name("XmlFields/expat_reused") WXCRYPTO_SIZES;

BENCHMARK_TEMPLATE(BM_Fields, ProductionFields, XmlMessage)
    ->Name("XmlFields/wxcrypto") WXCRYPTO_SIZES;

BENCHMARK_TEMPLATE(BM_Envelope, RapidSaxEnvelope, JsonEnvelope)
    ->Name("JsonEnvelope/rapidjson_sax") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, RapidSaxInsituEnvelope, JsonEnvelope)
    ->Name("JsonEnvelope/rapidjson_sax_insitu") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, RapidDomEnvelope, JsonEnvelope)
    ->Name("JsonEnvelope/rapidjson_dom") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, RapidSaxNoValidateEnvelope, JsonEnvelope)
    ->Name("JsonEnvelope/rapidjson_sax_novalidate") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, SimdDomEnvelope<false>, JsonEnvelope)
    ->Name("JsonEnvelope/simdjson_dom") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, SimdDomEnvelope<true>, JsonEnvelope)
    ->Name("JsonEnvelope/simdjson_dom_fresh") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, wxcrypto_bench::SimdOndemandEnvelope,
                   JsonEnvelope)
    ->Name("JsonEnvelope/simdjson_ondemand") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, wxcrypto_bench::SimdOndemandHaswellEnvelope,
                   JsonEnvelope)
    ->Name("JsonEnvelope/simdjson_ondemand_haswell") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Envelope, ProductionEnvelope, JsonEnvelope)
    ->Name("JsonEnvelope/wxcrypto") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, RapidSaxFields, JsonMessage)
    ->Name("JsonFields/rapidjson_sax") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, RapidSaxInsituFields, JsonMessage)
    ->Name("JsonFields/rapidjson_sax_insitu") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, RapidDomFields, JsonMessage)
    ->Name("JsonFields/rapidjson_dom") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, RapidSaxNoValidateFields, JsonMessage)
    ->Name("JsonFields/rapidjson_sax_novalidate") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, SimdDomFields<false>, JsonMessage)
    ->Name("JsonFields/simdjson_dom") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, SimdDomFields<true>, JsonMessage)
    ->Name("JsonFields/simdjson_dom_fresh") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, wxcrypto_bench::SimdOndemandFields, JsonMessage)
    ->Name("JsonFields/simdjson_ondemand") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, wxcrypto_bench::SimdOndemandHaswellFields,
                   JsonMessage)
    ->Name("JsonFields/simdjson_ondemand_haswell") WXCRYPTO_SIZES;
BENCHMARK_TEMPLATE(BM_Fields, ProductionFields, JsonMessage)
    ->Name("JsonFields/wxcrypto") WXCRYPTO_SIZES;

// Returns true if every candidate gives the same answer on every document,
// so that the benchmark compares equal work. XML inner text of nested
// elements is compared after removing whitespace between tags, because
// pugixml re-serialises it while expat slices the input.
bool CandidatesAgree() {
  using EnvelopeFn = bool (*)(std::string_view, std::string*);
  using FieldsFn = bool (*)(std::string_view, FieldList*);
  auto same = [](std::vector<EnvelopeFn> fns, const std::string& doc) {
    std::string first;
    for (std::size_t i = 0; i < fns.size(); ++i) {
      std::string out;
      if (!fns[i](doc, &out) || (i > 0 && out != first)) return false;
      if (i == 0) first = out;
    }
    return true;
  };
  auto strip = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c != '\n') out.push_back(c);
    }
    return out;
  };
  auto same_fields = [&](std::vector<FieldsFn> fns, const std::string& doc) {
    FieldList first;
    for (std::size_t i = 0; i < fns.size(); ++i) {
      FieldList out;
      if (!fns[i](doc, &out)) return false;
      for (auto& f : out) f.second = strip(f.second);
      if (i == 0) first = out;
      if (out != first) return false;
    }
    return true;
  };
  bool ok = true;
  for (std::int64_t size : {300, 1024, 4096}) {
    ok &= same({PugiEnvelope, ExpatEnvelope<false>, ExpatEnvelope<true>,
                ProductionEnvelope},
               XmlEnvelope(size));
    ok &= same_fields(
        {PugiFields, ExpatFields<false>, ExpatFields<true>, ProductionFields},
        XmlMessage(size));
    ok &=
        same({ProductionEnvelope, RapidSaxEnvelope, RapidSaxNoValidateEnvelope,
              RapidDomEnvelope, SimdDomEnvelope<false>, SimdDomEnvelope<true>,
              wxcrypto_bench::SimdOndemandEnvelope,
              wxcrypto_bench::SimdOndemandHaswellEnvelope},
             JsonEnvelope(size));
    ok &=
        same_fields({ProductionFields, RapidSaxFields, RapidSaxNoValidateFields,
                     RapidDomFields, SimdDomFields<false>, SimdDomFields<true>,
                     wxcrypto_bench::SimdOndemandFields,
                     wxcrypto_bench::SimdOndemandHaswellFields},
                    JsonMessage(size));
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!CandidatesAgree()) {
    std::fprintf(stderr, "candidates disagree on the documents\n");
    return 1;
  }
  benchmark::AddCustomContext(
      "simdjson_dom_kernel",
      std::string(simdjson::get_active_implementation()->name()));
  benchmark::AddCustomContext(
      "simdjson_ondemand_kernel",
      std::string(wxcrypto_bench::SimdOndemandKernel()));
  benchmark::AddCustomContext(
      "simdjson_ondemand_haswell_kernel",
      std::string(wxcrypto_bench::SimdOndemandHaswellKernel()));
  benchmark::AddCustomContext("expat", XML_ExpatVersion());
#ifdef RAPIDJSON_SSE2
  benchmark::AddCustomContext("rapidjson_simd", "sse2");
#else
  benchmark::AddCustomContext("rapidjson_simd", "none");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
