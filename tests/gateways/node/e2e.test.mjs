// End-to-end test of the Node.js reference gateway (client/node).
//
// Starts the real wxcrypto-server (embedded demo config) and the gateway,
// then acts as WeChat: wxcrypto-cli seal-push encrypts and signs pushes
// exactly as WeChat does, the test POSTs them to the gateway, and
// wxcrypto-cli open-reply checks and decrypts the gateway's reply exactly as
// WeChat does.
//
// Environment (set by tests/gateways/node/CMakeLists.txt):
//   WXCRYPTO_SERVER  wxcrypto-server binary
//   WXCRYPTO_CLI     wxcrypto-cli binary
//   WXCRYPTO_SOURCE  the repository root
//
// Run by hand: WXCRYPTO_SERVER=... WXCRYPTO_CLI=... WXCRYPTO_SOURCE=. \
//   node --test tests/gateways/node/e2e.test.mjs
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see tests/gateways/node/CMakeLists.txt)`);
  return value;
}

const SERVER = requiredEnv('WXCRYPTO_SERVER');
const CLI = requiredEnv('WXCRYPTO_CLI');
const SOURCE = requiredEnv('WXCRYPTO_SOURCE');
const GATEWAY_MAIN = path.join(SOURCE, 'client/node/src/main.js');
const PROTO = path.join(SOURCE, 'proto/wxcrypto/v1/crypto_service.proto');

// The demo app of the embedded config (MODE_COMPATIBLE, receive id = app id).
const APP_ID = 'wxba5fad812f8e6fb9';
const TOKEN = 'AAAAA';
const KEY = 'A'.repeat(43);

const START_TIMEOUT_MS = 10_000;
const CLI_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_MS = 10_000;
const RPC_TIMEOUT_MS = 2_000; // the gateway's default, WeChat allows 5 s in all

const tmp = mkdtempSync(path.join(os.tmpdir(), 'wxcrypto-node-gw-'));

// ---------------------------------------------------------------------------
// Processes: every child is tracked and killed, also when a test fails.

const children = new Set();

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Spawns a long-running process whose stderr is JSON lines, and waits for
 * the line whose "msg" is `readyMsg`. Returns { child, ready, lines }.
 */
function startJsonLogging(command, args, readyMsg) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${path.basename(command)} not ready in ${START_TIMEOUT_MS} ms:\n${lines.join('\n')}`));
    }, START_TIMEOUT_MS);
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (data) => {
      pending += data;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        lines.push(line);
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === readyMsg) {
          clearTimeout(timer);
          resolve({ child, ready: entry, lines });
        }
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(command)} exited (${code ?? signal}) before "${readyMsg}":\n${lines.join('\n')}`));
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function startServer(extraArgs = []) {
  const { child, ready, lines } = await startJsonLogging(
    SERVER,
    ['--listen=127.0.0.1:0', '--metrics-listen=127.0.0.1:0', '--drain-seconds=0', ...extraArgs],
    'serving',
  );
  assert.ok(Number.isInteger(ready.grpc_port) && ready.grpc_port > 0, JSON.stringify(ready));
  return { child, lines, address: `127.0.0.1:${ready.grpc_port}` };
}

async function startGateway(wxcryptoAddr, extraArgs = []) {
  const { child, ready, lines } = await startJsonLogging(
    process.execPath,
    [GATEWAY_MAIN, '--listen=127.0.0.1:0', `--wxcrypto-addr=${wxcryptoAddr}`, `--proto=${PROTO}`, ...extraArgs],
    'listening',
  );
  return { child, lines, url: `http://127.0.0.1:${ready.port}` };
}

/** Runs a short command to completion, feeding `input` on stdin. */
function run(command, args, input = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(input);
  });
}

// ---------------------------------------------------------------------------
// WeChat's side, via wxcrypto-cli.

/** seal-push: {msg_signature, signature, timestamp, nonce, encrypt, body, query, ...}. */
async function sealPush(message, { format = 'xml', key = KEY, extra = [] } = {}) {
  const args = ['seal-push', '--token', TOKEN, '--encoding-aes-key', key, '--receive-id', APP_ID,
    '--format', format, '--openid', 'oUSER', '--message', message, ...extra];
  const result = await run(CLI, args);
  assert.equal(result.code, 0, `seal-push failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** open-reply: {format, message, timestamp, nonce, msg_signature, key_index}. */
async function openReply(body, { key = KEY, previousKeys = [] } = {}) {
  const args = ['open-reply', '--token', TOKEN, '--encoding-aes-key', key, '--receive-id', APP_ID,
    ...previousKeys.flatMap((k) => ['--previous-encoding-aes-key', k]), '--body-file', '-'];
  const result = await run(CLI, args, body);
  return { ok: result.code === 0, stderr: result.stderr, ...(result.code === 0 && JSON.parse(result.stdout)) };
}

function post(url, body, contentType = 'application/xml') {
  return fetch(url, {
    method: 'POST',
    body,
    headers: { 'Content-Type': contentType },
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
}

function get(url) {
  return fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
}

/** The JSON entries of a process's log lines (other lines are skipped). */
function logEntries(lines) {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** WeChat's URL-verification signature: sha1 of the sorted, joined strings. */
function urlSignature(token, timestamp, nonce) {
  return createHash('sha1').update([token, timestamp, nonce].sort().join('')).digest('hex');
}

/** The text of <Name> in a flat WeChat XML message (CDATA unwrapped). */
function xmlField(xml, name) {
  const match = new RegExp(`<${name}>(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))</${name}>`).exec(xml);
  return match ? (match[1] ?? match[2]) : undefined;
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));

/** A port on loopback where nothing listens (bound, then released). */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const CONTENT = 'hello 你好 <&> "quoted"';
const XML_TEXT = `<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1713424427</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${CONTENT}]]></Content><MsgId>24530000000000001</MsgId></xml>`;
const JSON_TEXT = JSON.stringify({
  ToUserName: 'gh_97417a04a28d',
  FromUserName: 'oUSER',
  CreateTime: 1713424427,
  MsgType: 'text',
  Content: CONTENT,
  MsgId: 24530000000001,
});

// ---------------------------------------------------------------------------

let server;
let gateway;

before(async () => {
  server = await startServer();
  gateway = await startGateway(server.address);
});

after(async () => {
  await Promise.all([...children].map(stop));
  rmSync(tmp, { recursive: true, force: true });
});

/** The gateway's log lines must never carry a body, a message or a signature. */
function assertLogsClean(lines, secrets) {
  const log = lines.join('\n');
  for (const secret of secrets) {
    assert.ok(!log.includes(secret), `gateway log contains ${JSON.stringify(secret.slice(0, 40))}`);
  }
}

describe('URL verification (GET)', { timeout: 30_000 }, () => {
  test('a correct signature echoes echostr as text/plain', async () => {
    const timestamp = nowSeconds();
    const nonce = '1234567890';
    const echostr = '5437268239123950122';
    const query = new URLSearchParams({ signature: urlSignature(TOKEN, timestamp, nonce), timestamp, nonce, echostr });
    const response = await get(`${gateway.url}/wechat/${APP_ID}?${query}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/plain/);
    assert.equal(await response.text(), echostr);
  });

  test('a wrong signature is 401', async () => {
    const timestamp = nowSeconds();
    const nonce = '1234567890';
    const query = new URLSearchParams({
      signature: urlSignature('WRONGTOKEN', timestamp, nonce), timestamp, nonce, echostr: '42',
    });
    const response = await get(`${gateway.url}/wechat/${APP_ID}?${query}`);
    assert.equal(response.status, 401);
    assert.notEqual(await response.text(), '42');
  });

  test('an unknown app is 404', async () => {
    const timestamp = nowSeconds();
    const nonce = '1';
    const query = new URLSearchParams({ signature: urlSignature(TOKEN, timestamp, nonce), timestamp, nonce, echostr: '42' });
    const response = await get(`${gateway.url}/wechat/wx0000000000000000?${query}`);
    assert.equal(response.status, 404);
  });
});

describe('encrypted pushes (POST)', { timeout: 60_000 }, () => {
  test('an XML text message gets an encrypted XML echo', async () => {
    const push = await sealPush(XML_TEXT, { format: 'xml' });
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, push.body);
    const body = await response.text();
    assert.equal(response.status, 200, body);
    assert.match(response.headers.get('content-type'), /^application\/xml/);

    const reply = await openReply(body);
    assert.ok(reply.ok, reply.stderr);
    assert.equal(reply.format, 'XML');
    assert.equal(reply.key_index, 0);
    assert.equal(xmlField(reply.message, 'MsgType'), 'text');
    assert.equal(xmlField(reply.message, 'Content'), `echo: ${CONTENT}`);
    assert.equal(xmlField(reply.message, 'ToUserName'), 'oUSER');
    assert.equal(xmlField(reply.message, 'FromUserName'), 'gh_97417a04a28d');
    assert.match(xmlField(reply.message, 'CreateTime'), /^\d+$/);
    assertLogsClean(gateway.lines, [CONTENT, push.encrypt, push.msg_signature, body]);
  });

  test('a JSON text message gets an encrypted JSON echo', async () => {
    const push = await sealPush(JSON_TEXT, { format: 'json' });
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, push.body, 'application/json');
    const body = await response.text();
    assert.equal(response.status, 200, body);
    assert.match(response.headers.get('content-type'), /^application\/json/);

    const reply = await openReply(body);
    assert.ok(reply.ok, reply.stderr);
    assert.equal(reply.format, 'JSON');
    const message = JSON.parse(reply.message);
    assert.equal(typeof message.CreateTime, 'number');
    delete message.CreateTime;
    assert.deepEqual(message, {
      ToUserName: 'oUSER',
      FromUserName: 'gh_97417a04a28d',
      MsgType: 'text',
      Content: `echo: ${CONTENT}`,
    });
  });

  test("a WeCom lowercase-JSON push is answered in WeCom's dialect", async () => {
    const push = await sealPush(JSON_TEXT, { format: 'json_lowercase' });
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, push.body, 'application/json');
    const body = await response.text();
    assert.equal(response.status, 200, body);

    const reply = await openReply(body);
    assert.ok(reply.ok, reply.stderr);
    assert.equal(reply.format, 'JSON_LOWERCASE');
    assert.equal(JSON.parse(reply.message).Content, `echo: ${CONTENT}`);
  });

  test('a non-text message gets an empty encrypted reply', async () => {
    const event = '<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1713424427</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>';
    const push = await sealPush(event);
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, push.body);
    const body = await response.text();
    assert.equal(response.status, 200, body);

    const reply = await openReply(body);
    assert.ok(reply.ok, reply.stderr);
    assert.equal(reply.message, '');
  });

  test('a tampered body is 401, logged with wx-error-code and error-reason', async () => {
    const push = await sealPush(XML_TEXT);
    const i = push.body.indexOf(push.encrypt) + 10;
    const flipped = push.body[i] === 'A' ? 'B' : 'A';
    const tampered = push.body.slice(0, i) + flipped + push.body.slice(i + 1);
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, tampered);
    assert.equal(response.status, 401);

    const failure = logEntries(gateway.lines).findLast((entry) => entry.msg === 'request failed');
    assert.equal(failure.http_status, 401);
    assert.equal(failure.grpc_code, 'UNAUTHENTICATED');
    assert.equal(failure.wx_error_code, '-40001');
    assert.equal(failure.error_reason, 'SIGNATURE_MISMATCH');
    assertLogsClean(gateway.lines, [CONTENT, push.encrypt, tampered]);
  });

  test('a push for an unknown app is 404', async () => {
    const push = await sealPush(XML_TEXT);
    const response = await post(`${gateway.url}/wechat/wx0000000000000000?${push.query}`, push.body);
    assert.equal(response.status, 404);
  });

  test('a body that is not an envelope is 400', async () => {
    const push = await sealPush(XML_TEXT);
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, 'not xml');
    assert.equal(response.status, 400);
  });

  test('a body over --max-body-bytes is 413, without calling wxcrypto', async () => {
    const push = await sealPush(XML_TEXT);
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${push.query}`, Buffer.alloc(1024 * 1024 + 1, 0x20));
    assert.equal(response.status, 413);
  });

  test('other methods are 405, other paths 404', async () => {
    const put = await fetch(`${gateway.url}/wechat/${APP_ID}`, { method: 'PUT', body: 'x', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST');
    assert.equal((await get(`${gateway.url}/elsewhere`)).status, 404);
    assert.equal((await get(`${gateway.url}/healthz`)).status, 200);
  });
});

describe('plaintext pushes (compatible mode)', { timeout: 30_000 }, () => {
  function plaintextQuery() {
    const timestamp = nowSeconds();
    const nonce = randomBytes(5).toString('hex');
    return new URLSearchParams({ signature: urlSignature(TOKEN, timestamp, nonce), timestamp, nonce, openid: 'oUSER' });
  }

  test('a plaintext XML text message gets a plaintext XML echo', async () => {
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${plaintextQuery()}`, XML_TEXT);
    const body = await response.text();
    assert.equal(response.status, 200, body);
    assert.match(response.headers.get('content-type'), /^application\/xml/);
    assert.equal(xmlField(body, 'Content'), `echo: ${CONTENT}`);
    assert.equal(xmlField(body, 'ToUserName'), 'oUSER');
  });

  test('a plaintext JSON text message gets a plaintext JSON echo', async () => {
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${plaintextQuery()}`, JSON_TEXT, 'application/json');
    const body = await response.text();
    assert.equal(response.status, 200, body);
    assert.match(response.headers.get('content-type'), /^application\/json/);
    assert.equal(JSON.parse(body).Content, `echo: ${CONTENT}`);
  });

  test('a plaintext message without a reply gets "success"', async () => {
    const event = '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUSER]]></FromUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>';
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${plaintextQuery()}`, event);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'success');
  });

  test('a plaintext push with a wrong signature is 401', async () => {
    const query = plaintextQuery();
    query.set('signature', '0'.repeat(40));
    const response = await post(`${gateway.url}/wechat/${APP_ID}?${query}`, XML_TEXT);
    assert.equal(response.status, 401);
  });
});

describe('EncodingAESKey rotation', { timeout: 30_000 }, () => {
  test('a push sealed with the previous key is answered with the previous key', async () => {
    const newKey = randomBytes(32).toString('base64').slice(0, 43);
    const config = path.join(tmp, 'rotation.json');
    writeFileSync(config, JSON.stringify({
      apps: [{
        app_id: APP_ID, token: TOKEN, encoding_aes_key: newKey,
        previous_encoding_aes_keys: [KEY], mode: 'MODE_COMPATIBLE',
      }],
    }));
    const rotating = await startServer([`--config=${config}`]);
    const gw = await startGateway(rotating.address);
    try {
      const push = await sealPush(XML_TEXT, { key: KEY }); // WeChat still uses the old key
      const response = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      const body = await response.text();
      assert.equal(response.status, 200, body);

      const reply = await openReply(body, { key: newKey, previousKeys: [KEY] });
      assert.ok(reply.ok, reply.stderr);
      assert.equal(reply.key_index, 1, 'the reply must be encrypted with the key that opened the push');
      assert.equal(xmlField(reply.message, 'Content'), `echo: ${CONTENT}`);
      assert.ok((await openReply(body, { key: KEY })).ok, 'WeChat, on the old key, opens the reply');
      assert.ok(!(await openReply(body, { key: newKey })).ok);

      const answered = logEntries(gw.lines).find((e) => e.msg === 'push answered');
      assert.equal(answered.key_index, 1);
    } finally {
      await stop(gw.child);
      await stop(rotating.child);
    }
  });
});

describe('wxcrypto unavailable', { timeout: 30_000 }, () => {
  test('wxcrypto down: 503 at once', async () => {
    const gw = await startGateway(`127.0.0.1:${await closedPort()}`);
    try {
      const push = await sealPush(XML_TEXT);
      const started = Date.now();
      const response = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      const elapsed = Date.now() - started;
      assert.equal(response.status, 503);
      assert.ok(elapsed < RPC_TIMEOUT_MS + 1_000, `took ${elapsed} ms`);
      const failure = logEntries(gw.lines).find((e) => e.msg === 'request failed');
      assert.equal(failure.grpc_code, 'UNAVAILABLE');
      assert.equal(failure.wx_error_code, undefined); // from gRPC, not from wxcrypto
    } finally {
      await stop(gw.child);
    }
  });

  test('wxcrypto hung: 503 when the deadline passes, inside WeChat\'s 5 s', async () => {
    // Accepts connections and never answers.
    const sockets = new Set();
    const blackhole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const gw = await startGateway(`127.0.0.1:${blackhole.address().port}`);
    try {
      const push = await sealPush(XML_TEXT);
      const started = Date.now();
      const response = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      const elapsed = Date.now() - started;
      assert.equal(response.status, 503);
      assert.ok(elapsed >= RPC_TIMEOUT_MS - 100 && elapsed < 4_500, `took ${elapsed} ms`);
      const failure = logEntries(gw.lines).find((e) => e.msg === 'request failed');
      assert.equal(failure.grpc_code, 'DEADLINE_EXCEEDED');
    } finally {
      await stop(gw.child);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackhole.close(resolve));
    }
  });

  test('wxcrypto stopped while the gateway runs: 503', async () => {
    const victim = await startServer();
    const gw = await startGateway(victim.address);
    try {
      const push = await sealPush(XML_TEXT);
      const ok = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();

      await stop(victim.child);
      const started = Date.now();
      const response = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      assert.equal(response.status, 503);
      assert.ok(Date.now() - started < RPC_TIMEOUT_MS + 1_000);
    } finally {
      await stop(gw.child);
    }
  });
});

describe('mutual TLS to wxcrypto', { timeout: 30_000 }, () => {
  const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

  /** A throwaway CA, a server cert for 127.0.0.1 and a client cert. */
  function makeCerts(dir) {
    const openssl = (...args) => {
      const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
      assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    for (const name of ['server', 'client']) {
      openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `${name}.pem`, '-days', '1', ...(name === 'server' ? ['-extfile', 'server.ext'] : []));
    }
    return (file) => path.join(dir, file);
  }

  test('the gateway talks mTLS to a TLS-only wxcrypto', { skip: !haveOpenssl && 'no openssl' }, async () => {
    const file = makeCerts(mkdtempSync(path.join(tmp, 'tls-')));
    const secure = await startServer([
      `--tls-cert=${file('server.pem')}`, `--tls-key=${file('server.key')}`, `--tls-client-ca=${file('ca.pem')}`,
    ]);
    const gw = await startGateway(secure.address, [
      `--wxcrypto-ca=${file('ca.pem')}`, `--wxcrypto-cert=${file('client.pem')}`, `--wxcrypto-key=${file('client.key')}`,
    ]);
    const anonymous = await startGateway(secure.address, [`--wxcrypto-ca=${file('ca.pem')}`]);
    try {
      const push = await sealPush(XML_TEXT);
      const response = await post(`${gw.url}/wechat/${APP_ID}?${push.query}`, push.body);
      const body = await response.text();
      assert.equal(response.status, 200, body);
      const reply = await openReply(body);
      assert.ok(reply.ok, reply.stderr);
      assert.equal(xmlField(reply.message, 'Content'), `echo: ${CONTENT}`);

      // Without a client certificate the server refuses the handshake.
      const refused = await post(`${anonymous.url}/wechat/${APP_ID}?${push.query}`, push.body);
      assert.equal(refused.status, 503);
    } finally {
      await Promise.all([stop(gw.child), stop(anonymous.child)]);
      await stop(secure.child);
    }
  });
});
