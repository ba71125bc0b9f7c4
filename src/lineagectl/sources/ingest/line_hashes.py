"""Hashing a large file's raw lines on the second core.

Every raw line is hashed (BLAKE2b, ``identity.line_hash``) to recognise the lines a
store holds already; for a log the store holds, that is most of the work (0.7 s
of ~2 s per 100k events here). hashlib cannot share it with a thread: it lets go
of the GIL for each line's few microseconds only, and taking it back after each
one made a hashing thread slower than none (measured, docs/performance.md). So a
large file's lines are hashed by a small child process (standard library only,
started in ~20 ms): a chunk's lines are laid in shared memory and hashed there
while the next chunk is read, and their hashes come back in order.

The child is a helper, not a dependency: if it cannot start or dies, the lines
are hashed here, with the same answer. It ignores Ctrl-C (this process decides
what an interruption means) and ends when its input closes, which also happens
when this process is killed.
"""

from __future__ import annotations

import subprocess
import sys
from array import array

from lineagectl.sources.ingest.identity import line_hash
from lineagectl.sources.ingest.shared_lines import SharedLines, end_child

# Files smaller than this are hashed in process: a child costs ~20 ms to start.
CHILD_MIN_BYTES = 16 << 20

_DIGEST = 16

# The child: for each (count, size, capacity) header and ``count`` lengths read from stdin, hash
# ``count`` lines laid end to end at the start of the shared memory file ``argv[1]`` (mapped again
# when its capacity grew) and write their digests, _DIGEST bytes each, to stdout. A line's hash
# leaves out its line ending, as line_hash does; the hash is identity.event_hash (tests check they agree).
_CHILD = r"""
import mmap, signal, sys
from array import array
from hashlib import blake2b
signal.signal(signal.SIGINT, signal.SIG_IGN)
fd = int(sys.argv[1])
read, write, flush = sys.stdin.buffer.read, sys.stdout.buffer.write, sys.stdout.buffer.flush
shared, capacity = None, 0
while True:
    head = read(12)
    if len(head) < 12:
        break
    count, size, grown = (int.from_bytes(head[at:at + 4], "little") for at in (0, 4, 8))
    lengths = array("I")
    lengths.frombytes(read(4 * count))
    if len(lengths) != count:
        break
    if grown != capacity:
        shared, capacity = mmap.mmap(fd, grown, access=mmap.ACCESS_READ), grown
    view, at, out = memoryview(shared)[:size], 0, []
    for n in lengths:
        end = at + n
        if n and view[end - 1] == 10:
            end -= 2 if n > 1 and view[end - 2] == 13 else 1
        out.append(blake2b(view[at:end], digest_size=16).digest())
        at += n
    view.release()
    write(b"".join(out))
    flush()
"""


class LineHashes:
    """``line_hash`` of chunks of lines, each chunk's hashes asked for after the next was read.

    ``send(lines)`` hands a chunk to the child (started with the first); ``receive()``
    returns its hashes (hex, as ``line_hash``), in order. One chunk is in flight at a time.
    The lines reach the child through shared memory (a pipe cost ~1 s per 330 MB here,
    more than the hashing it saves); without ``os.memfd_create`` (outside Linux) there is
    no child.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen | None = None
        self._started = False
        self._sent: list[bytes] | None = None
        self._shared: SharedLines | None = None

    def _start(self) -> None:
        """Start the child (on the first chunk sent: an ingest may never need it)."""
        self._started = True
        try:
            self._shared = SharedLines("lineagectl-lines")
            fd = self._shared.fd
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD, str(fd)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=(fd,))
        except (AttributeError, OSError):
            self._child = None  # hashed here instead

    def send(self, lines: list[bytes]) -> None:
        """Start hashing ``lines`` (raw lines, with or without their line endings)."""
        self._sent = lines
        if not self._started and lines:
            self._start()
        if self._child is None or not lines:
            return
        lengths = array("I", map(len, lines))
        size = sum(lengths)
        try:
            shared = self._shared
            assert shared is not None
            shared.write(lines, size)
            stdin = self._child.stdin
            assert stdin is not None
            stdin.write(b"".join(n.to_bytes(4, "little") for n in (len(lines), size, shared.capacity)))
            stdin.write(lengths.tobytes())
            stdin.flush()
        except (OSError, ValueError, OverflowError):
            self._give_up()

    def receive(self) -> list[str]:
        """The hashes of the lines last sent."""
        lines, self._sent = self._sent or [], None
        if self._child is not None and lines:
            stdout = self._child.stdout
            assert stdout is not None
            try:
                digests = stdout.read(_DIGEST * len(lines))
            except (OSError, ValueError):
                digests = b""
            if len(digests) == _DIGEST * len(lines):
                text = digests.hex()
                return [text[at:at + 2 * _DIGEST] for at in range(0, len(text), 2 * _DIGEST)]
            self._give_up()
        return [line_hash(line) for line in lines]

    def _give_up(self) -> None:
        """Hash here from now on (the child could not take or answer a chunk)."""
        self._end(kill=True)

    def close(self) -> None:
        """End the child: its input closed, it exits; killed if a chunk is still in flight (an
        interrupted ingest: its answer is not wanted, and it may be blocked writing it)."""
        self._end(kill=bool(self._sent))

    def _end(self, kill: bool) -> None:
        child, self._child = self._child, None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if child is not None:
            end_child(child, kill)
