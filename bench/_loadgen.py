"""A lean HTTP/1.1 load generator: keep-alive connections on asyncio streams (uvloop), responses
parsed by httptools (C), the request bytes built once.

The benchmarks measure the server, but on this machine the load generator shares its two cores:
httpx spends 1.5–2 ms of CPU on a request, half of what the server spends on a run request.
This client spends a fraction of that, as wrk, oha or k6 would on a machine of their own.
It speaks only what the benchmarks need: one method, URL and body for every request, answers
with Content-Length or chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httptools
import uvloop


class _Response:
    """What httptools calls back while it parses: only the message's end matters here (the
    status comes from the parser)."""

    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


def _request_bytes(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return parts.hostname, parts.port or 80, head + (body or b"")


async def _connection(host: str, port: int, request: bytes, remaining: list[int], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(request)
            response = _Response()
            parser = httptools.HttpResponseParser(response)
            while not response.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection mid-response")
                parser.feed_data(data)
            statuses.append(parser.get_status_code())
            if not parser.should_keep_alive():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _send_all(host: str, port: int, request: bytes, count: int, in_flight: int) -> list[int]:
    remaining, statuses = [count], []
    await asyncio.gather(*(_connection(host, port, request, remaining, statuses) for _ in range(min(in_flight, count))))
    return statuses


def send_all(
    method: str, url: str, *, count: int, in_flight: int, headers: dict[str, str], json_body: object = None
) -> list[int]:
    """Send the same request `count` times, `in_flight` at a time; returns the status codes."""
    body = None if json_body is None else json.dumps(json_body).encode()
    host, port, request = _request_bytes(method, url, headers, body)
    return uvloop.run(_send_all(host, port, request, count, in_flight))
