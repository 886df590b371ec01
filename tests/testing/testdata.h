// Access to tests/testdata from tests.
#ifndef WXCRYPTO_TESTS_TESTING_TESTDATA_H_
#define WXCRYPTO_TESTS_TESTING_TESTDATA_H_

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "rapidjson/document.h"

namespace wxcrypto {
namespace testing {

// Returns the contents of tests/testdata/<relative_path>; throws if missing
// so that a test cannot silently pass over absent data.
inline std::string ReadTestData(const std::string& relative_path) {
  std::ifstream in(std::string(WXCRYPTO_TESTDATA_DIR) + "/" + relative_path,
                   std::ios::binary);
  if (!in) throw std::runtime_error("missing test data: " + relative_path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Parses tests/testdata/<relative_path> as JSON; throws on a parse error.
inline rapidjson::Document ReadTestJson(const std::string& relative_path) {
  rapidjson::Document doc;
  doc.Parse(ReadTestData(relative_path).c_str());
  if (doc.HasParseError()) {
    throw std::runtime_error("bad JSON in test data: " + relative_path);
  }
  return doc;
}

}  // namespace testing
}  // namespace wxcrypto

#endif  // WXCRYPTO_TESTS_TESTING_TESTDATA_H_
