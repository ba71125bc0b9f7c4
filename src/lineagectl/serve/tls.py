"""TLS for ``lineagectl serve --certfile F --keyfile F`` (the standard library's ``ssl``).

The listening socket stays plain; each accepted connection is wrapped without a
handshake, which then happens on the connection's own thread at its first read,
under the same socket timeout as a request. So a client that is slow to shake
hands (or one speaking plain HTTP to the TLS port) holds up only its own
connection, never the accept loop. A failed handshake is one line in the access
log, not a traceback.
"""

from __future__ import annotations

import os
import ssl
import sys
from pathlib import Path
from typing import Any

from lineagectl.errors import InputError
from lineagectl.serve.app import Receiver


def server_context(certfile: Path, keyfile: Path | None) -> ssl.SSLContext:
    """A server-side context (TLS 1.2 or later) holding the certificate chain and its key.

    ``InputError`` (exit 2) for a file that is missing or unreadable, a certificate file without
    a PEM certificate, a key file without a usable key (or one protected by a passphrase), and
    a key that does not belong to the certificate. ``keyfile`` None: the key is in ``certfile``.
    """
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is not None:
            _readable(option, path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    key_text = _head(keyfile or certfile)
    if b"ENCRYPTED" in key_text:
        raise InputError(f"--keyfile {keyfile or certfile}: the private key is protected by a passphrase",
                         hint="serve reads keys without one: openssl pkey -in KEY -out PLAIN_KEY")
    try:
        context.load_cert_chain(certfile, keyfile, password=lambda: b"")
    except ssl.SSLError as exc:
        raise _chain_error(certfile, keyfile, exc) from None
    return context


def _readable(option: str, path: Path) -> None:
    if not path.exists():
        raise InputError(f"{option} {path}: no such file")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory, not a PEM file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot be read: {exc.strerror}") from None


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(1 << 20)


def _chain_error(certfile: Path, keyfile: Path | None, exc: ssl.SSLError) -> InputError:
    """Which file is wrong: a mismatch, a certificate that does not parse, or a key that does not."""
    if exc.reason == "KEY_VALUES_MISMATCH":
        return InputError(f"--keyfile {keyfile or certfile}: the private key does not match the certificate "
                          f"in --certfile {certfile}")
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=os.fspath(certfile))
    except ssl.SSLError:
        return InputError(f"--certfile {certfile}: holds no PEM certificate")
    return InputError(f"--keyfile {keyfile or certfile}: holds no usable PEM private key ({exc.reason or exc})")


class TLSReceiver(Receiver):
    """The receiver speaking HTTPS: connections are wrapped as accepted, shaken hands with on their thread."""

    context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        try:
            wrapped = self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        except OSError:
            connection.close()
            raise
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLError | ConnectionError | TimeoutError):
            if self.access_log is not None:  # a refused handshake: the client's problem, one line
                reason = getattr(error, "reason", None) or type(error).__name__
                self.access_log(f"{client_address[0]} TLS connection failed: {reason}")
            return
        super().handle_error(request, client_address)
