// simdjson On-Demand built with -march=haswell (see CMakeLists.txt).
#define WXCRYPTO_ONDEMAND(name) SimdOndemandHaswell##name
#include "bench/parsers/simdjson_ondemand.inc"
