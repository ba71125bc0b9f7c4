"""Preparing a large file's events on the second core.

A first ingest is paced by ``prepare`` (parse, validate, hash, split: ~6x a bare
parse in Python), and the GIL keeps it on one core beside DuckDB's writer and
the batching. So a large file's raw lines are prepared by a child process
(issue 20, item 3; docs/performance.md): a piece's lines reach it through
shared memory (``shared_lines.py``) and its answers come back pickled, in order,
while this process stores the pieces before; where there are more than two cores,
two children take turns (``helpers``). A child has two pieces in flight at most:
that bounds the memory, and it does not wait for its next piece while the parent
stores one.

The answers are ``prepare``'s own, so nothing about what is stored, rejected or
warned about depends on where an event was prepared. The child is a helper, not
a dependency: if it cannot start or dies (a bug in ``prepare`` included), the
pieces it did not answer are prepared here, which raises any bug in process. It
ignores Ctrl-C (this process decides what an interruption means) and ends when
its input closes, which also happens when this process is killed.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from array import array
from collections import deque
from collections.abc import Callable

from lineagectl.sources.ingest.prepare import Prepared, Rules, prepare
from lineagectl.sources.ingest.shared_lines import SharedLines, end_child
from lineagectl.store.skeleton import FacetHasher

Answer = Prepared | str
# ``prepare`` of one raw line and its line hash, in this process (when there is no child).
Local = Callable[[bytes, str], Answer]

_HEADER = 16  # slot, count, size, capacity: four little-endian 32-bit numbers
_REPLY = 8  # the length of the pickled answers that follow
_HASH = 32  # a line hash, hex (identity.line_hash)
_SLOTS = 2
_MAX_REPLY = 1 << 32  # a piece's answers are a few MB; a larger length is not an answer
_BLOBS = Prepared._fields.index("blobs")

# Started with the parent's import path, so the child imports this module whatever installed it. The
# packages named in argv[2] are entered bare, without running their __init__: those of the ingest and
# the store load DuckDB and Arrow (~50 MB more per child), and preparing uses neither (tested).
_BOOT = """
import json, sys, types
sys.path[:] = json.loads(sys.argv[1])
for name, path in json.loads(sys.argv[2]):
    sys.modules[name] = package = types.ModuleType(name)
    package.__path__ = [path]
from lineagectl.sources.ingest.prepare_child import serve
serve(sys.argv[3:])
"""
_BARE = ("lineagectl.sources.ingest", "lineagectl.store")


class PreparingChild:
    """``prepare`` of pieces of raw lines in a child; each piece's answers asked for after the next was sent.

    ``send(lines, hashes)`` hands a piece to the child (started with the first); ``receive()``
    returns the answers of the oldest piece not received yet, one per line, in order.
    """

    def __init__(self, rules: Rules, local: Local) -> None:
        self._rules = rules
        self._local = local
        self._child: subprocess.Popen | None = None
        self._started = False
        self._slots: list[SharedLines] = []
        self._turn = 0
        self._sent: deque[tuple[list[bytes], list[str]]] = deque()

    def _start(self) -> None:
        self._started = True
        try:
            for slot in range(_SLOTS):  # one by one: those made are closed if a later one fails
                self._slots.append(SharedLines(f"lineagectl-prepare-{slot}"))
            fds = [slot.fd for slot in self._slots]
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, json.dumps(sys.path),
                 json.dumps([(name, os.path.dirname(sys.modules[name].__file__ or "")) for name in _BARE]),
                 pickle.dumps(self._rules).hex(), *map(str, fds)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=fds)
        except (AttributeError, OSError):
            self._end(kill=True)  # prepared here instead

    def send(self, lines: list[bytes], hashes: list[str]) -> None:
        """Start preparing ``lines`` (raw lines) given their ``identity.line_hash`` es."""
        if len(self._sent) >= _SLOTS:
            raise RuntimeError("a piece's answers must be received before more are sent")
        self._sent.append((lines, hashes))
        if not self._started and lines:
            self._start()
        if self._child is None or not lines:
            return
        slot = self._turn
        self._turn = (self._turn + 1) % _SLOTS
        shared = self._slots[slot]
        lengths = array("I", map(len, lines)).tobytes()
        digests = "".join(hashes).encode()
        size = len(lengths) + len(digests) + sum(map(len, lines))
        try:
            shared.write([lengths, digests, *lines], size)
            stdin = self._child.stdin
            assert stdin is not None
            stdin.write(b"".join(n.to_bytes(4, "little") for n in (slot, len(lines), size, shared.capacity)))
            stdin.flush()
        except (OSError, ValueError, OverflowError):
            self._end(kill=True)

    def receive(self) -> list[Answer]:
        """The answers for the oldest piece sent and not received yet."""
        lines, hashes = self._sent.popleft()
        if self._child is not None and lines:
            stdout = self._child.stdout
            assert stdout is not None
            try:
                head = stdout.read(_REPLY)
                size = int.from_bytes(head, "little") if len(head) == _REPLY else 0
                answers = pickle.loads(stdout.read(size)) if 0 < size <= _MAX_REPLY else None
                if isinstance(answers, list) and len(answers) == len(lines):
                    return [answer if isinstance(answer, str) else Prepared._make(answer) for answer in answers]
            except Exception:
                # Only this process's own child writes to this pipe; whatever else comes (a child
                # that died mid-answer, an executable that is no python) is given up on.
                pass
            self._end(kill=True)
        return [self._local(line, digest) for line, digest in zip(lines, hashes, strict=True)]

    def close(self) -> None:
        """End the child: its input closed, it exits; killed if a piece is still in flight (an
        interrupted ingest: its answers are not wanted, and it may be blocked writing them)."""
        self._end(kill=any(lines for lines, _ in self._sent))
        self._sent.clear()

    def _end(self, kill: bool) -> None:
        child, self._child = self._child, None
        for shared in self._slots:
            shared.close()
        self._slots = []
        if child is not None:
            end_child(child, kill)


def helpers() -> int:
    """How many preparing children a large file gets: one core for each, one left for this
    process and DuckDB's writer, at most two (~70 MiB each); none on one core, where a child only
    adds the pickling. On two cores, one child: a second made the 100k bench log 10 % and the wide
    log 22 % faster but the 1M log 12 % slower, its writer short of CPU (docs/performance.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, min(2, cores - 1))


class Preparing:
    """Pieces of raw lines prepared by ``count`` children taking turns (``PreparingChild``), their
    answers received in the order the pieces were sent. Up to ``ahead`` pieces may be sent before
    the first one's answers are asked for, which keeps every child busy."""

    def __init__(self, rules: Rules, local: Local, count: int) -> None:
        self._children = [PreparingChild(rules, local) for _ in range(count)]
        self._turns: deque[PreparingChild] = deque()
        self._next = 0
        self.ahead = count

    def send(self, lines: list[bytes], hashes: list[str]) -> None:
        """Start preparing ``lines`` given their ``identity.line_hash`` es, in the next child's turn."""
        child = self._children[self._next]
        self._next = (self._next + 1) % len(self._children)
        child.send(lines, hashes)
        self._turns.append(child)

    def receive(self) -> list[Answer]:
        """The answers for the oldest piece sent and not received yet."""
        return self._turns.popleft().receive()

    def close(self) -> None:
        """End every child (see ``PreparingChild.close``)."""
        for child in self._children:
            child.close()
        self._turns.clear()


def serve(argv: list[str]) -> None:
    """The child: prepare each piece the parent lays in shared memory, answer with the pickled answers."""
    import mmap

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rules = pickle.loads(bytes.fromhex(argv[0]))
    fds = [int(fd) for fd in argv[1:]]
    hasher = FacetHasher()
    read, write, flush = sys.stdin.buffer.read, sys.stdout.buffer.write, sys.stdout.buffer.flush
    maps: list[tuple[int, mmap.mmap | None]] = [(0, None)] * len(fds)
    while len(head := read(_HEADER)) == _HEADER:
        slot, count, size, capacity = (int.from_bytes(head[at:at + 4], "little") for at in range(0, _HEADER, 4))
        mapped, shared = maps[slot]
        if mapped != capacity or shared is None:
            if shared is not None:
                shared.close()
            shared = mmap.mmap(fds[slot], capacity, access=mmap.ACCESS_READ)
            maps[slot] = (capacity, shared)
        data = memoryview(shared)[:size]
        lengths = array("I")
        lengths.frombytes(data[:4 * count])
        hashes = bytes(data[4 * count:(4 + _HASH) * count]).decode()
        at = (4 + _HASH) * count
        answers: list[str | tuple] = []
        blobs: dict[str, bytes] = {}
        for number, length in enumerate(lengths):
            line = bytes(data[at:at + length])
            answer = prepare(line, None, hashes[number * _HASH:(number + 1) * _HASH], rules, hasher)
            at += length
            if isinstance(answer, str):
                answers.append(answer)
                continue
            # The same facet in many events is pickled once: each event names one bytes object. A
            # plain tuple: pickling a named tuple calls back into Python for each (5 % of the child's
            # samples in a profile), and so did _replace (4 %).
            interned = {digest: blobs.setdefault(digest, blob) for digest, blob in answer.blobs.items()}
            answers.append((*answer[:_BLOBS], interned, *answer[_BLOBS + 1:]))
        data.release()
        reply = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
        write(len(reply).to_bytes(_REPLY, "little"))
        write(reply)
        flush()
