"""A disk that fails every read with EIO, for the mount-script tests: a FUSE file system holding one
file, `disk`, to put a loop device on. Reads of the loop device then fail in the kernel exactly as a
broken volume's do; writes succeed and are logged, so a test can tell whether anything was written.

Usage: python failing_disk.py MOUNTPOINT SIZE_BYTES WRITE_LOG   (runs in the foreground until unmounted)
"""

from __future__ import annotations

import errno
import stat
import sys
from pathlib import Path
from typing import Any

import mfusepy as fuse

DISK = "/disk"


class FailingDisk(fuse.Operations):
    """One regular file whose reads fail with EIO and whose writes are logged as "write OFFSET LENGTH"."""

    use_ns = True

    def __init__(self, size: int, write_log: Path) -> None:
        self.size = size
        self.write_log = write_log

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o700, "st_nlink": 2}
        if path == DISK:
            return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": self.size}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", DISK[1:]]

    def open(self, path: str, flags: int) -> int:
        return 0

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        raise fuse.FuseOSError(errno.EIO)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self.write_log.open("a") as log:
            log.write(f"write {offset} {len(data)}\n")
        return len(data)


def main(argv: list[str]) -> None:
    mountpoint, size, write_log = argv[1], int(argv[2]), Path(argv[3])
    write_log.touch()
    fuse.FUSE(FailingDisk(size, write_log), mountpoint, foreground=True)


if __name__ == "__main__":
    main(sys.argv)
