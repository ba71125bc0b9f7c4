"""The one HTTP client of lineagectl's outgoing requests (``export --to``, ``import-marquez``).

One keep-alive connection to one backend; the bearer token in a header (never in
the URL); 5xx and 429 answers and dropped or refused connections retried with
exponential backoff (honouring ``Retry-After``), a bounded number of times; an
untrusted certificate is not retried. ``https://`` is verified against the system's
CAs (OpenSSL's ``SSL_CERT_FILE`` names another bundle). Any
other answer, 4xx included, is returned to the caller, whose answer it is.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from lineagectl.errors import InputError

RETRIES = 5
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
# What an answer may weigh in memory: a summary or an error is small; a Marquez page of a few
# hundred events is a few MiB; this is far above either and far below what would hurt.
MAX_ANSWER = 256 << 20


class GaveUp(Exception):
    """A retriable failure outlasted the retries; ``reason``: the last one (``HTTP 503``, a refused connection)."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


@dataclass(frozen=True)
class Answer:
    """A backend's final answer to one request."""

    status: int
    body: bytes
    content_type: str


class Backend:
    """The backend at ``url`` (``http://`` or ``https://``, optionally with a path prefix).

    ``option`` names the setting the URL came from, for messages (``--to``). ``retries``: how many
    times a retriable failure is tried again (0: never). ``sleep`` waits between attempts.
    """

    def __init__(self, url: str, option: str, *, token: str | None = None, timeout: float = 30.0,
                 retries: int = RETRIES, sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"{option}: {url!r} is not an http:// or https:// URL")
        if retries < 0:
            raise InputError("--retries must be 0 or more")
        try:
            port = parts.port
        except ValueError:
            raise InputError(f"{option}: {url!r} has an invalid port") from None
        self.url = url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.attempts = retries + 1
        self.sleep = sleep
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.connection = kind(parts.hostname, port, timeout=timeout)

    def address(self, path: str, query: dict[str, object] | None = None) -> str:
        """The full URL of ``path`` (below the backend's prefix) with ``query``, for messages."""
        return self.url + path + (f"?{urlencode(query)}" if query else "")

    def request(self, method: str, path: str, *, body: bytes | None = None, query: dict[str, object] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        """Send one request, retrying what may pass on a later try; ``GaveUp`` when it never did."""
        target = self.prefix + path + (f"?{urlencode(query)}" if query else "")
        sent = {**self.headers, **(headers or {})}
        backoff, last = FIRST_BACKOFF, ""
        for attempt in range(self.attempts):
            try:
                self.connection.request(method, target, body, sent)
                answer = self.connection.getresponse()
                data = answer.read(MAX_ANSWER + 1)
                if len(data) > MAX_ANSWER:
                    self.connection.close()
                    raise InputError(f"{self.address(path, query)}: the answer is larger than "
                                     f"{MAX_ANSWER >> 20} MiB", hint="ask for less at once (a smaller page)")
                if answer.status < 500 and answer.status != 429:
                    return Answer(answer.status, data, answer.getheader("Content-Type") or "")
                last = f"HTTP {answer.status}"
                wait = _retry_after(answer.getheader("Retry-After"), backoff)
            except ssl.SSLCertVerificationError as exc:  # trying again cannot make it trusted
                self.connection.close()
                raise GaveUp(f"the server's certificate is not trusted: {exc.verify_message} (for a private "
                             "CA, point SSL_CERT_FILE at its PEM file)", attempt + 1) from None
            except (OSError, http.client.HTTPException) as exc:
                self.connection.close()
                last, wait = f"{type(exc).__name__}: {exc}", backoff
            if attempt + 1 < self.attempts:
                self.sleep(wait)
                backoff = min(backoff * 2, MAX_BACKOFF)
        raise GaveUp(last, self.attempts)

    def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        self.connection.close()


def _retry_after(value: str | None, default: float) -> float:
    try:
        return min(max(float(value), 0.0), MAX_BACKOFF) if value else default
    except ValueError:
        return default
