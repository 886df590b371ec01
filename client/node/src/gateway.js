// The WeChat webhook gateway: an http.Server that terminates WeChat's
// callbacks and leaves every signature and cipher to wxcrypto.
//
//   GET  /wechat/<app_id>?signature=&timestamp=&nonce=&echostr=[&msg_signature=]
//        URL verification -> VerifyUrl -> 200, echostr as text/plain.
//   POST /wechat/<app_id>?signature=&timestamp=&nonce=[&openid=][&encrypt_type=aes&msg_signature=]
//        a push -> DecryptPush -> handler -> BuildEncryptedReply -> 200, the
//        reply envelope (or, for a plaintext push, the plaintext reply or
//        "success").
//   GET  /healthz  -> 200 "ok" (the process is up; wxcrypto is not called).
//
// Failures are answered with an HTTP status chosen by httpStatusFor() and a
// short text body; the details (wx-error-code, error-reason) go to the log.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

import { echoHandler } from './echo.js';
import { jsonLogger } from './log.js';
import { describeRpcError, httpStatusFor, isRpcError } from './wxcrypto.js';

const ROUTE = /^\/wechat\/([^/]+)$/;
const TEXT = 'text/plain; charset=utf-8';

class HttpError extends Error {
  constructor(status, reason, { close = false } = {}) {
    super(reason);
    this.status = status;
    this.close = close;
  }
}

/**
 * @param {object} options
 * @param {ReturnType<import('./wxcrypto.js').createCryptoClient>} options.crypto  the shared client
 * @param {Function} [options.handler]  the business handler (see echo.js)
 * @param {number} [options.maxBodyBytes]  larger POST bodies get 413
 * @param {object} [options.logger]
 * @returns {http.Server}
 */
export function createGateway({
  crypto,
  handler = echoHandler,
  maxBodyBytes = 1024 * 1024,
  logger = jsonLogger(),
}) {
  async function serve(req, res, ctx) {
    const url = new URL(req.url, 'http://gateway.invalid');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      send(res, 200, TEXT, 'ok');
      return;
    }
    const match = ROUTE.exec(url.pathname);
    if (!match) throw new HttpError(404, 'no such route');
    const appId = decodeSegment(match[1]);
    ctx.log.app_id = appId;
    // Query parameters as received (URL-decoded); a missing one is "".
    const q = (name) => url.searchParams.get(name) ?? '';

    if (req.method === 'GET') {
      const { echostr } = await crypto.verifyUrl({
        app_id: appId,
        signature: q('signature'),
        msg_signature: q('msg_signature'),
        timestamp: q('timestamp'),
        nonce: q('nonce'),
        echostr: q('echostr'),
      });
      send(res, 200, TEXT, echostr);
      logger.info('url verified', { ...ctx.log, duration_ms: elapsed(ctx) });
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'GET, POST');
      throw new HttpError(405, 'method not allowed');
    }

    const body = await readBody(req, maxBodyBytes);
    const push = await crypto.decryptPush({
      app_id: appId,
      msg_signature: q('msg_signature'),
      signature: q('signature'),
      timestamp: q('timestamp'),
      nonce: q('nonce'),
      encrypt_type: q('encrypt_type'),
      body, // the bytes WeChat sent, unchanged
    });
    const format = dialectOf(push.message, push.envelope_format);
    const reply = await handler({
      appId,
      message: push.message,
      fields: push.fields,
      format,
      openid: q('openid'),
    });
    const replyBytes = reply == null ? Buffer.alloc(0) : Buffer.from(reply);

    if (push.encrypted) {
      // Same dialect, same key as the push: during an EncodingAESKey rotation
      // WeChat can only open a reply encrypted with the key it used.
      const built = await crypto.buildEncryptedReply({
        app_id: appId,
        message: replyBytes,
        envelope_format: push.envelope_format,
        key_index: push.key_index,
      });
      send(res, 200, built.content_type, built.body);
    } else if (replyBytes.length > 0) {
      send(res, 200, format === 'json' ? 'application/json' : 'application/xml', replyBytes);
    } else {
      send(res, 200, TEXT, 'success'); // WeChat's "no reply"
    }
    logger.info('push answered', {
      ...ctx.log,
      encrypted: push.encrypted,
      envelope_format: push.envelope_format,
      key_index: push.key_index,
      replied: replyBytes.length > 0,
      duration_ms: elapsed(ctx),
    });
  }

  function fail(res, err, ctx) {
    let status;
    let fields;
    if (isRpcError(err)) {
      status = httpStatusFor(err.code);
      fields = describeRpcError(err);
    } else if (err instanceof HttpError) {
      status = err.status;
      fields = { reason: err.message };
    } else {
      status = 500;
      fields = { error: err instanceof Error ? err.stack : String(err) };
    }
    logger[status >= 500 ? 'error' : 'warn']('request failed', {
      ...ctx.log,
      http_status: status,
      ...fields,
      duration_ms: elapsed(ctx),
    });
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError && err.close) res.setHeader('Connection', 'close');
    send(res, status, TEXT, http.STATUS_CODES[status] ?? 'Error');
  }

  const server = http.createServer((req, res) => {
    // ctx.log: the fields of this request's log line, filled in as known.
    const ctx = { started: performance.now(), log: { method: req.method } };
    serve(req, res, ctx).catch((err) => fail(res, err, ctx));
  });
  // WeChat gives up after 5 s; nothing legitimate takes longer than this.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  return server;
}

function send(res, status, contentType, body) {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function elapsed(ctx) {
  return Math.round(performance.now() - ctx.started);
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(404, 'bad app id in path');
  }
}

/** Reads the whole body as a Buffer; 413 beyond `limit` bytes. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, 'body too large', { close: true });
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      reject(tooLarge());
      return;
    }
    const chunks = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // discard the rest; the connection closes after the 413
        reject(tooLarge());
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new HttpError(400, 'client closed the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** 'xml' or 'json': the dialect of a decrypted message, by its first byte. */
function dialectOf(message, envelopeFormat) {
  for (const byte of message) {
    if (byte === 0x3c) return 'xml'; // <
    if (byte === 0x7b) return 'json'; // {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) break;
  }
  return envelopeFormat === 'ENVELOPE_FORMAT_XML' ? 'xml' : 'json';
}
