// simdjson On-Demand built with the project's default compiler flags.
#define WXCRYPTO_ONDEMAND(name) SimdOndemand##name
#include "bench/parsers/simdjson_ondemand.inc"
