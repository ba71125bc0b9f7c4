"""HTTP request handling of ``lineagectl serve``: the OpenLineage HTTP transport's endpoints.

``POST /api/v1/lineage`` takes one event (or a JSON array of them, all or
nothing) and answers 201 with an empty body once the events are in the spool;
``POST /api/v1/lineage/batch`` takes an array and answers 200 with a summary of
which elements were accepted. Every event is checked as ``ingest`` checks it
(``sources.ingest.validate``) before it is acknowledged, so what was answered
201 is what the ingester stores. Request bodies are never logged: they carry
SQL and personal data.
"""

from __future__ import annotations

import hmac
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import orjson

from lineagectl.common.timeutil import format_timestamp
from lineagectl.errors import DatabaseError, DatabaseLockedError, DatabaseMissingError, LineageError, NotFoundError
from lineagectl.serve.gate import StoreGate
from lineagectl.serve.reads import Library, answer
from lineagectl.serve.spool import Spool, SpoolError
from lineagectl.sources.ingest import DEFAULT_MAX_FUTURE
from lineagectl.sources.ingest.validate import Reject, validate

LINEAGE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"
HEALTH = "/api/v1/health"
RETRY_AFTER_SECONDS = 5
T = TypeVar("T")
# How long a read waits for the ingester's batch to commit before 503 (a batch takes seconds).
READ_WAIT_SECONDS = 30.0
READ_PREFIXES = ("/api/v1/", "/lineagectl/v1/")
EMPTY_PAGE = ("<!doctype html><meta charset=utf-8><title>lineagectl</title>"
              "<p>No events are stored yet: point a producer at <code>/api/v1/lineage</code>.")


@dataclass(frozen=True)
class Limits:
    """What one request may cost: body bytes (before and after gzip) and seconds of socket silence."""

    max_body: int = 32 << 20
    socket_timeout: float = 30.0


class BadRequest(Exception):
    """A request answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class Receiver(ThreadingHTTPServer):
    """The HTTP server: one thread per connection, appending accepted events to ``spool``."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], spool: Spool, token: str | None, limits: Limits,
                 access_log: Callable[[str], None] | None, health: Callable[[], dict],
                 index_page: Callable[[], str] | None = None, library: Library | None = None,
                 gate: StoreGate | None = None) -> None:
        self.spool = spool
        self.token = token.encode() if token else None
        self.limits = limits
        self.access_log = access_log
        self.health = health
        self.index_page = index_page
        self.library = library
        self.gate = gate or StoreGate()
        self.closing = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Lock()
        # The socket timeout cuts off a slow or silent client (slowloris); it is a class setting.
        handler = type("Handler", (Handler,), {"timeout": limits.socket_timeout})
        super().__init__(address, handler)

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """A request's turn: refused with 503 once stopping began, counted until it is answered."""
        with self._busy_lock:
            if self.closing.is_set():
                raise BadRequest(HTTPStatus.SERVICE_UNAVAILABLE, "the server is stopping",
                                 {"Retry-After": str(RETRY_AFTER_SECONDS)})
            self._busy += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy -= 1

    def quiesce(self, seconds: float) -> bool:
        """Refuse new requests (kept-alive connections outlive ``shutdown``) and wait up to ``seconds``
        for those under way, so that none is acknowledged after the final ingest; whether all ended."""
        self.closing.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._busy_lock:
                if not self._busy:
                    return True
            time.sleep(0.01)
        return False


def _inflate(body: bytes, cap: int) -> bytes:
    """``body`` gunzipped, never more than ``cap`` bytes of it (a gzip bomb is refused, not expanded)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, cap + 1)
    except zlib.error as exc:
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"body is not valid gzip: {exc}") from None
    if len(data) > cap or inflater.unconsumed_tail:
        raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"decompressed body is over {cap} bytes")
    if not inflater.eof:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "body is not valid gzip: the stream is truncated")
    return data


def checked(event: object, horizon: datetime) -> bytes:
    """``event`` as the compact JSON line the spool holds; ``Reject`` with ingest's reason if it cannot be stored."""
    _, when, _ = validate(event, ignored=[])  # a broken facet: the ingester leaves it out, with a warning
    if when > horizon:
        raise Reject(f"eventTime {format_timestamp(when)} is beyond the accepted future "
                     f"({format_timestamp(horizon)}): a producer's clock?")
    try:
        return orjson.dumps(event)
    except TypeError:
        raise Reject("nested more than 255 levels deep") from None


def _horizon() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + DEFAULT_MAX_FUTURE


class Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive (HTTP/1.1), as the clients' connection pools expect."""

    protocol_version = "HTTP/1.1"
    server_version = "lineagectl"
    sys_version = ""  # the Server header does not advertise the Python version
    # Headers and body leave in two writes; with Nagle's algorithm the body waited for the client's
    # delayed ACK: 40 ms per answer with a body (batch endpoint: 2,273 -> 35,000 events/s).
    disable_nagle_algorithm = True
    server: Receiver

    # --- answers ---------------------------------------------------------------------------

    def _send(self, status: HTTPStatus, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else orjson.dumps(payload)
        self.send_response(status, size=len(body))
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_response(self, code: int, message: str | None = None, size: int = 0) -> None:
        self._answer_size = size
        super().send_response(code, message)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request: client, method, path (without query), status, body size; never the body."""
        if self.server.access_log is not None:
            path = self.path.split("?", 1)[0]
            status = code.value if isinstance(code, HTTPStatus) else code
            self.server.access_log(f"{self.client_address[0]} {self.command} {path} {status} "
                                   f"{getattr(self, '_request_size', 0)}B in, {getattr(self, '_answer_size', 0)}B out")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log is not None:
            self.server.access_log(f"{self.client_address[0]} {format % args}")

    # --- methods ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._request_size = 0
        path = self.path.split("?", 1)[0]
        try:
            if path == HEALTH:  # open to probes: counts only, no lineage
                self._send(HTTPStatus.OK, self.server.health())
            elif path == "/" and self.server.index_page is not None:
                self._authorize()  # the page shows the lineage: as protected as what feeds it
                self._send_page(self.server.index_page)
            elif path.startswith(READ_PREFIXES) and self.server.library is not None:
                self._authorize()
                library = self.server.library
                self._send_json(self._read(lambda: answer(library, self.path)))
            else:
                raise BadRequest(HTTPStatus.NOT_FOUND, f"no such endpoint: GET {path}")
        except BadRequest as exc:
            self._send(exc.status, {"error": exc.message}, exc.headers)

    def _read(self, read: Callable[[], T]) -> T:
        """``read()`` in the store's read turn (``gate``); library errors as statuses, a bug as a 500."""
        try:
            with self.server.gate.reading(READ_WAIT_SECONDS):
                return read()
        except LineageError as exc:
            raise read_failure(exc) from None
        except Exception as exc:  # a bug: a 500 naming its class, never a traceback to the client
            if self.server.access_log is not None:
                self.server.access_log(f"internal error answering GET {self.path.split('?', 1)[0]}: "
                                       f"{type(exc).__name__}")
            raise BadRequest(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})") from None

    def _send_json(self, body: bytes) -> None:
        self.send_response(HTTPStatus.OK, size=len(body))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _send_page(self, page: Callable[[], str]) -> None:
        """The explorer page of the store; a short note while it is empty, 503 while another process
        holds the store past ``--wait``, and the reads' other statuses (``read_failure``)."""
        def page_or_note() -> str:
            try:
                return page()
            except DatabaseMissingError:
                return EMPTY_PAGE

        html = self._read(page_or_note)
        body = html.encode()
        self.send_response(HTTPStatus.OK, size=len(body))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self._request_size = 0
        self._body_read = False
        path = self.path.split("?", 1)[0]
        try:
            if path not in (LINEAGE, BATCH):
                raise BadRequest(HTTPStatus.NOT_FOUND, f"no such endpoint: POST {path}")
            self._authorize()
            with self.server.admitted():
                payload = orjson_body(self._body())
                if path == LINEAGE:
                    self._store_all(payload)
                    answer: tuple[HTTPStatus, Any] = (HTTPStatus.CREATED, None)
                else:
                    answer = (HTTPStatus.OK, self._store_batch(payload))
            self._send(*answer)
        except BadRequest as exc:
            if not self._body_read:
                self.close_connection = True  # the unread body would be taken for the next request
            self._send(exc.status, {"error": exc.message}, exc.headers)

    # --- steps -----------------------------------------------------------------------------

    def _authorize(self) -> None:
        expected = self.server.token
        if expected is None:
            return
        given = self.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), expected):
            raise BadRequest(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token",
                             {"WWW-Authenticate": 'Bearer realm="lineagectl"'})

    def _body(self) -> bytes:
        media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise BadRequest(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                             f"Content-Type must be application/json, not {media_type or 'missing'}")
        if encoding not in ("identity", "gzip"):
            raise BadRequest(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding} is not supported "
                             "(use gzip or none)")
        cap = self.server.limits.max_body
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length_text is None or not length_text.isdigit():
            raise BadRequest(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        length = int(length_text)
        if length > cap:
            raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body is over {cap} bytes")
        body = self.rfile.read(length)
        self._body_read = True
        self._request_size = len(body)
        if len(body) < length:
            self.close_connection = True
            raise BadRequest(HTTPStatus.BAD_REQUEST, "body is shorter than its Content-Length")
        return _inflate(body, cap) if encoding == "gzip" else body

    def _append(self, lines: list[bytes]) -> None:
        try:
            self.server.spool.append(lines)
        except SpoolError as exc:
            raise BadRequest(HTTPStatus.SERVICE_UNAVAILABLE, f"the spool cannot be written: {exc.strerror}",
                             {"Retry-After": str(RETRY_AFTER_SECONDS)}) from None

    def _store_all(self, payload: object) -> None:
        """One event, or an array stored only if every element can be (400 names the first that cannot)."""
        events = payload if isinstance(payload, list) else [payload]
        horizon = _horizon()
        lines = []
        for index, event in enumerate(events):
            try:
                lines.append(checked(event, horizon))
            except Reject as exc:
                where = f"event #{index + 1}: " if isinstance(payload, list) else ""
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"{where}{exc}") from None
        if lines:
            self._append(lines)

    def _store_batch(self, payload: object) -> dict:
        """The batch endpoint: every storable element is stored; the answer lists the others."""
        if not isinstance(payload, list):
            raise BadRequest(HTTPStatus.BAD_REQUEST, "the batch endpoint takes a JSON array of events")
        horizon = _horizon()
        lines, failed = [], []
        for index, event in enumerate(payload):
            try:
                lines.append(checked(event, horizon))
            except Reject as exc:
                failed.append({"index": index, "reason": str(exc), "retriable": False})
        if lines:
            self._append(lines)  # a spool failure fails the whole batch with 503: nothing was stored
        status = "success" if not failed else ("failure" if not lines else "partial_success")
        return {"status": status,
                "summary": {"received": len(payload), "successful": len(lines), "failed": len(failed),
                            "retriable": 0, "non_retriable": len(failed)},
                "failed_events": failed}


def read_failure(exc: LineageError) -> BadRequest:
    """The answer to a read the library refused: 404 unknown, 503 busy, 500 store trouble, else 400;
    ``{"error"}`` carries the message the command prints (with its hint)."""
    message = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    if isinstance(exc, DatabaseLockedError):
        return BadRequest(HTTPStatus.SERVICE_UNAVAILABLE, "the store is being written; retry in a moment",
                          {"Retry-After": "1"})
    if isinstance(exc, (NotFoundError, DatabaseMissingError)):
        return BadRequest(HTTPStatus.NOT_FOUND, message)
    if isinstance(exc, DatabaseError):
        return BadRequest(HTTPStatus.INTERNAL_SERVER_ERROR, message)
    return BadRequest(HTTPStatus.BAD_REQUEST, message)


def orjson_body(body: bytes) -> object:
    """The request's JSON value; 400 if it does not parse."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}") from None
