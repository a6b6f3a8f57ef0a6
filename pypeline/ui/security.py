"""What every request passes before it reaches a page: read-only, the right host, the token.

* **Read-only.** Only ``GET`` and ``HEAD`` are served; anything else is
  ``405`` before any handler runs.
* **Host.** Served on a loopback address without a token, the UI answers
  only requests whose ``Host`` is a loopback name (``127.0.0.1``,
  ``localhost``, ``[::1]``): a web page elsewhere that points a name of its
  own at ``127.0.0.1`` (DNS rebinding) gets ``400``.
* **Token.** With a token (required off loopback), every request must carry
  it: the cookie the UI sets when a page is opened once with
  ``?token=...`` (then the address bar drops it), or an
  ``Authorization: Bearer ...`` header. Tokens are compared in constant time.
* **Headers.** A Content-Security-Policy that allows scripts from the UI
  itself only (every script ships in the package), no framing, no referrer.

It is plain ASGI middleware, so it also guards the static files.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "pype_ui_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


class Guard:
    """ASGI middleware applying the rules of the module docstring."""

    def __init__(self, app: ASGIApp, *, token: str | None, loopback_only: bool) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> Response | None:
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("read-only: only GET and HEAD are served\n", 405, headers={"allow": "GET, HEAD"})
        headers = Headers(scope=scope)
        if self.loopback_only and _host_name(headers.get("host", "")) not in LOOPBACK_HOSTS:
            return PlainTextResponse("unexpected Host header: open the UI at the address 'pype ui' printed\n", 400)
        if self.token is None:
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and _same(given, self.token):
            # Keep the token in an HttpOnly cookie and drop it from the address bar (and from history).
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return response
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and _same(bearer[len("Bearer "):], self.token):
            return None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is a missing token, not a server error
            cookie = SimpleCookie()
        morsel = cookie.get(COOKIE)
        if morsel is not None and _same(morsel.value, self.token):
            return None
        return PlainTextResponse(
            "token required: open the address 'pype ui' printed (it ends in ?token=...), "
            "or send 'Authorization: Bearer <token>'\n",
            401,
        )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def _host_name(host: str) -> str:
    """``127.0.0.1`` from ``127.0.0.1:8321``; ``[::1]`` from ``[::1]:8321``."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host
