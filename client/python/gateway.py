#!/usr/bin/env python3
"""Reference WeChat webhook gateway in front of wxcrypto.

WeChat calls  GET  /wechat/<app_id>?signature=&timestamp=&nonce=&echostr=
                   (URL verification, WeCom adds msg_signature)
              POST /wechat/<app_id>?signature=&timestamp=&nonce=[&openid=]
                   &encrypt_type=aes&msg_signature=   (a push)
The gateway holds no key or token: wxcrypto verifies and decrypts the push,
handler.handle() decides the reply, and wxcrypto encrypts it with the key
that opened the push.

    PYTHONPATH=gen python3 gateway.py --listen 127.0.0.1:8080 \
        --wxcrypto-addr 127.0.0.1:50051

gRPC status -> HTTP status (see STATUS_TO_HTTP):
    UNAUTHENTICATED                                 401  bad/missing signature
    NOT_FOUND                                       404  app_id not configured
    INVALID_ARGUMENT, FAILED_PRECONDITION           400  malformed push
    RESOURCE_EXHAUSTED, UNAVAILABLE,
    DEADLINE_EXCEEDED (or budget spent)             503  WeChat retries
    RESOURCE_EXHAUSTED with REQUEST_TOO_LARGE       413  retrying cannot help
    anything else                                   500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from http import HTTPStatus

import grpc
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from handler import Push, handle as echo_handle

try:
    from wxcrypto.v1 import crypto_service_pb2 as pb
    from wxcrypto.v1 import crypto_service_pb2_grpc as pb_grpc
except ImportError as e:  # pragma: no cover
    raise SystemExit(
        f"gateway: cannot import the generated wxcrypto stubs ({e}); run "
        "'client/python/generate.sh OUTDIR' and put OUTDIR on PYTHONPATH"
    ) from e

log = logging.getLogger("gateway")

STATUS_TO_HTTP = {
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    # Transient: a 5xx makes WeChat retry the push (up to three times).
    grpc.StatusCode.RESOURCE_EXHAUSTED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}
# error-reason is finer than the status code; it wins where it matters.
REASON_TO_HTTP = {"REQUEST_TOO_LARGE": 413}

# One channel for the whole process. round_robin spreads calls over every
# address the name resolves to (e.g. a headless Kubernetes Service); a call
# refused with UNAVAILABLE (a replica draining for shutdown, a connection
# that just dropped) is retried on another one. Every RPC is idempotent.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": "wxcrypto.v1.CryptoService"}],
        "retryPolicy": {
            "maxAttempts": 3,
            "initialBackoff": "0.05s",
            "maxBackoff": "0.5s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
}
CHANNEL_OPTIONS = [
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ("grpc.enable_retries", 1),
]

# aiohttp answers 413 to a body this large or larger; wxcrypto's default
# --max-request-bytes is 1 MiB for the whole RPC (REQUEST_TOO_LARGE, 413).
MAX_BODY_BYTES = 1024 * 1024


class WxcryptoError(Exception):
    """A failed wxcrypto call, or one not made because the budget ran out."""

    def __init__(self, rpc: str, code: grpc.StatusCode, wx_error_code: str = "",
                 error_reason: str = "", details: str = ""):
        super().__init__(f"{rpc}: {code.name}")
        self.rpc = rpc
        self.code = code
        self.wx_error_code = wx_error_code
        self.error_reason = error_reason
        self.details = details

    @property
    def http_status(self) -> int:
        return REASON_TO_HTTP.get(self.error_reason) or STATUS_TO_HTTP.get(self.code, 500)


class Budget:
    """WeChat waits 5 s for the whole answer: every step gets what is left."""

    def __init__(self, total: float, per_rpc: float):
        self._deadline = time.monotonic() + total
        self._per_rpc = per_rpc

    def left(self) -> float:
        return self._deadline - time.monotonic()

    async def call(self, rpc: str, method, request):
        """Calls a wxcrypto RPC with a deadline; raises WxcryptoError."""
        timeout = min(self._per_rpc, self.left())
        if timeout <= 0:
            raise WxcryptoError(rpc, grpc.StatusCode.DEADLINE_EXCEEDED,
                                details="gateway budget spent")
        try:
            return await method(request, timeout=timeout)
        except grpc.aio.AioRpcError as e:
            # wx-error-code and error-reason come from wxcrypto; a status
            # without them comes from gRPC itself (connection refused, deadline).
            trailers = e.trailing_metadata() or ()
            meta = {k: v for k, v in trailers if isinstance(v, str)}
            raise WxcryptoError(rpc, e.code(), meta.get("wx-error-code", ""),
                                meta.get("error-reason", ""), e.details() or "") from None


@web.middleware
async def wxcrypto_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except WxcryptoError as e:
        status = e.http_status
        # Never log the body or the message. Status details never hold secrets;
        # app_id comes from the URL, hence %r.
        log.warning(
            "%s failed: app_id=%r grpc-status=%s wx-error-code=%s error-reason=%s "
            "details=%r -> HTTP %d", e.rpc, request.match_info.get("app_id", "?"),
            e.code.name, e.wx_error_code or "-", e.error_reason or "-", e.details, status)
        return web.Response(status=status, text=HTTPStatus(status).phrase)


async def verify_url(request: web.Request) -> web.Response:
    """GET: WeChat checks that the URL belongs to us."""
    cfg = request.app["config"]
    q = request.query
    response = await Budget(cfg.budget, cfg.rpc_timeout).call(
        "VerifyUrl", request.app["wxcrypto"].VerifyUrl,
        pb.VerifyUrlRequest(
            app_id=request.match_info["app_id"],
            signature=q.get("signature", ""),
            msg_signature=q.get("msg_signature", ""),
            timestamp=q.get("timestamp", ""),
            nonce=q.get("nonce", ""),
            echostr=q.get("echostr", ""),
        ))
    return web.Response(text=response.echostr, content_type="text/plain")


async def push(request: web.Request) -> web.Response:
    """POST: a message or event. Decrypt, handle, encrypt the reply."""
    cfg = request.app["config"]
    budget = Budget(cfg.budget, cfg.rpc_timeout)
    wxcrypto = request.app["wxcrypto"]
    app_id = request.match_info["app_id"]
    q = request.query
    body = await request.read()  # bytes, unchanged: the signature covers them

    decrypted = await budget.call("DecryptPush", wxcrypto.DecryptPush, pb.DecryptPushRequest(
        app_id=app_id,
        msg_signature=q.get("msg_signature", ""),
        signature=q.get("signature", ""),
        timestamp=q.get("timestamp", ""),
        nonce=q.get("nonce", ""),
        encrypt_type=q.get("encrypt_type", ""),
        body=body,
    ))

    message = Push(app_id=app_id, message=decrypted.message,
                    fields=dict(decrypted.fields), encrypted=decrypted.encrypted)
    try:
        # Keep a little of the budget for encrypting the reply.
        reply = await asyncio.wait_for(request.app["handler"](message),
                                       timeout=max(budget.left() - cfg.rpc_timeout / 2, 0))
    except asyncio.TimeoutError:
        # Too late for a passive reply: acknowledge, so that WeChat neither
        # retries nor tells the user the service is down.
        log.warning("handler too slow: app_id=%r; answering 'success'", app_id)
        return _success()

    if not decrypted.encrypted:  # plaintext push: plaintext reply
        if not reply:
            return _success()
        content_type = "application/json" if message.is_json else "application/xml"
        return web.Response(body=reply, content_type=content_type)

    # Same dialect and the same key as the push: during an EncodingAESKey
    # rotation WeChat only accepts a reply encrypted with the key it used.
    # An empty reply is encrypted too (a complete, signed envelope).
    built = await budget.call(
        "BuildEncryptedReply", wxcrypto.BuildEncryptedReply, pb.BuildEncryptedReplyRequest(
            app_id=app_id,
            message=reply,
            envelope_format=decrypted.envelope_format,
            key_index=decrypted.key_index,
        ))
    return web.Response(body=built.body, headers={"Content-Type": built.content_type})


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def _success() -> web.Response:
    # WeChat: "success" (or an empty body) means "received, no reply".
    return web.Response(text="success", content_type="text/plain")


class AccessLogger(AbstractAccessLogger):
    """Path without the query: it holds openid, a user identifier."""

    def log(self, request, response, elapsed):
        self.logger.info("%s %s %d %.1fms", request.method, request.path,
                         response.status, elapsed * 1000)


def make_app(cfg: argparse.Namespace, handle=echo_handle) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[wxcrypto_errors])
    app["config"] = cfg
    app["handler"] = handle

    async def wxcrypto_channel(app: web.Application):
        # Created inside the event loop, closed on shutdown.
        async with grpc.aio.insecure_channel(cfg.wxcrypto_addr, options=CHANNEL_OPTIONS) as channel:
            app["wxcrypto"] = pb_grpc.CryptoServiceStub(channel)
            yield

    app.cleanup_ctx.append(wxcrypto_channel)
    app.router.add_get("/wechat/{app_id}", verify_url, allow_head=False)
    app.router.add_post("/wechat/{app_id}", push)
    app.router.add_get("/healthz", healthz)
    return app


def split_host_port(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"gateway: --listen must be HOST:PORT, not {listen!r}")
    return host.strip("[]"), int(port)


async def serve(cfg: argparse.Namespace) -> None:
    host, port = split_host_port(cfg.listen)
    runner = web.AppRunner(make_app(cfg), access_log_class=AccessLogger)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        for address in runner.addresses:
            bound_host, bound_port = address[0], address[1]
            if ":" in bound_host:
                bound_host = f"[{bound_host}]"
            log.info("listening on http://%s:%d, wxcrypto at %s",
                     bound_host, bound_port, cfg.wxcrypto_addr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()  # finishes in-flight requests, closes the channel


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description="WeChat webhook gateway in front of wxcrypto.")
    p.add_argument("--listen", default=env("GATEWAY_LISTEN", "127.0.0.1:8080"),
                   help="HTTP HOST:PORT; port 0 picks a free one (env GATEWAY_LISTEN)")
    p.add_argument("--wxcrypto-addr", default=env("WXCRYPTO_ADDR", "127.0.0.1:50051"),
                   help="wxcrypto gRPC target, e.g. dns:///wxcrypto:50051 (env WXCRYPTO_ADDR)")
    p.add_argument("--rpc-timeout", type=float, default=float(env("GATEWAY_RPC_TIMEOUT", "2")),
                   help="deadline of each wxcrypto call, seconds (env GATEWAY_RPC_TIMEOUT)")
    p.add_argument("--budget", type=float, default=float(env("GATEWAY_BUDGET", "4")),
                   help="time for a whole request, seconds; WeChat gives up after 5 "
                        "(env GATEWAY_BUDGET)")
    p.add_argument("--log-level", default=env("GATEWAY_LOG_LEVEL", "INFO"),
                   help="DEBUG, INFO, WARNING, ... (env GATEWAY_LOG_LEVEL)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    cfg = parse_args(argv)
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
