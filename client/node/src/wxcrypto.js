// A thin promise wrapper around wxcrypto.v1.CryptoService.
//
// One client (one HTTP/2 channel) is shared by every request; every call
// carries a deadline, so a slow or hung wxcrypto can never hold a WeChat
// request past its 5-second budget.
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

// The proto in this repository, read at start-up (no generated code).
export const DEFAULT_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/wxcrypto/v1/crypto_service.proto', import.meta.url),
);

// Status code number -> name ("UNAUTHENTICATED"), for logs.
const STATUS_NAMES = Object.fromEntries(
  Object.entries(grpc.status).map(([name, code]) => [code, name]),
);

/**
 * Creates the shared client.
 *
 * @param {object} options
 * @param {string} options.address      host:port of wxcrypto
 * @param {string} [options.protoPath]  crypto_service.proto
 * @param {grpc.ChannelCredentials} [options.credentials]  default: plaintext
 * @param {number} [options.timeoutMs]  deadline of each call
 */
export function createCryptoClient({
  address,
  protoPath = DEFAULT_PROTO_PATH,
  credentials = grpc.credentials.createInsecure(),
  timeoutMs = 2000,
}) {
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true, // field names exactly as in the proto: app_id, key_index
    enums: String, // "ENVELOPE_FORMAT_XML"; accepted back as is
    defaults: true, // absent scalars read as "" / 0 / false
    // bytes fields stay Buffers (the default): bodies pass through unchanged.
  });
  const { CryptoService } = grpc.loadPackageDefinition(definition).wxcrypto.v1;
  const stub = new CryptoService(address, credentials, {
    // After an outage, reconnect within seconds rather than gRPC's default
    // backoff of up to 2 minutes: every push in between would get a 503.
    'grpc.max_reconnect_backoff_ms': 5000,
  });

  const call = (method, request) =>
    new Promise((resolve, reject) => {
      stub[method](request, { deadline: Date.now() + timeoutMs }, (err, response) => {
        if (err) {
          err.rpc = method;
          reject(err);
        } else {
          resolve(response);
        }
      });
    });

  return {
    decryptPush: (request) => call('DecryptPush', request),
    buildEncryptedReply: (request) => call('BuildEncryptedReply', request),
    verifyUrl: (request) => call('VerifyUrl', request),
    close: () => stub.close(),
  };
}

/** Channel credentials from PEM files: TLS, or mTLS with a client cert. */
export function tlsCredentials({ ca, cert, key }) {
  return grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
}

/**
 * The HTTP status to answer WeChat with for a failed call.
 *
 * 4xx: the request itself is bad (WeChat does not retry, and a forged request
 * learns nothing more). 503: wxcrypto is busy, draining, unreachable or too
 * slow; WeChat retries the push (three times), and so it reaches a healthy
 * replica. 500: anything else (a bug).
 */
export function httpStatusFor(code) {
  switch (code) {
    case grpc.status.UNAUTHENTICATED:
      return 401; // signature missing or wrong, timestamp outside the window
    case grpc.status.NOT_FOUND:
      return 404; // app_id is not configured
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.FAILED_PRECONDITION:
      return 400; // malformed body, plaintext push to a secure-mode app, ...
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return 503; // overloaded, draining, down, slow: WeChat retries
    default:
      return 500;
  }
}

/**
 * What a failed call says about itself, for a log line: status code, and the
 * trailing metadata `wx-error-code` and `error-reason` (absent when the
 * status came from gRPC itself, e.g. connection refused or deadline).
 */
export function describeRpcError(err) {
  const first = (name) => {
    const values = err.metadata?.get(name) ?? [];
    return values.length > 0 ? String(values[0]) : undefined;
  };
  return {
    rpc: err.rpc,
    grpc_code: STATUS_NAMES[err.code] ?? String(err.code),
    wx_error_code: first('wx-error-code'),
    error_reason: first('error-reason'),
    // Status messages never contain keys, tokens or plaintext (see the proto).
    detail: err.details,
  };
}

export function isRpcError(err) {
  return typeof err?.code === 'number' && typeof err?.rpc === 'string';
}
