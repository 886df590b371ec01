#!/usr/bin/env node
// Entry point: configuration from flags (or the environment), one shared
// wxcrypto client, one HTTP server, graceful shutdown on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { createGateway } from './gateway.js';
import { jsonLogger } from './log.js';
import { DEFAULT_PROTO_PATH, createCryptoClient, tlsCredentials } from './wxcrypto.js';

const USAGE = `Usage: node src/main.js [options]

  --listen [HOST:]PORT      where to serve HTTP            (GATEWAY_LISTEN, default 127.0.0.1:8080;
                            PORT alone is 127.0.0.1:PORT, 0.0.0.0:PORT is every interface;
                            port 0 picks a free port, logged in the "listening" line)
  --wxcrypto-addr HOST:PORT the wxcrypto gRPC server       (WXCRYPTO_ADDR, default 127.0.0.1:50051)
  --proto FILE              crypto_service.proto           (WXCRYPTO_PROTO, default: the repository's)
  --rpc-timeout-ms MS       deadline of each gRPC call     (WXCRYPTO_RPC_TIMEOUT_MS, default 2000)
  --max-body-bytes N        larger POST bodies get 413     (GATEWAY_MAX_BODY_BYTES, default 1048576)
  --wxcrypto-ca FILE        PEM CA: talk TLS to wxcrypto   (WXCRYPTO_CA)
  --wxcrypto-cert FILE      PEM client certificate (mTLS)  (WXCRYPTO_CERT)
  --wxcrypto-key FILE       PEM client key (mTLS)          (WXCRYPTO_KEY)
  --log-level LEVEL         debug, info, warn, error       (GATEWAY_LOG_LEVEL, default info)
  --help
`;

const OPTIONS = {
  listen: { env: 'GATEWAY_LISTEN', default: '127.0.0.1:8080' },
  'wxcrypto-addr': { env: 'WXCRYPTO_ADDR', default: '127.0.0.1:50051' },
  proto: { env: 'WXCRYPTO_PROTO', default: DEFAULT_PROTO_PATH },
  'rpc-timeout-ms': { env: 'WXCRYPTO_RPC_TIMEOUT_MS', default: '2000' },
  'max-body-bytes': { env: 'GATEWAY_MAX_BODY_BYTES', default: '1048576' },
  'wxcrypto-ca': { env: 'WXCRYPTO_CA' },
  'wxcrypto-cert': { env: 'WXCRYPTO_CERT' },
  'wxcrypto-key': { env: 'WXCRYPTO_KEY' },
  'log-level': { env: 'GATEWAY_LOG_LEVEL', default: 'info' },
};

function die(message) {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function loadConfig(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' }])),
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    die(err.message);
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  // Flag, else environment variable, else default.
  const config = {};
  for (const [name, spec] of Object.entries(OPTIONS)) {
    config[name] = parsed[name] ?? (env[spec.env] || undefined) ?? spec.default;
  }
  const positive = (name) => {
    const value = Number(config[name]);
    if (!Number.isInteger(value) || value <= 0) die(`--${name} must be a positive integer`);
    return value;
  };
  // "[::1]:8080", "0.0.0.0:8080", or "8080" (= 127.0.0.1:8080).
  const listen = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$|^(\d+)$/.exec(config.listen);
  if (!listen) die('--listen must be [HOST:]PORT');
  if (config['wxcrypto-cert'] && !config['wxcrypto-key']) die('--wxcrypto-cert needs --wxcrypto-key');
  return {
    host: listen[1] ?? listen[2] ?? '127.0.0.1',
    port: Number(listen[3] ?? listen[4]),
    wxcryptoAddr: config['wxcrypto-addr'],
    protoPath: config.proto,
    rpcTimeoutMs: positive('rpc-timeout-ms'),
    maxBodyBytes: positive('max-body-bytes'),
    ca: config['wxcrypto-ca'],
    cert: config['wxcrypto-cert'],
    key: config['wxcrypto-key'],
    logLevel: config['log-level'],
  };
}

const config = loadConfig(process.argv.slice(2), process.env);
const logger = jsonLogger({ level: config.logLevel });

const useTls = Boolean(config.ca || config.cert);
const crypto = createCryptoClient({
  address: config.wxcryptoAddr,
  protoPath: config.protoPath,
  timeoutMs: config.rpcTimeoutMs,
  ...(useTls && {
    credentials: tlsCredentials({
      ca: config.ca && readFileSync(config.ca),
      cert: config.cert && readFileSync(config.cert),
      key: config.key && readFileSync(config.key),
    }),
  }),
});
const server = createGateway({ crypto, maxBodyBytes: config.maxBodyBytes, logger });

server.on('error', (err) => {
  logger.error('cannot serve', { error: err.message });
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  const { address, port } = server.address();
  logger.info('listening', {
    host: address,
    port,
    wxcrypto_addr: config.wxcryptoAddr,
    tls: useTls,
    rpc_timeout_ms: config.rpcTimeoutMs,
  });
});

function shutdown(signal) {
  logger.info('shutting down', { signal });
  // Finish the requests in flight (each is bounded by the RPC deadlines),
  // then close the channel; the process exits when nothing is left.
  server.close(() => crypto.close());
  server.closeIdleConnections();
  setTimeout(() => process.exit(1), 10_000).unref();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
