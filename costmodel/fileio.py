"""Output helpers: atomic file writes (a failure never leaves a half-written file)."""
from __future__ import annotations

import os
import tempfile
from typing import Union

from .errors import CostModelError


def read_bytes(path: str, what: str, error=CostModelError) -> bytes:
    """The bytes of an input file, or one line naming the file and the problem (``what`` says
    what the file should be: 'spec file', 'ONNX model')."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise error(f"{what} {path!r} not found") from None
    except IsADirectoryError:
        raise error(f"{path!r} is a directory, not a {what}") from None
    except OSError as e:
        raise error(f"cannot read {what} {path!r}: {e.strerror or e}") from None


def _umask_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's temporaries are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_writable(path: str) -> None:
    """Fail early, in one line, if ``path`` cannot be written."""
    d = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise CostModelError(f"cannot write {path!r}: it is a directory; give a file name")
    if not os.path.isdir(d):
        raise CostModelError(f"cannot write {path!r}: directory {d!r} does not exist")
    if not os.access(d, os.W_OK):
        raise CostModelError(f"cannot write {path!r}: directory {d!r} is not writable")


def _mkstemp(path: str, d: str, suffix: str = ""):
    """A temporary file beside ``path``; one-line error if the directory refuses it."""
    try:
        return tempfile.mkstemp(prefix=".costmodel-", suffix=suffix, dir=d)
    except OSError as e:
        raise CostModelError(f"cannot write {path!r}: {e.strerror or e}") from None


def write_atomic(path: str, data: Union[str, bytes]) -> None:
    """Write to a temporary file beside ``path``, then rename it into place."""
    check_writable(path)
    d = os.path.dirname(os.path.abspath(path))
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = _mkstemp(path, d)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CostModelError(f"cannot write {path!r}: {e.strerror or e}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class atomic_path:
    """Context manager yielding a temporary path for writers that need a file name (xlsx, png):
    ``with atomic_path("out.png") as tmp: fig.savefig(tmp)``; renamed into place on success."""

    def __init__(self, path: str, suffix: str = ""):
        self.path = path
        self.suffix = suffix or os.path.splitext(path)[1]

    def __enter__(self) -> str:
        check_writable(self.path)
        d = os.path.dirname(os.path.abspath(self.path))
        fd, self.tmp = _mkstemp(self.path, d, self.suffix)
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                os.chmod(self.tmp, _umask_mode())
                os.replace(self.tmp, self.path)
                return False
            except OSError as e:
                exc = CostModelError(f"cannot write {self.path!r}: {e.strerror or e}")
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        if exc_type is None:
            raise exc
        return False
