"""Writing files so that a crash or another reader never sees half of one.

Settings, secrets and the sandbox's state are all replaced the same way: a
temporary file in the same directory, created with its final mode, renamed
over the target (``rename`` is atomic on POSIX). Temporary names carry the
writer's pid so a file left by a killed writer can be told from one that is
still being written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def write_atomic(
    path: Path, data: bytes, *, mode: int = 0o600, fsync: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically, created with ``mode``.

    The temporary file is created with O_CREAT|O_EXCL and 0600 (then given
    ``mode``), so the content is never readable by others, not even for a
    moment. With ``fsync`` the data and then the directory entry are flushed,
    so the new content survives a power loss; without it the write is still
    atomic for concurrent readers.
    """
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory
    )
    tmp = Path(tmp_name)
    try:
        if mode != 0o600:  # mkstemp already created it 0600
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if fsync:
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(dir_fd)


def remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files left by a process killed while writing ``path``.

    Their names carry the writer's pid; a file whose writer is gone is
    removed, one whose writer still runs is left alone.
    """
    for candidate in path.parent.glob(f".{path.name}.*.tmp"):
        parts = candidate.name[len(path.name) + 2 :].split(".")
        try:
            pid = int(parts[0])
        except (ValueError, IndexError):
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            log.debug("removed stale temporary file %s", candidate)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created 0600) between
    processes: serialises read-modify-write of the secrets file, and the
    load-change-save of ``bpmnb settings set``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no fcntl
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
