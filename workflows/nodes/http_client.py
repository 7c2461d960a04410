"""The HTTP client of the http_request node: httpx, with every connection checked against SSRF.

Every TCP connection, the first one and each redirect hop's, is opened by `_GuardedBackend`. It
resolves the host itself, refuses the host when any of its addresses is not public (private,
loopback, link-local, metadata, …) and not inside an allowed network, then connects to the very
addresses it checked: DNS cannot answer differently between the check and the connection
(rebinding). TLS still verifies the certificate against, and sends SNI for, the host name; the
Host header is the URL's.

The whole request, redirects and body included, has one deadline, `timeout_s`: every socket
operation is bounded by the time left, and reads wake up every `_SLICE_S` to notice a
cancellation, so a slow or trickling server cannot hold a worker thread past it.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from workflows.nodes.context import NodeError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_CONNECT_TIMEOUT_S = 10.0
USER_AGENT = "StructForge"
# How often a blocked read wakes up to check for a cancellation.
_SLICE_S = 0.25
_ALLOW_HINT = "allow it with STRUCTFORGE_HTTP_ALLOWED_NETWORKS"

# Instance metadata services hand out cloud credentials: named apart so the refusal says so.
# (Others, such as Alibaba's 100.100.100.200, are non-public addresses anyway.)
_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body_bytes: bytes  # decoded from any Content-Encoding
    content_type: str  # the Content-Type header as sent, "" without one
    url: str  # the final URL, after redirects
    elapsed_ms: int
    charset: str | None = None  # from Content-Type


# --- The address guard --------------------------------------------------------------------------


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` must not be connected to ("loopback address", …), or None for a public address."""
    if address in _METADATA:
        return "cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, inner = embedded
            reason = refusal_reason(inner)
            if reason is not None:
                article = "an" if reason[0] in "aeiou" else "a"
                return f"{form} form of {inner}, {article} {reason}"
            # Teredo tunnels through a relay of its own, reaching who knows what.
            return "Teredo address" if form == "Teredo" else None
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local address"
    if address.is_reserved:
        return "reserved address"
    if address.is_private:
        return "private address"
    if not address.is_global:  # 100.64.0.0/10 (carrier-grade NAT) and other special ranges
        return "non-public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 one stands for, with the name of the form, if it is one."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_allowed(address: IPAddress, allowed_networks: Iterable[IPNetwork]) -> bool:
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)) is not None:
        candidates.append(embedded[1])  # ::ffff:127.0.0.1 is 127.0.0.1, so 127.0.0.0/8 allows it
    # `in` is simply false between an IPv4 address and an IPv6 network.
    return any(candidate in network for network in allowed_networks for candidate in candidates)


def check_address(address: IPAddress, allowed_networks: Iterable[IPNetwork] = (), *, shown: str = "") -> None:
    """Raise NodeError when `address` is refused: not public, and in none of `allowed_networks`.

    `shown` names the address in the message (a host name and what it resolved to, say).
    """
    reason = refusal_reason(address)
    if reason is not None and not _is_allowed(address, allowed_networks):
        raise NodeError(f"refused to connect to {shown or address} ({reason}); {_ALLOW_HINT}")


def permitted_addresses(host: str, port: int, allowed_networks: Iterable[IPNetwork] = ()) -> list[str]:
    """The addresses of `host` to connect to, in the resolver's order, once every one is checked.

    Raises NodeError when the host does not resolve, or when any of its addresses is refused:
    a name with one private address among public ones is refused as a whole.
    """
    allowed_networks = tuple(allowed_networks)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NodeError(f"could not resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    addresses: list[str] = []
    for family, *_, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        text = str(sockaddr[0])
        address = ipaddress.ip_address(text.split("%", 1)[0])  # "fe80::1%eth0": the scope is no address
        check_address(address, allowed_networks, shown=text if text == host else f"{host}: it resolves to {text}")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise NodeError(f"could not resolve {host}: no IPv4 or IPv6 address")
    return addresses


# --- httpcore plumbing: the guarded backend and its deadline ------------------------------------


class _Stopped(NodeError):
    """Raised from inside httpcore when the budget is spent; request() words the final message."""

    def __init__(self, *, cancelled: bool) -> None:
        super().__init__("cancelled" if cancelled else "timed out")
        self.cancelled = cancelled


class _Budget:
    """The one deadline of a request, and the caller's "stop now"."""

    def __init__(self, timeout_s: float, cancelled: Callable[[], bool] | None) -> None:
        self.deadline = time.monotonic() + timeout_s
        self._cancelled = cancelled

    def left(self) -> float:
        """Seconds left; raises _Stopped once there are none or the caller cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise _Stopped(cancelled=True)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Stopped(cancelled=False)
        return left


class _GuardedStream(httpcore.NetworkStream):
    """A connection whose every operation stays within the request's budget."""

    def __init__(self, stream: httpcore.NetworkStream, budget: _Budget) -> None:
        self._stream = stream
        self._budget = budget

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        read_deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = min(_SLICE_S, self._budget.left())
            if read_deadline is not None:
                wait = min(wait, read_deadline - time.monotonic())
                if wait <= 0:  # a zero timeout would make the socket non-blocking, not time out
                    raise httpcore.ReadTimeout("timed out")
            try:
                return self._stream.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                # A socket read that timed out consumed nothing (plain or TLS), so it may be
                # retried; only the read's own timeout or the budget ends the wait.
                if read_deadline is not None and time.monotonic() >= read_deadline:
                    raise
                continue

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # Not sliced: a send that timed out may have sent part of the buffer.
        self._stream.write(buffer, _bounded(timeout, self._budget.left()))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _bounded(timeout, self._budget.left())
        return _GuardedStream(self._stream.start_tls(ssl_context, server_hostname, left), self._budget)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, allowed_networks: tuple[IPNetwork, ...], budget: _Budget) -> None:
        self._allowed_networks = allowed_networks
        self._budget = budget

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = permitted_addresses(host, port, self._allowed_networks)
        error: Exception | None = None
        for address in addresses:
            # An IP literal: the parent's socket.create_connection() does no DNS lookup of its own.
            try:
                stream = super().connect_tcp(
                    address,
                    port,
                    timeout=_bounded(timeout, self._budget.left()),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # try the host's next address, as create_connection() would
                continue
            return _GuardedStream(stream, self._budget)
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise NodeError("refused to connect to a Unix socket")


def _bounded(timeout: float | None, left: float) -> float:
    return left if timeout is None else min(timeout, left)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes some 20 ms; a configured context is safe to share between threads.
    # trust_env=False: no SSL_CERT_FILE or SSLKEYLOGFILE from the worker's environment.
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowed_networks: tuple[IPNetwork, ...], budget: _Budget) -> None:
        # trust_env=False: no proxy from the worker's environment either.
        super().__init__(verify=_ssl_context(), trust_env=False)
        # httpx 0.28 takes no network backend (encode/httpx#3749 proposes one), so its pool is
        # replaced by one built like it but connecting through the guard. Fail closed if the
        # attribute ever changes rather than run unguarded.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in _pool: update http_client")
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            network_backend=_GuardedBackend(allowed_networks, budget),
        )


# --- The request ---------------------------------------------------------------------------------


def request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    json: Any = None,
    body: str | bytes | None = None,
    timeout_s: float,
    allowed_networks: Iterable[IPNetwork] = (),
    max_response_bytes: int | None = None,
    max_redirects: int = 5,
    cancelled: Callable[[], bool] | None = None,
) -> HttpResult:
    """Send one request, following up to `max_redirects` redirects, and read the whole response.

    `query` is merged into the URL's own query string; a name in both takes `query`'s value.
    Any failure to get a response is a NodeError: a refused address, a timeout (`timeout_s`
    bounds the whole exchange but for DNS lookups), a connection error, a body over
    `max_response_bytes` (STRUCTFORGE_HTTP_MAX_RESPONSE_BYTES by default), `cancelled()` turning
    true. A response of any status is a result: judging it is the caller's business.
    """
    if max_response_bytes is None:
        max_response_bytes = getattr(settings, "STRUCTFORGE_HTTP_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES)
    shown = f"{method} {display_url(url)}"
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise NodeError(f"invalid URL in {shown}: {exc}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise NodeError(f"refused {shown}: only http:// and https:// URLs with a host are allowed")

    for name, value in headers.items():
        if not value.isascii():  # httpx would raise UnicodeEncodeError
            raise NodeError(f"the value of header '{name}' must be ASCII text: {shown}")

    started = time.monotonic()
    budget = _Budget(timeout_s, cancelled)
    client = httpx.Client(
        transport=_GuardedTransport(tuple(allowed_networks), budget),
        timeout=httpx.Timeout(timeout_s, connect=min(MAX_CONNECT_TIMEOUT_S, timeout_s)),
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )
    content = body.encode() if isinstance(body, str) else body
    try:
        with client:
            outgoing = client.build_request(
                method, target.copy_merge_params(dict(query)), headers=dict(headers), json=json, content=content
            )
            response = client.send(outgoing, stream=True)
            try:
                body_bytes = _read_capped(response, max_response_bytes, shown)
            finally:
                response.close()
    except _Stopped as exc:
        raise NodeError("cancelled" if exc.cancelled else f"timed out after {timeout_s:g} s: {shown}") from None
    except httpx.TimeoutException as exc:
        raise NodeError(f"timed out after {timeout_s:g} s {_while(exc)} {shown}") from None
    except httpx.TooManyRedirects:
        raise NodeError(f"more than {max_redirects} redirects: {shown}") from None
    except httpx.UnsupportedProtocol as exc:
        raise NodeError(f"refused to follow a redirect of {shown}: {exc}") from None
    except httpx.ConnectError as exc:
        raise NodeError(f"could not connect: {shown}: {exc or 'connection failed'}") from None
    except httpx.HTTPError as exc:  # read and write errors, protocol errors, bad encodings, …
        raise NodeError(f"{shown} failed: {exc.__class__.__name__}: {exc}") from None
    except httpx.InvalidURL as exc:  # a redirect to a malformed URL
        raise NodeError(f"{shown} failed: {exc}") from None
    return HttpResult(
        status=response.status_code,
        headers={name.lower(): value for name, value in response.headers.items()},
        body_bytes=body_bytes,
        content_type=response.headers.get("content-type", ""),
        url=str(response.url),
        elapsed_ms=round((time.monotonic() - started) * 1000),
        charset=response.charset_encoding,
    )


def _read_capped(response: httpx.Response, limit: int, shown: str) -> bytes:
    too_big = f"the response to {shown} is larger than the limit of {limit:,} bytes"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise NodeError(too_big)
    chunks, size = [], 0
    # Counted after Content-Encoding is undone, so a small compressed bomb is caught too.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise NodeError(too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def _while(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting:"
    if isinstance(exc, httpx.WriteTimeout):
        return "sending:"
    return "waiting for the response:"


def display_url(url: str) -> str:
    """`url` fit for logs and error messages: no user:password, and its query reduced to `?…`
    (query strings are where API keys tend to go)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0][:200]
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}{port}{parts.path}"
    return shown + ("?…" if parts.query else "")
