"""Reading UTF-16 and UTF-32 event logs (their byte-order mark says so) as UTF-8, streaming.

Windows PowerShell 5's ``>`` redirect writes UTF-16 LE with a BOM (``FF FE``); the
reader works on UTF-8 bytes, so such a file is decoded and re-encoded piece by
piece: memory stays bounded by the read size, whatever the file's length.
"""

from __future__ import annotations

import codecs
import io
import zlib
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Longest first: UTF-32 LE's mark starts with UTF-16 LE's.
_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_PIECE = 1 << 20
_SNIFF = 4096  # bytes looked at for a byte-order mark, or NULs that say the file is not text


def encoding_of(head: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when ``head`` starts with that encoding's byte-order mark, else None."""
    for mark, name in _MARKS:
        if head.startswith(mark):
            return name
    return None


class _Utf8(io.RawIOBase):
    """``stream`` (text in ``encoding``, its BOM first) read as UTF-8 bytes."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding.lower())()  # the BOM picks the byte order
        self._pending = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        while not self._pending and not self._ended:
            chunk = self._stream.read(_PIECE)
            self._ended = not chunk
            try:
                text = self._decoder.decode(chunk, final=self._ended)
            except UnicodeDecodeError as exc:
                raise OSError(
                    f"invalid {self._encoding} (its byte-order mark says {self._encoding}): {exc.reason}; "
                    f"convert it to UTF-8 (iconv -f {self._encoding} -t UTF-8, or PowerShell's "
                    f"Out-File -Encoding utf8)") from None
            self._pending = text.encode("utf-8", "surrogatepass")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def as_utf8(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself, or, when it starts with a UTF-16 or UTF-32 BOM, its text re-encoded as UTF-8.

    ``stream`` must support ``peek`` (an ``io.BufferedReader``). Raises ``OSError`` when the start of
    the stream holds a NUL byte without a BOM: not a text file (``/bin/ls``, a Parquet file).
    """
    try:
        head = stream.peek(_SNIFF)[:_SNIFF]  # type: ignore[attr-defined]
    except (EOFError, OSError, zlib.error):
        return stream  # a truncated gzip: reading it again reports why, where errors are caught
    encoding = encoding_of(head[:4])
    if encoding is None:
        if b"\x00" in head:  # JSON text in UTF-8 never holds a NUL byte
            raise OSError("not a text file: NUL bytes in its first bytes (a binary file, or UTF-16/32 "
                          "without a byte-order mark: convert it to UTF-8)")
        return stream
    return io.BufferedReader(_Utf8(stream, encoding), buffer_size=_PIECE)
