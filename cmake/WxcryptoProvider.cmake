# Selects the libcrypto the core is built against and exposes it as the
# imported target wxcrypto::libcrypto.
#
#   openssl    Debian's OpenSSL 3. The only choice for anything that also links
#              gRPC: Debian's gRPC is built against OpenSSL 3, and a process that
#              loads both libcryptos crashes as soon as gRPC uses TLS.
#   boringssl  Debian's android-libboringssl-dev (headers in
#              /usr/include/android, library in <libdir>/android). Builds the
#              crypto core, the envelopes, their tests and benchmarks only.

if(WXCRYPTO_CRYPTO_PROVIDER STREQUAL "openssl")
  find_package(OpenSSL 3.0 REQUIRED)
  add_library(wxcrypto::libcrypto INTERFACE IMPORTED)
  target_link_libraries(wxcrypto::libcrypto INTERFACE OpenSSL::Crypto)
  set(WXCRYPTO_BUILD_SERVICE ON)
elseif(WXCRYPTO_CRYPTO_PROVIDER STREQUAL "boringssl")
  find_path(WXCRYPTO_BORINGSSL_INCLUDE_DIR openssl/base.h
    PATHS /usr/include/android NO_DEFAULT_PATH REQUIRED)
  find_library(WXCRYPTO_BORINGSSL_CRYPTO_LIBRARY NAMES crypto
    PATHS "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android" NO_DEFAULT_PATH REQUIRED)
  add_library(wxcrypto::libcrypto UNKNOWN IMPORTED)
  set_target_properties(wxcrypto::libcrypto PROPERTIES
    IMPORTED_LOCATION "${WXCRYPTO_BORINGSSL_CRYPTO_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${WXCRYPTO_BORINGSSL_INCLUDE_DIR}")
  set(WXCRYPTO_BUILD_SERVICE OFF)
  message(STATUS "wxcrypto: BoringSSL build: the gRPC service, CLI and their tests are not built")
else()
  message(FATAL_ERROR "WXCRYPTO_CRYPTO_PROVIDER must be openssl or boringssl, not '${WXCRYPTO_CRYPTO_PROVIDER}'")
endif()
