// Serializes a protobuf message into a grpc::ByteBuffer, as the raw
// (ByteBuffer) methods of the service receive it. For tests that link gRPC.
#ifndef WXCRYPTO_TESTS_TESTING_BYTE_BUFFER_H_
#define WXCRYPTO_TESTS_TESTING_BYTE_BUFFER_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

namespace wxcrypto {
namespace testing {

template <typename Message>
grpc::ByteBuffer SerializeToByteBuffer(const Message& message) {
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  EXPECT_TRUE(grpc::SerializationTraits<Message>::Serialize(message, &buffer,
                                                            &own_buffer)
                  .ok());
  return buffer;
}

}  // namespace testing
}  // namespace wxcrypto

#endif  // WXCRYPTO_TESTS_TESTING_BYTE_BUFFER_H_
