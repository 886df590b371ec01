// simdjson On-Demand candidates of parser_benchmark.cc.
//
// Unlike simdjson's DOM parser, On-Demand's document walk is compiled into
// the caller for the build's target: with the project's default x86-64
// flags that is simdjson's portable "fallback" code (its indexing stage is
// still dispatched at run time). The same code is therefore built twice,
// once with the default flags and once with -march=haswell (AVX2), to show
// whether a portable binary loses anything. The haswell object must only
// run on an AVX2 machine.
#ifndef WXCRYPTO_BENCH_PARSERS_SIMDJSON_ONDEMAND_H_
#define WXCRYPTO_BENCH_PARSERS_SIMDJSON_ONDEMAND_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wxcrypto_bench {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Returns the Encrypt string of a JSON push body; false if rejected.
bool SimdOndemandEnvelope(std::string_view body, std::string* encrypt);
bool SimdOndemandHaswellEnvelope(std::string_view body, std::string* encrypt);

// Appends the top-level fields of a JSON message; false if rejected.
bool SimdOndemandFields(std::string_view body, FieldList* fields);
bool SimdOndemandHaswellFields(std::string_view body, FieldList* fields);

// Returns the simdjson implementation the On-Demand code was built for.
std::string_view SimdOndemandKernel();
std::string_view SimdOndemandHaswellKernel();

}  // namespace wxcrypto_bench

#endif  // WXCRYPTO_BENCH_PARSERS_SIMDJSON_ONDEMAND_H_
