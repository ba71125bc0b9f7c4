"""Chunks of raw lines handed to a helper child process through shared memory; ending such a child.

A pipe cost ~1 s of the parent's time per 330 MB here, more than some of the
work a child takes over, and a child busy with one chunk would block a parent
writing the next into a pipe. So a chunk's lines are laid end to end in a
memory file (``os.memfd_create``, Linux) that the child maps; only a small
header goes through its pipe. Without ``memfd_create`` there is no child: the
callers do the work in process.
"""

from __future__ import annotations

import mmap
import os
import subprocess
from collections.abc import Iterable


class SharedLines:
    """A memory file a child maps, rewritten from its start for each chunk (grown as needed)."""

    def __init__(self, name: str) -> None:
        # AttributeError outside Linux, OSError when the kernel refuses: the caller works in process.
        self.fd = os.memfd_create(name)
        self.capacity = 0
        self._map: mmap.mmap | None = None

    def write(self, parts: Iterable[bytes], size: int) -> None:
        """Lay ``parts`` (``size`` bytes in all) end to end from the start of the file."""
        if size > self.capacity:
            if self._map is not None:
                self._map.close()
            self.capacity = max(size, 2 * self.capacity)
            os.ftruncate(self.fd, self.capacity)
            self._map = mmap.mmap(self.fd, self.capacity)
        shared = self._map
        if shared is None:  # nothing to write into a file never grown
            return
        shared.seek(0)
        write = shared.write
        for part in parts:  # straight into the shared pages: no joined copy to allocate
            write(part)

    def close(self) -> None:
        """Unmap and close the file (the child's mapping stays valid until it unmaps it)."""
        if self._map is not None:
            self._map.close()
            self._map = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def end_child(child: subprocess.Popen, kill: bool) -> None:
    """End a helper child reading its input from a pipe: its input closed, it exits (waited for up
    to 2 s); ``kill``: at once (an interrupted ingest: its answer is not wanted, and it may be
    blocked writing it)."""
    try:
        if kill:
            child.kill()
        else:
            assert child.stdin is not None
            child.stdin.close()
        child.wait(timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        child.kill()
        child.wait()
    finally:
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass  # a kill left unwritten data: nothing to keep
