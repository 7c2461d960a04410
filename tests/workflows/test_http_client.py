"""The guarded HTTP client, against a real server on 127.0.0.1, and the http_request node through it."""

import datetime
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address, ip_network
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.workflows.test_node_runs import FakeContext, run_node
from workflows.nodes import http_client
from workflows.nodes.context import NodeError
from workflows.nodes.http_client import check_address, permitted_addresses, refusal_reason

LOOPBACK = (ip_network("127.0.0.0/8"),)
ONLY_127_0_0_1 = (ip_network("127.0.0.1/32"),)
# "localhost" may also resolve to ::1, where the test servers do not listen: the client then
# connects to the next address.
LOCALHOST = (ip_network("127.0.0.0/8"), ip_network("::1/128"))


class Handler(BaseHTTPRequestHandler):
    server: "LocalServer"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            {"method": self.command, "path": parts.path, "query": query, "headers": dict(self.headers), "body": body}
        )
        route = getattr(self, f"route_{parts.path.strip('/').replace('-', '_')}", None)
        if route is None:
            self._send(404, "text/plain", b"no such route")
        else:
            route(query, body)

    def _send(self, status: int, content_type: str | None, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_json(self, query: dict, body: bytes) -> None:
        self._send(200, "application/json", b'{"orders": [1, 2], "next": null}', {"X-Total": "2"})

    def route_echo(self, query: dict, body: bytes) -> None:
        echoed = {"method": self.command, "query": query, "headers": dict(self.headers), "body": body.decode()}
        self._send(200, "application/json; charset=utf-8", json.dumps(echoed).encode())

    def route_text(self, query: dict, body: bytes) -> None:
        self._send(200, "text/plain; charset=utf-8", "héllo\x00".encode())

    def route_latin1(self, query: dict, body: bytes) -> None:
        self._send(200, "text/plain; charset=iso-8859-1", "café".encode("latin-1"))

    def route_not_json(self, query: dict, body: bytes) -> None:
        self._send(200, "application/problem+json", b"{oops")

    def route_nan(self, query: dict, body: bytes) -> None:
        self._send(200, "application/json", b'{"x": NaN}')

    def route_status(self, query: dict, body: bytes) -> None:
        self._send(int(query["code"]), "text/plain", query.get("body", "").encode())

    def route_sleep(self, query: dict, body: bytes) -> None:
        time.sleep(float(query["s"]))
        self._send(200, "text/plain", b"late")

    def route_trickle(self, query: dict, body: bytes) -> None:
        # Headers at once, then a byte at a time: no single read ever times out.
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.05)

    def route_big(self, query: dict, body: bytes) -> None:
        size = int(query["n"])
        if query.get("declared") == "no":
            # HTTP/1.0 without Content-Length: the body runs until the connection closes.
            self.send_response(200)
            self.end_headers()
            for start in range(0, size, 1000):
                self.wfile.write(b"x" * min(1000, size - start))
        else:
            self._send(200, "application/octet-stream", b"x" * size)

    def route_gzip_bomb(self, query: dict, body: bytes) -> None:
        self._send(200, "text/plain", gzip.compress(b"\0" * 1_000_000), {"Content-Encoding": "gzip"})

    def route_redirect(self, query: dict, body: bytes) -> None:
        self._send(302, None, b"", {"Location": query["to"]})

    def route_loop(self, query: dict, body: bytes) -> None:
        self._send(302, None, b"", {"Location": "/loop"})

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict[str, Any]] = []
        self.connections: list[tuple[str, int]] = []

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections.append(client_address)
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left: expected here

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    thread = threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield local
    local.shutdown()
    local.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for the name "localhost" only (no IP address): (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(certificate) -> Iterator[LocalServer]:
    local = LocalServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    local.socket = context.wrap_socket(local.socket, server_side=True)
    thread = threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield local
    local.shutdown()
    local.server_close()


def get(url: str, *, allowed=LOOPBACK, timeout_s: float = 5, **options: Any) -> http_client.HttpResult:
    return http_client.request(
        method="GET", url=url, headers={}, query={}, timeout_s=timeout_s, allowed_networks=allowed, **options
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- requests and responses -----------------------------------------------------------------------


def test_get_returns_status_headers_and_the_body(server):
    result = get(f"{server.base}/json")

    assert (result.status, result.content_type, result.charset) == (200, "application/json", None)
    assert json.loads(result.body_bytes) == {"orders": [1, 2], "next": None}
    assert result.headers["x-total"] == "2"
    assert all(name == name.lower() for name in result.headers)
    assert result.url == f"{server.base}/json"
    assert result.elapsed_ms >= 0


def test_post_sends_the_json_body_headers_and_query(server):
    result = http_client.request(
        method="POST",
        url=f"{server.base}/echo?keep=1",
        headers={"X-Api-Key": "k1", "User-Agent": "mine"},
        query={"page": "2", "q": "a b&c"},
        json={"order": [1, None, "é"]},
        timeout_s=5,
        allowed_networks=LOOPBACK,
    )

    echoed = json.loads(result.body_bytes)
    assert echoed["method"] == "POST"
    assert echoed["query"] == {"keep": "1", "page": "2", "q": "a b&c"}
    assert echoed["headers"]["X-Api-Key"] == "k1"
    assert echoed["headers"]["User-Agent"] == "mine"
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert json.loads(echoed["body"]) == {"order": [1, None, "é"]}


def test_a_text_body_is_sent_as_it_is_and_the_default_user_agent_is_ours(server):
    result = http_client.request(
        method="POST",
        url=f"{server.base}/echo",
        headers={},
        query={},
        body="a=1",
        timeout_s=5,
        allowed_networks=LOOPBACK,
    )

    echoed = json.loads(result.body_bytes)
    assert (echoed["body"], echoed["headers"]["User-Agent"]) == ("a=1", "StructForge")


def test_a_redirect_between_allowed_addresses_is_followed(server):
    result = get(f"{server.base}/redirect?to=/json")

    assert (result.status, result.url) == (200, f"{server.base}/json")
    assert [request["path"] for request in server.requests] == ["/redirect", "/json"]


def test_a_status_of_any_kind_is_a_result_for_the_caller_to_judge(server):
    assert get(f"{server.base}/status?code=503&body=down").status == 503


# --- failures -------------------------------------------------------------------------------------


def test_a_server_slower_than_the_timeout_is_a_timeout(server):
    started = time.monotonic()

    with pytest.raises(NodeError, match=r"^timed out after 0.5 s"):
        get(f"{server.base}/sleep?s=3", timeout_s=0.5)

    assert time.monotonic() - started < 2


def test_a_trickling_body_cannot_outlast_the_timeout(server):
    started = time.monotonic()

    with pytest.raises(NodeError, match=r"^timed out after 0.5 s: GET http://127.0.0.1:\d+/trickle$"):
        get(f"{server.base}/trickle", timeout_s=0.5)

    assert time.monotonic() - started < 2


def test_a_cancelled_request_stops_promptly(server):
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    with pytest.raises(NodeError, match="^cancelled$"):
        get(f"{server.base}/sleep?s=3", timeout_s=30, cancelled=stop.is_set)

    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("declared", ["yes", "no"])
def test_a_response_over_the_size_cap_is_refused(server, declared):
    with pytest.raises(NodeError, match=r"is larger than the limit of 10,000 bytes$"):
        get(f"{server.base}/big?n=10001&declared={declared}", max_response_bytes=10_000)


@pytest.mark.parametrize("declared", ["yes", "no"])
def test_a_response_at_the_size_cap_is_read(server, declared):
    assert len(get(f"{server.base}/big?n=10000&declared={declared}", max_response_bytes=10_000).body_bytes) == 10_000


def test_the_size_cap_counts_decompressed_bytes(server):
    with pytest.raises(NodeError, match="is larger than the limit of 100,000 bytes"):
        get(f"{server.base}/gzip-bomb", max_response_bytes=100_000)


def test_the_size_cap_defaults_to_the_setting(server, settings):
    settings.STRUCTFORGE_HTTP_MAX_RESPONSE_BYTES = 500

    with pytest.raises(NodeError, match="limit of 500 bytes"):
        get(f"{server.base}/big?n=501")


def test_too_many_redirects_fail(server):
    with pytest.raises(NodeError, match=r"^more than 5 redirects: GET http://127.0.0.1:\d+/loop$"):
        get(f"{server.base}/loop")
    assert len(server.requests) == 6


def test_a_redirect_to_another_scheme_is_refused(server):
    with pytest.raises(NodeError, match="^refused to follow a redirect of GET"):
        get(f"{server.base}/redirect?to=file:///etc/passwd")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost", "not a url"])
def test_only_http_and_https_urls_with_a_host_are_requested(url):
    with pytest.raises(NodeError, match="only http:// and https:// URLs with a host are allowed|invalid URL"):
        get(url)


def test_a_closed_port_is_a_connection_error():
    with pytest.raises(NodeError, match=r"^could not connect: GET http://127.0.0.1:\d+/: "):
        get(f"http://127.0.0.1:{closed_port()}/")


def test_a_host_that_does_not_resolve_is_an_error():
    with pytest.raises(NodeError, match="^could not resolve nowhere.invalid: "):
        get("http://nowhere.invalid/")


# --- TLS -------------------------------------------------------------------------------------------


def test_https_checks_the_certificate(tls_server):
    with pytest.raises(
        NodeError, match=r"^could not connect: GET https://localhost:\d+/json: .*CERTIFICATE_VERIFY_FAILED"
    ):
        get(f"https://localhost:{tls_server.server_address[1]}/json", allowed=LOCALHOST)


def test_https_verifies_the_url_host_name_while_connecting_to_the_checked_address(tls_server, certificate, monkeypatch):
    trusting = ssl.create_default_context(cafile=certificate[0])
    monkeypatch.setattr(http_client, "_ssl_context", lambda: trusting)
    port = tls_server.server_address[1]

    result = get(f"https://localhost:{port}/json", allowed=LOCALHOST)

    assert (result.status, json.loads(result.body_bytes)["orders"]) == (200, [1, 2])
    # The same server by its address: the certificate names only "localhost".
    with pytest.raises(NodeError, match="certificate is not valid for '127.0.0.1'|IP address mismatch"):
        get(f"https://127.0.0.1:{port}/json")


# --- the address guard ----------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed_and_nothing_reaches_the_server(server):
    with pytest.raises(NodeError) as caught:
        get(f"{server.base}/json", allowed=())

    assert str(caught.value) == (
        "refused to connect to 127.0.0.1 (loopback address); allow it with STRUCTFORGE_HTTP_ALLOWED_NETWORKS"
    )
    assert (server.connections, server.requests) == ([], [])


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        ("http://127.0.0.2:{port}/json", "127.0.0.2 (loopback address)"),
        ("http://[::1]:{port}/json", "::1 (loopback address)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 (cloud metadata address)"),
        ("http://10.0.0.1/", "10.0.0.1 (private address)"),
        (
            "http://[::ffff:127.0.0.2]:{port}/json",
            "(IPv4-mapped form of 127.0.0.2, a loopback address)",
        ),
    ],
)
def test_a_redirect_into_a_refused_address_is_refused(server, target, refused):
    port = server.server_address[1]

    with pytest.raises(NodeError) as caught:
        get(f"{server.base}/redirect?to={target.format(port=port)}", allowed=ONLY_127_0_0_1)

    assert str(caught.value).startswith("refused to connect to ")
    assert refused in str(caught.value)

    assert [request["path"] for request in server.requests] == ["/redirect"]


def test_a_host_name_resolving_to_loopback_is_refused(server):
    with pytest.raises(NodeError, match=r"^refused to connect to localhost: it resolves to (127\.0\.0\.1|::1) \("):
        get(f"http://localhost:{server.server_address[1]}/json", allowed=())

    assert server.connections == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with pytest.raises(NodeError, match=r"^refused to connect to mixed.test: it resolves to 10.1.2.3 \(private"):
        permitted_addresses("mixed.test", 80)


def test_the_connection_goes_to_the_checked_address_under_the_original_host_name(server, monkeypatch):
    # A resolver that answers once with the server's address and then with a refused one: the
    # client must connect to what it checked, not ask again (DNS rebinding).
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.1", "169.254.169.254"])
    asked = []

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    result = get(f"http://rebind.test:{server.server_address[1]}/echo", allowed=ONLY_127_0_0_1)

    assert result.status == 200
    assert asked == ["rebind.test"]
    assert server.requests[0]["headers"]["Host"] == f"rebind.test:{server.server_address[1]}"


def test_when_one_checked_address_does_not_answer_the_next_is_tried(server, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo
    dead_port = closed_port()

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        if host != "two.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.9", port)),  # nothing listens there
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    assert get(f"http://two.test:{server.server_address[1]}/json").status == 200
    with pytest.raises(NodeError, match="^could not connect: GET http://two.test:"):
        get(f"http://two.test:{dead_port}/json")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("169.254.169.254", "cloud metadata address"),
        ("169.254.10.1", "link-local address"),
        ("100.64.0.1", "non-public address"),
        ("100.100.100.200", "non-public address"),
        ("0.0.0.0", "unspecified address"),
        ("127.0.0.1", "loopback address"),
        ("127.255.0.9", "loopback address"),
        ("224.0.0.1", "multicast address"),
        ("240.0.0.1", "reserved address"),
        ("255.255.255.255", "reserved address"),
        ("::", "unspecified address"),
        ("::1", "loopback address"),
        ("fe80::1", "link-local address"),
        ("fec0::1", "site-local address"),
        ("fc00::1", "private address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("ff02::1", "multicast address"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, a private address"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a cloud metadata address"),
        ("::ffff:0.0.0.0", "IPv4-mapped form of 0.0.0.0, an unspecified address"),
        ("2002:7f00:1::", "6to4 form of 127.0.0.1, a loopback address"),
        ("2002:a9fe:a9fe::1", "6to4 form of 169.254.169.254, a cloud metadata address"),
        ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1, a private address"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo address"),
        ("::127.0.0.1", "reserved address"),
    ],
)
def test_an_address_that_is_not_public_is_refused(address, reason):
    assert refusal_reason(ip_address(address)) == reason
    with pytest.raises(NodeError) as caught:
        check_address(ip_address(address))
    assert str(caught.value) == (
        f"refused to connect to {ip_address(address)} ({reason}); allow it with STRUCTFORGE_HTTP_ALLOWED_NETWORKS"
    )


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_a_public_address_is_permitted(address):
    assert refusal_reason(ip_address(address)) is None
    check_address(ip_address(address))


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("10.1.2.3", "10.0.0.0/8"),
        ("::ffff:10.1.2.3", "10.0.0.0/8"),
        ("169.254.169.254", "169.254.169.254/32"),
        ("fd12::1", "fd12::/16"),
    ],
)
def test_an_allowed_network_lets_its_addresses_through(address, network):
    check_address(ip_address(address), (ip_network(network),))


def test_an_allowed_network_does_not_let_others_through():
    with pytest.raises(NodeError, match="10.0.0.1"):
        check_address(ip_address("10.0.0.1"), (ip_network("10.1.0.0/16"), ip_network("::/0")))


def test_urls_are_shown_without_credentials_or_query():
    assert http_client.display_url("https://u:p@api.test:8443/a/b?key=secret#f") == "https://api.test:8443/a/b?…"
    assert http_client.display_url("http://[::1]/x") == "http://[::1]/x"


# --- the http_request node, end to end ------------------------------------------------------------


def run_request(params: dict[str, Any], allowed=LOOPBACK) -> tuple[Any, FakeContext]:
    ctx = FakeContext(allowed_networks=allowed)
    return run_node("http_request", {"method": "GET", **params}, ctx), ctx


def test_the_node_outputs_status_lower_case_headers_and_parsed_json(server):
    output, ctx = run_request({"url": f"{server.base}/json"})

    assert output["status"] == 200
    assert output["body"] == {"orders": [1, 2], "next": None}
    assert output["headers"]["content-type"] == "application/json"
    assert output["headers"]["x-total"] == "2"
    [line] = ctx.lines
    assert line.startswith(f"GET {server.base}/json → 200 in ")
    assert line.endswith(" ms (32 bytes)")


def test_the_node_sends_params_and_reads_json_with_a_charset(server):
    output, _ = run_request(
        {
            "method": "POST",
            "url": f"{server.base}/echo",
            "headers": {"X-Key": "1"},
            "query": {"q": "x"},
            "json": {"a": [1]},
            "timeout_s": 5,
        }
    )

    assert output["body"]["query"] == {"q": "x"}
    assert output["body"]["headers"]["X-Key"] == "1"
    assert json.loads(output["body"]["body"]) == {"a": [1]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/text", "héllo\ufffd"),  # NUL cannot be stored in PostgreSQL
        ("/latin1", "café"),
        ("/not-json", "{oops"),  # says JSON, is not: kept as text
        ("/nan", '{"x": NaN}'),  # NaN is no JSON
    ],
)
def test_the_node_outputs_other_bodies_as_text(server, path, body):
    output, _ = run_request({"url": f"{server.base}{path}"})

    assert output["body"] == body


def test_an_error_status_fails_the_node_with_the_status_and_the_start_of_the_body(server):
    with pytest.raises(NodeError) as caught:
        run_request({"url": f"{server.base}/status?code=503&body=" + "down%0A%20" * 200})

    message = str(caught.value)
    assert message.startswith(f"HTTP 503 from GET {server.base}/status?…: down down")
    assert len(message) == len(f"HTTP 503 from GET {server.base}/status?…: ") + 500
    assert message.endswith("…")


def test_an_error_status_without_a_body_fails_with_the_status_alone(server):
    with pytest.raises(NodeError, match=r"^HTTP 404 from GET http://127.0.0.1:\d+/status\?…$"):
        run_request({"url": f"{server.base}/status?code=404"})


def test_the_node_refuses_loopback_without_the_setting(server):
    with pytest.raises(NodeError, match="^refused to connect to 127.0.0.1 \\(loopback address\\)"):
        run_request({"url": f"{server.base}/json"}, allowed=())

    assert server.connections == []


def test_a_header_value_that_is_not_ascii_is_an_error_not_a_crash(server):
    with pytest.raises(NodeError, match="^the value of header 'X-Name' must be ASCII text: GET http://127"):
        http_client.request(
            method="GET", url=server.base, headers={"X-Name": "José"}, query={}, timeout_s=5, allowed_networks=LOOPBACK
        )

    assert server.connections == []
