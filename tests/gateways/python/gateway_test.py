#!/usr/bin/env python3
"""End-to-end test of the Python reference gateway (client/python).

Runs the real wxcrypto-server on its embedded demo config, the gateway in
front of it, and drives the gateway over HTTP exactly as WeChat does:
`wxcrypto-cli seal-push` encrypts and signs each push, `wxcrypto-cli
open-reply` checks and decrypts each reply.

    gateway_test.py --server PATH --cli PATH --source REPO [unittest args]

Every process listens on 127.0.0.1 port 0 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

# Set by main().
ARGS: argparse.Namespace
STUBS_DIR = ""

# The embedded demo config: WeChat's documentation apps, MODE_COMPATIBLE.
APP, TOKEN, KEY = "wxba5fad812f8e6fb9", "AAAAA", "A" * 43
APP2, TOKEN2, KEY2 = ("wx2c2769f8efd9abc2", "spamtest",
                      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
OFFICIAL_ACCOUNT, USER = "gh_97417a04a28d", "oUser_4HkFHgS1q7oNHf3pu7Ci4zI"
# Characters a reply must survive: CDATA's terminator, XML and JSON
# specials, non-ASCII.
CONTENT = 'hello ]]> <b>&amp;</b> "quoted" \\ 你好'

START_TIMEOUT = 20  # seconds for a process to say it is serving
HTTP_TIMEOUT = 10   # seconds for any one HTTP request


class Process:
    """A child process; its stderr is collected line by line."""

    def __init__(self, name: str, argv: list[str], env: dict | None = None):
        self.name = name
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, env=env, text=True,
                                      encoding="utf-8", errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._proc.stderr:
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self._lines)

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match:
        """Returns the first match of `pattern` in a line of stderr."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self._proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"{self.name}: no line matching {pattern!r} "
                        f"(exit status {self._proc.poll()}); stderr:\n{self.output()}")
                self._cond.wait(min(left, 0.1))

    def kill(self) -> None:
        self._proc.kill()
        self._proc.wait(timeout=10)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._reader.join(timeout=10)
        self._proc.stderr.close()


def start_server(*flags: str) -> tuple[Process, int]:
    server = Process("wxcrypto-server", [
        ARGS.server, "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
        "--drain-seconds=0", "--shutdown-timeout-seconds=2", *flags])
    try:
        line = server.wait_for_line(r'"msg":"serving"').string
        return server, int(json.loads(line)["grpc_port"])
    except BaseException:
        server.stop()
        raise


def start_gateway(wxcrypto_addr: str) -> tuple[Process, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ in the source tree
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [STUBS_DIR, env.get("PYTHONPATH")]))
    gateway = Process("gateway", [
        sys.executable, os.path.join(ARGS.source, "client", "python", "gateway.py"),
        "--listen=127.0.0.1:0", f"--wxcrypto-addr={wxcrypto_addr}"], env=env)
    try:
        port = gateway.wait_for_line(r"listening on http://127\.0\.0\.1:(\d+)").group(1)
        return gateway, f"http://127.0.0.1:{port}"
    except BaseException:
        gateway.stop()
        raise


# No proxy, whatever the environment says: everything is on loopback.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: bytes | None = None,
         content_type: str = "application/xml") -> tuple[int, str, bytes]:
    """Returns (status, Content-Type, body)."""
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with _http.open(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers.get("Content-Type", ""), e.read()


def cli(*args: str, stdin: bytes = b"") -> dict:
    done = subprocess.run([ARGS.cli, *args], input=stdin, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"wxcrypto-cli {args[0]} failed ({done.returncode}): "
                             f"{done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def seal_push(message: str, fmt: str = "xml", app: str = APP, token: str = TOKEN,
              key: str = KEY) -> dict:
    """WeChat's side: the encrypted push (body) and its query string."""
    return cli("seal-push", "--token", token, "--encoding-aes-key", key, "--receive-id", app,
               "--format", fmt, "--to-user-name", OFFICIAL_ACCOUNT, "--openid", USER,
               "--message-file", "-", stdin=message.encode("utf-8"))


def open_reply(body: bytes, app: str = APP, token: str = TOKEN, key: str = KEY) -> dict:
    """WeChat's side: verifies and decrypts the gateway's reply."""
    return cli("open-reply", "--token", token, "--encoding-aes-key", key, "--receive-id", app,
               "--body-file", "-", stdin=body)


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_message(fmt: str, content: str = CONTENT, msg_type: str = "text") -> str:
    fields = {"ToUserName": OFFICIAL_ACCOUNT, "FromUserName": USER, "CreateTime": 1713424427,
              "MsgType": msg_type, "Content": content, "MsgId": 24471295851392734}
    if msg_type != "text":
        del fields["Content"], fields["MsgId"]
        fields["Event"] = "subscribe"
    if fmt != "xml":
        return json.dumps(fields, ensure_ascii=False)
    return "<xml>" + "".join(
        f"<{k}>{v if isinstance(v, int) else cdata(v)}</{k}>" for k, v in fields.items()
    ) + "</xml>"


def parse_reply(fmt: str, message: str) -> dict:
    if fmt == "xml":
        return {child.tag: child.text or "" for child in ET.fromstring(message)}
    return json.loads(message)


def url_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayTest(unittest.TestCase):
    """The gateway in front of a server with the embedded demo config."""

    @classmethod
    def setUpClass(cls):
        cls.server, port = start_server()
        try:
            cls.gateway, cls.base = start_gateway(f"127.0.0.1:{port}")
        except BaseException:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.gateway.stop()
        finally:
            cls.server.stop()

    def url(self, app: str, query: str | dict) -> str:
        if isinstance(query, dict):
            query = urllib.parse.urlencode(query)
        return f"{self.base}/wechat/{app}?{query}"

    def post_push(self, push: dict, app: str = APP, body: bytes | None = None):
        content_type = "application/xml" if push["format"] == "XML" else "application/json"
        return http("POST", self.url(app, push["query"]),
                    push["body"].encode() if body is None else body, content_type)

    def assert_echo(self, fmt: str, message: str, content: str = CONTENT) -> None:
        reply = parse_reply(fmt, message)
        self.assertEqual(reply["ToUserName"], USER)
        self.assertEqual(reply["FromUserName"], OFFICIAL_ACCOUNT)
        self.assertEqual(reply["MsgType"], "text")
        self.assertEqual(reply["Content"], "echo: " + content)
        self.assertLess(abs(int(reply["CreateTime"]) - time.time()), 300)

    # URL verification (GET).

    def test_url_verification_returns_echostr(self):
        timestamp, nonce, echostr = str(int(time.time())), "1514711492", "4872398115728916583"
        status, content_type, body = http("GET", self.url(APP, {
            "signature": url_signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, "echostr": echostr}))
        self.assertEqual(status, 200, body)
        self.assertTrue(content_type.startswith("text/plain"), content_type)
        self.assertEqual(body, echostr.encode())

    def test_url_verification_with_wrong_signature_is_401(self):
        timestamp, nonce = str(int(time.time())), "1514711492"
        status, _, _ = http("GET", self.url(APP, {
            "signature": url_signature("wrongtoken", timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, "echostr": "4872398115728916583"}))
        self.assertEqual(status, 401)

    def test_url_verification_of_unknown_app_is_404(self):
        timestamp, nonce = str(int(time.time())), "1514711492"
        status, _, _ = http("GET", self.url("wx0000000000000000", {
            "signature": url_signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, "echostr": "1"}))
        self.assertEqual(status, 404)

    # Encrypted pushes (POST).

    def test_text_push_is_echoed_encrypted_in_its_dialect(self):
        for fmt, wire_format, content_type in [("xml", "XML", "application/xml"),
                                               ("json", "JSON", "application/json"),
                                               ("json_lowercase", "JSON_LOWERCASE",
                                                "application/json")]:
            with self.subTest(format=fmt):
                push = seal_push(text_message(fmt), fmt)
                status, reply_type, body = self.post_push(push)
                self.assertEqual(status, 200, body)
                self.assertEqual(reply_type, content_type)
                opened = open_reply(body)
                self.assertEqual(opened["format"], wire_format)
                self.assertEqual(opened["key_index"], 0)
                self.assertNotIn("echo: ", body.decode())  # encrypted, not plain
                self.assert_echo("xml" if fmt == "xml" else "json", opened["message"])

    def test_second_app_uses_its_own_keys(self):
        push = seal_push(text_message("xml", "hi"), app=APP2, token=TOKEN2, key=KEY2)
        status, _, body = self.post_push(push, app=APP2)
        self.assertEqual(status, 200, body)
        self.assert_echo("xml", open_reply(body, APP2, TOKEN2, KEY2)["message"], "hi")
        # The same push sent to the other app fails its signature check.
        status, _, _ = self.post_push(push, app=APP)
        self.assertEqual(status, 401)

    def test_event_push_gets_an_empty_encrypted_reply(self):
        for fmt in ("xml", "json"):
            with self.subTest(format=fmt):
                push = seal_push(text_message(fmt, msg_type="event"), fmt)
                status, _, body = self.post_push(push)
                self.assertEqual(status, 200, body)
                self.assertEqual(open_reply(body)["message"], "")

    def test_tampered_body_is_401(self):
        push = seal_push(text_message("xml"))
        encrypt = push["encrypt"]
        flipped = encrypt[:10] + ("B" if encrypt[10] != "B" else "C") + encrypt[11:]
        status, _, _ = self.post_push(push, body=push["body"].replace(encrypt, flipped).encode())
        self.assertEqual(status, 401)

    def test_missing_msg_signature_is_401(self):
        push = seal_push(text_message("xml"))
        query = re.sub(r"&msg_signature=[^&]*", "", push["query"])
        status, _, _ = http("POST", self.url(APP, query), push["body"].encode())
        self.assertEqual(status, 401)

    def test_unknown_app_is_404(self):
        status, _, _ = self.post_push(seal_push(text_message("xml")), app="wx0000000000000000")
        self.assertEqual(status, 404)

    def test_body_that_is_no_envelope_is_400(self):
        push = seal_push(text_message("xml"))
        status, _, _ = self.post_push(push, body=b"not an envelope")
        self.assertEqual(status, 400)

    def test_oversized_body_is_413(self):
        query = seal_push(text_message("xml"))["query"]
        # At the gateway's 1 MiB limit (aiohttp refuses it); just under it,
        # over wxcrypto's, as the RPC carries more than the body
        # (REQUEST_TOO_LARGE).
        for size in (1024 * 1024, 1024 * 1024 - 64):
            with self.subTest(size=size):
                status, _, _ = http("POST", self.url(APP, query), b"x" * size)
                self.assertEqual(status, 413)
        self.gateway.wait_for_line(r"error-reason=REQUEST_TOO_LARGE .*-> HTTP 413")

    def test_errors_are_logged_with_metadata_and_without_the_body(self):
        push = seal_push(text_message("xml", "secret words 7f3a"))
        self.post_push(push, body=push["body"].replace("<Encrypt>", "<Encrypt>x").encode())
        self.gateway.wait_for_line(
            r"DecryptPush failed: app_id='wxba5fad812f8e6fb9' grpc-status=UNAUTHENTICATED "
            r"wx-error-code=-40001 error-reason=SIGNATURE_MISMATCH .*-> HTTP 401")
        log = self.gateway.output()
        self.assertNotIn("secret words", log)
        self.assertNotIn(push["encrypt"][:40], log)
        self.assertNotIn(USER, log)  # nor query strings (openid)

    # Plaintext pushes (compatible mode accepts them).

    def test_plaintext_push_gets_a_plaintext_reply(self):
        timestamp, nonce = str(int(time.time())), "2025062913"
        query = {"signature": url_signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": USER}
        status, content_type, body = http("POST", self.url(APP, query),
                                          text_message("xml").encode("utf-8"))
        self.assertEqual(status, 200, body)
        self.assertEqual(content_type, "application/xml")
        self.assert_echo("xml", body.decode("utf-8"))

        status, _, body = http("POST", self.url(APP, query),
                               text_message("xml", msg_type="event").encode())
        self.assertEqual((status, body), (200, b"success"))

        query["signature"] = url_signature("wrongtoken", timestamp, nonce)
        status, _, _ = http("POST", self.url(APP, query), text_message("xml").encode())
        self.assertEqual(status, 401)

    def test_healthz(self):
        self.assertEqual(http("GET", self.base + "/healthz")[:1], (200,))


class KeyRotationTest(unittest.TestCase):
    """Mid-rotation, the reply must use the key that opened the push."""

    OLD_KEY, NEW_KEY = KEY, KEY2

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="wxcrypto-py-gateway-")
        config = os.path.join(cls.dir.name, "config.json")
        with open(config, "w") as f:
            json.dump({"apps": [{"app_id": APP, "token": TOKEN, "mode": "MODE_SECURE",
                                 "encoding_aes_key": cls.NEW_KEY,
                                 "previous_encoding_aes_keys": [cls.OLD_KEY]}]}, f)
        cls.server = cls.gateway = None
        try:
            cls.server, port = start_server(f"--config={config}")
            cls.gateway, cls.base = start_gateway(f"127.0.0.1:{port}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for process in (cls.gateway, cls.server):
                if process:
                    process.stop()
        finally:
            cls.dir.cleanup()

    def test_reply_uses_the_key_of_the_push(self):
        for key, key_index in [(self.NEW_KEY, 0), (self.OLD_KEY, 1)]:
            with self.subTest(key_index=key_index):
                push = seal_push(text_message("xml"), key=key)
                status, _, body = http("POST", f"{self.base}/wechat/{APP}?{push['query']}",
                                       push["body"].encode())
                self.assertEqual(status, 200, body)
                # WeChat knows both keys; the reply must be in the push's.
                opened = cli("open-reply", "--token", TOKEN, "--receive-id", APP,
                             "--encoding-aes-key", self.NEW_KEY,
                             "--previous-encoding-aes-key", self.OLD_KEY,
                             "--body-file", "-", stdin=body)
                self.assertEqual(opened["key_index"], key_index)
                self.assertIn("echo: ", opened["message"])

    def test_secure_mode_refuses_plaintext_with_400(self):
        timestamp, nonce = str(int(time.time())), "2025062913"
        query = urllib.parse.urlencode({"signature": url_signature(TOKEN, timestamp, nonce),
                                        "timestamp": timestamp, "nonce": nonce})
        status, _, _ = http("POST", f"{self.base}/wechat/{APP}?{query}",
                            text_message("xml").encode())
        self.assertEqual(status, 400)


class WxcryptoDownTest(unittest.TestCase):
    """No usable wxcrypto: 503 (WeChat retries), well within WeChat's 5 s."""

    def assert_503_in_time(self, base: str, at_least: float = 0.0) -> None:
        push = seal_push(text_message("xml"))
        for method, url, body in [
                ("POST", f"{base}/wechat/{APP}?{push['query']}", push["body"].encode()),
                ("GET", f"{base}/wechat/{APP}?signature=x&timestamp=1&nonce=2&echostr=3", None)]:
            with self.subTest(method=method):
                started = time.monotonic()
                status, _, _ = http(method, url, body)
                elapsed = time.monotonic() - started
                self.assertEqual(status, 503)
                self.assertLess(elapsed, 4.5)  # the gateway's budget is 4 s
                self.assertGreaterEqual(elapsed, at_least)

    def test_nothing_listening(self):
        gateway, base = start_gateway(f"127.0.0.1:{free_port()}")
        try:
            self.assert_503_in_time(base)
        finally:
            gateway.stop()

    def test_server_killed_after_serving(self):
        server, port = start_server()
        gateway = None
        try:
            gateway, base = start_gateway(f"127.0.0.1:{port}")
            push = seal_push(text_message("xml"))
            status, _, _ = http("POST", f"{base}/wechat/{APP}?{push['query']}",
                                push["body"].encode())
            self.assertEqual(status, 200)
            server.kill()
            self.assert_503_in_time(base)
        finally:
            if gateway:
                gateway.stop()
            server.stop()

    def test_server_that_never_answers_hits_the_deadline(self):
        # Accepts TCP connections (the kernel does) but never speaks HTTP/2.
        with socket.socket() as blackhole:
            blackhole.bind(("127.0.0.1", 0))
            blackhole.listen(16)
            gateway, base = start_gateway(f"127.0.0.1:{blackhole.getsockname()[1]}")
            try:
                self.assert_503_in_time(base, at_least=1.5)  # the 2 s RPC deadline
            finally:
                gateway.stop()


class InProcessTest(unittest.IsolatedAsyncioTestCase):
    """gateway.make_app() with a handler of the test's: how a team tests its own."""

    @classmethod
    def setUpClass(cls):
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        sys.path[:0] = [STUBS_DIR, os.path.join(ARGS.source, "client", "python")]
        cls.gateway = importlib.import_module("gateway")
        cls.server, cls.port = start_server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    async def post_push(self, handle, *flags: str) -> tuple[int, bytes, float]:
        from aiohttp.test_utils import TestClient, TestServer

        cfg = self.gateway.parse_args([f"--wxcrypto-addr=127.0.0.1:{self.port}", *flags])
        push = seal_push(text_message("xml"))
        async with TestClient(TestServer(self.gateway.make_app(cfg, handle))) as client:
            started = time.monotonic()
            response = await client.post(f"/wechat/{APP}?{push['query']}",
                                         data=push["body"].encode())
            return response.status, await response.read(), time.monotonic() - started

    async def test_handler_gets_the_decrypted_push(self):
        pushes = []

        reply = "<xml><Content><![CDATA[ok]]></Content></xml>"

        async def handle(push):
            pushes.append(push)
            return reply.encode()

        status, body, _ = await self.post_push(handle)
        self.assertEqual(status, 200, body)
        self.assertEqual(open_reply(body)["message"], reply)
        (push,) = pushes
        self.assertEqual((push.app_id, push.encrypted, push.is_json), (APP, True, False))
        self.assertEqual(push.fields["Content"], CONTENT)
        self.assertEqual(push.message.decode("utf-8"), text_message("xml"))

    async def test_slow_handler_is_answered_success_within_the_budget(self):
        async def slow(push):
            await asyncio.sleep(30)
            return b""

        with self.assertLogs("gateway", "WARNING") as logs:
            status, body, elapsed = await self.post_push(slow, "--budget=2", "--rpc-timeout=1")
        self.assertEqual((status, body), (200, b"success"))
        self.assertLess(elapsed, 2.5)
        self.assertIn("handler too slow", logs.output[0])


def main() -> int:
    global ARGS, STUBS_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the wxcrypto-server binary")
    parser.add_argument("--cli", required=True, help="the wxcrypto-cli binary")
    parser.add_argument("--source", required=True, help="the repository's root")
    ARGS, unittest_args = parser.parse_known_args()
    try:
        for module in ("aiohttp", "google.protobuf", "grpc"):
            importlib.import_module(module)
    except ImportError as e:
        print(f"{sys.executable} lacks a gateway dependency ({e}): install python3-grpcio, "
              "python3-protobuf and python3-aiohttp (scripts/install-deps.sh --test)",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="wxcrypto-py-stubs-") as stubs:
        subprocess.run([os.path.join(ARGS.source, "client", "python", "generate.sh"), stubs],
                       check=True, timeout=60)
        STUBS_DIR = stubs
        result = unittest.main(argv=[sys.argv[0], *unittest_args], exit=False).result
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
