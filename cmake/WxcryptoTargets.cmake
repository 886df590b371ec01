# Helpers that give every wxcrypto target the same warnings, sanitizers and
# test wiring.

include(GoogleTest)

if(WXCRYPTO_SANITIZE)
  if(NOT WXCRYPTO_SANITIZE MATCHES "^(address,undefined|undefined,address|address|undefined|thread)$")
    message(FATAL_ERROR "WXCRYPTO_SANITIZE must be 'address,undefined' or 'thread', not '${WXCRYPTO_SANITIZE}'")
  endif()
  add_compile_options(-fsanitize=${WXCRYPTO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${WXCRYPTO_SANITIZE})
  # Lets tests relax checks a sanitizer runtime defeats by design (e.g. RSS
  # bounds under ASan's quarantine of freed memory).
  add_compile_definitions(WXCRYPTO_SANITIZED=1)
endif()

# Compile options for code we own (never for generated protobuf sources).
function(wxcrypto_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Werror)
endfunction()

# wxcrypto_add_library(<name> ALIAS <ns::name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
function(wxcrypto_add_library name)
  cmake_parse_arguments(ARG "" "ALIAS" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  add_library(${ARG_ALIAS} ALIAS ${name})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  wxcrypto_target_warnings(${name})
endfunction()

# wxcrypto_add_test(<name> SOURCES ... DEPS ... [LABELS ...])
# One GoogleTest binary per test file; each TEST becomes a CTest test.
function(wxcrypto_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    WXCRYPTO_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/testdata")
  wxcrypto_target_warnings(${name})
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    TEST_PREFIX "${WXCRYPTO_CRYPTO_PROVIDER}."
    PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
