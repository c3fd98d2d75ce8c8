"""Files that are complete or absent: write to a temporary file next to the target, then rename over it.

A rename within one directory is atomic on POSIX file systems, so a process killed while writing leaves
the previous version of the file (or none), never a partial one. The temporary file's name carries the
host and process id (``.<name>.<host>.<pid>.<random>.tmp``): :func:`remove_stale_temporaries` deletes
those whose process is gone, and leaves alone those of a live process or of another host.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_SUFFIX = ".tmp"


def _host() -> str:
    return socket.gethostname().replace(".", "-")


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block ends without error
    and deleted when it raises (or left, named as a temporary, when the process is killed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{_host()}.{os.getpid()}."
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=_SUFFIX)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, flush it to disk, rename it to ``path``."""
    with atomic_target(path) as tmp, tmp.open("wb") as fh:
        write(fh)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_copy(source: str | Path, target: str | Path) -> None:
    """Copy a file atomically (the target is the old file or the complete copy, never a partial one)."""
    atomic_write(target, lambda fh: fh.write(Path(source).read_bytes()))


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary files of :func:`atomic_write` in ``directory`` left by a killed process of
    this host; return them."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    host = _host()
    for tmp in directory.glob(f".*{_SUFFIX}"):
        parts = tmp.name.rsplit(".", 4)  # [.name, host, pid, random, tmp]
        if len(parts) != 5 or parts[1] != host or not parts[2].isdigit():
            continue
        if not _process_alive(int(parts[2])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    if removed:
        log.warning("Removed %d partial file(s) of killed writes in %s", len(removed), directory)
    return removed
