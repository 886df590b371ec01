"""The business side of the reference gateway: what to answer a push.

The gateway hands every verified, decrypted push to `handle` and sends back
what it returns; this is the only file a team replaces. The example echoes
text messages:

  XML:  <xml><ToUserName>gh_x</ToUserName><FromUserName>o_user</FromUserName>
        <MsgType>text</MsgType><Content>hi</Content>...</xml>
    ->  <xml><ToUserName>o_user</ToUserName><FromUserName>gh_x</FromUserName>
        <CreateTime>now</CreateTime><MsgType>text</MsgType>
        <Content>echo: hi</Content></xml>
  JSON: the same keys in a JSON object (mini programs in JSON mode).

and answers every other message with no reply.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Mapping

# What `handle` returns for "no passive reply". WeChat treats an empty body
# (or the plain text "success") as "received, nothing to say".
NO_REPLY = b""


@dataclasses.dataclass(frozen=True)
class Push:
    """A push that wxcrypto verified and, in secure mode, decrypted."""

    app_id: str
    # The message exactly as WeChat wrote it: XML, or JSON for mini programs
    # in JSON mode and WeCom's JSON callbacks.
    message: bytes
    # Its top-level fields (ToUserName, MsgType, Content, ...), decoded by
    # wxcrypto, so that routing needs no XML parser.
    fields: Mapping[str, str]
    # False for a plaintext push (plaintext or compatible mode).
    encrypted: bool

    @property
    def is_json(self) -> bool:
        return self.message.lstrip()[:1] in (b"{", b"[")


async def handle(push: Push) -> bytes:
    """Returns the passive reply in the push's dialect, or NO_REPLY.

    Keep it well under WeChat's 5-second budget (the gateway gives up at its
    --budget): slow work belongs in a queue, answered later through the
    customer-service message API.
    """
    if push.fields.get("MsgType") != "text":
        return NO_REPLY
    reply = {
        # To and From swap: the reply goes back to the user who wrote.
        "ToUserName": push.fields.get("FromUserName", ""),
        "FromUserName": push.fields.get("ToUserName", ""),
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": "echo: " + push.fields.get("Content", ""),
    }
    if push.is_json:
        return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _xml(reply)


def _xml(fields: Mapping[str, object]) -> bytes:
    """WeChat's reply XML: strings in CDATA, numbers bare."""
    parts = ["<xml>"]
    for name, value in fields.items():
        text = str(value) if isinstance(value, int) else _cdata(str(value))
        parts.append(f"<{name}>{text}</{name}>")
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


def _cdata(text: str) -> str:
    # "]]>" cannot occur inside a CDATA section: split it across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
