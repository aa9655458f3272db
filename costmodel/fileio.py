"""Reading input files and writing every output file: one place, one rule.

The rule for an output path (``-o FILE`` of every command, ``--plot FILE``, and the Python
writers: ``write_atomic`` for text and bytes, ``atomic_path`` for xlsx, png, pdf and svg):

- ``-`` is standard output. Binary formats (xlsx, png, pdf, npz) go to its byte stream, and are
  refused, in one line, when standard output is a terminal.
- A path that does not exist is created atomically: written to a temporary ``.costmodel-XXXX``
  file beside it, then renamed into place, so a failure never leaves a half-written file. Its
  mode follows the umask.
- An existing regular file is replaced atomically the same way; its permission bits are kept, and
  its owner and group where the process may set them (as root, or when the file is yours). A
  read-only file (no write bit set, or not writable by you) is replaced only with ``force``
  (``--force``): without it, one line says so, even as root. A file with other hard links is
  replaced under this name only.
- A symbolic link is followed: the rule applies to its target, which is replaced (or created);
  the link stays a link.
- A FIFO or a character device (``/dev/null``, ``/dev/full``, a terminal) is written through:
  opened and written, never replaced, created or deleted. A stream cannot be written atomically:
  what was written before an error stays written. ``/dev/stdout`` is standard output, like '-';
  ``/dev/stderr`` and ``/dev/fd/N`` are written through the descriptor the process already has.
- A directory, a block device or a socket is refused in one line.

Every write error (disk full, file too large, I/O error, broken pipe, closed standard output)
is an ``OutputError``: one line naming the path and the reason. A temporary file is removed on
any exception, including the ``Interrupted`` exception the CLI raises on SIGTERM and SIGHUP.
"""
from __future__ import annotations

import contextvars
import os
import re
import secrets
import stat
import sys
import time
from dataclasses import dataclass

from .errors import CostModelError

#: the output path that means standard output
STDOUT = "-"

#: replace read-only files without asking (the CLI's --force sets it; the writers' ``force=`` wins)
FORCE = contextvars.ContextVar("costmodel_force", default=False)

#: test-only hook: a path; writers record their temporary file there and pause before renaming
HOLD_ENV = "COSTMODEL_TEST_HOLD_WRITE"

#: temporary files not yet renamed or removed (``discard_pending`` removes them)
_PENDING: set = set()


class OutputError(CostModelError):
    """A write failed or was refused: the output path's kind, permissions, or an I/O error."""


class BrokenOutputPipe(OutputError):
    """Standard output was a pipe whose reader has gone (``costmodel ... | head``)."""


def set_force(flag: bool) -> None:
    FORCE.set(bool(flag))


#: what each input kind is (``read_bytes``'s ``what``) -> the size limit it is read under (costmodel.limits)
TEXT_INPUTS = ("spec file", "device file", "Python file")


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _a(what: str) -> str:
    return ("an " if what[:1].lower() in "aeio" else "a ") + what


def read_bytes(path, what: str, error=CostModelError, *, limit: str | None = None) -> bytes:
    """The bytes of an input file, or one line naming the file and the problem (``what`` says
    what the file should be: 'spec file', 'ONNX model', 'device file', 'Python file', 'weights file').

    Every input file of costmodel is read here, under the resource policy (costmodel.limits):
    only a regular file is read (a symlink is followed); a FIFO, a terminal, a device such as
    /dev/zero or /dev/urandom, a socket or a directory is refused before anything is read, so
    that nothing blocks or runs without end. A file larger than its kind's limit (``limit``: a key
    of ``costmodel.limits.LIMITS``; default ``text_bytes`` for the ``TEXT_INPUTS`` kinds,
    ``model_bytes`` otherwise) is refused with a ``LimitError``, also when it grows while read."""
    from . import limits
    fd, shown, key = _open_input(path, what, error, limit)
    try:
        cap = limits.get(key)
        chunks, total = [], 0
        while True:
            b = os.read(fd, min(1 << 22, cap + 1 - total))
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > cap:
                limits.check(key, total, f"{what} size (still growing while read)", shown)
        return b"".join(chunks)
    except OSError as e:
        raise error(f"cannot read {what} {shown}: {_reason(e)}") from None
    finally:
        os.close(fd)


def check_input(path, what: str, error=CostModelError, *, limit: str | None = None) -> None:
    """The checks of ``read_bytes`` without the reading (a command that loads a large input later
    tells a missing or unreadable file before its slow work)."""
    os.close(_open_input(path, what, error, limit)[0])


def _open_input(path, what: str, error, limit: str | None):
    """(an open descriptor, the path as errors show it, the limit's key) of a regular input file
    within its size limit, or the one-line error ``read_bytes`` documents."""
    from . import limits
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"{_a(what)} must be given as a file path, got {type(path).__name__}")
    path = os.fspath(path)
    shown = repr(path) if len(path) <= 200 else repr(path[:120] + "..." + path[-40:])
    if not path:
        raise error(f"{what} '': empty file name")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{what} {shown} not found") from None
    except IsADirectoryError:
        raise error(f"{shown} is a directory, not {_a(what)}") from None
    except OSError as e:
        raise error(f"cannot read {what} {shown}: {_reason(e)}") from None
    key = limit or ("text_bytes" if what in TEXT_INPUTS else "model_bytes")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{shown} is {_not_regular(st.st_mode)}, not {_a(what)}: input files are read from regular "
                        f"files only")
        limits.check(key, st.st_size, f"{what} size", shown)
    except BaseException as e:
        os.close(fd)
        if isinstance(e, OSError):
            raise error(f"cannot read {what} {shown}: {_reason(e)}") from None
        raise
    return fd, shown, key


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind ``exc``, if any (writers such as XlsxWriter wrap it in their own type)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


# ----------------------------------------------------------------------------- where a path leads
@dataclass
class Target:
    """Where a write to ``path`` goes. ``kind``: 'stdout', 'new' (create ``real``), 'replace'
    (replace the regular file ``real``, keeping ``st``'s mode and owner) or 'stream' (write
    through to the FIFO or character device ``real``, or to this process's descriptor ``fd``)."""
    path: str
    kind: str
    real: str = ""
    st: os.stat_result | None = None
    fd: int | None = None

    @property
    def name(self) -> str:
        """The path as the user gave it, and where a symlink leads."""
        if self.kind == "stdout":
            return "standard output"
        return repr(self.path) + (f" (a link to {self.real!r})" if os.path.islink(self.path) else "")


def kind_of(mode: int) -> str:
    """What the rule does with an existing file of this ``st_mode``: 'replace', 'stream' or the
    reason it is refused."""
    if stat.S_ISREG(mode):
        return "replace"
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return "stream"
    if stat.S_ISDIR(mode):
        return "it is a directory; give a file name"
    what = "block device" if stat.S_ISBLK(mode) else "socket" if stat.S_ISSOCK(mode) else "special file"
    return f"it is a {what}; outputs go to regular files, FIFOs or character devices only"


_FD_PATH = re.compile(r"^/(?:dev|proc/(self|thread-self|\d+))/fd/(\d+)$")


def own_descriptor(path: str) -> int | None:
    """The descriptor of this process that ``path`` names (/dev/stdout, /dev/stderr, /dev/fd/N,
    /proc/self/fd/N, or a symlink to one), else None. Such a path is written through the
    descriptor itself, as the shell opened it (a pipe, a terminal, a file opened with >>)."""
    p = os.path.abspath(path)
    for _ in range(40):
        m = _FD_PATH.match(p)
        if m:
            who = m.group(1)
            return int(m.group(2)) if who in (None, "self", "thread-self") or int(who) == os.getpid() else None
        try:
            if not os.path.islink(p):
                return None
            p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
        except OSError:
            return None
    return None


def is_stdout(path) -> bool:
    """Whether ``path`` means standard output: '-', /dev/stdout, /dev/fd/1, /proc/self/fd/1."""
    return isinstance(path, (str, os.PathLike)) and (os.fspath(path) == STDOUT or own_descriptor(os.fspath(path)) == 1)


def _read_only_fs(d: str) -> bool:
    try:
        return bool(os.statvfs(d).f_flag & getattr(os, "ST_RDONLY", 0))
    except (OSError, AttributeError):
        return False


def resolve(path, force: bool | None = None) -> Target:
    """Apply the rule (module docstring) to ``path``: where the write goes, or one line saying
    why it cannot. Nothing is created."""
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"an output must be a file path or '-', got {type(path).__name__}")
    path = os.fspath(path)
    if path == STDOUT:
        return Target(path, "stdout")
    if not path:
        raise OutputError("cannot write '': empty file name (give a file name, or '-' for standard output)")
    if path.endswith(os.sep) and not os.path.isdir(path):
        raise OutputError(f"cannot write {path!r}: a file name cannot end in {os.sep!r}")
    fd = own_descriptor(path)
    if fd is not None:
        try:
            st = os.fstat(fd)
        except OSError:
            raise OutputError(f"cannot write {path!r}: file descriptor {fd} is not open") from None
        return Target(path, "stdout") if fd == 1 else Target(path, "stream", path, st, fd)
    real = os.path.realpath(path)
    t = Target(path, "new", real)
    try:
        t.st = os.stat(real)
    except FileNotFoundError:
        t.st = None
    except OSError as e:
        raise OutputError(f"cannot write {path!r}: {_reason(e)}") from None
    if t.st is not None:
        t.kind = kind_of(t.st.st_mode)
        if t.kind not in ("replace", "stream"):
            raise OutputError(f"cannot write {t.name}: {t.kind}")
        if t.kind == "stream":
            if not os.access(real, os.W_OK):
                raise OutputError(f"cannot write {t.name}: permission denied")
            return t
    d = os.path.dirname(real) or "."
    if not os.path.isdir(d):
        raise OutputError(f"cannot write {t.name}: directory {d!r} does not exist")
    if _read_only_fs(d):
        raise OutputError(f"cannot write {t.name}: {d!r} is on a read-only file system")
    if t.st is not None:
        force = FORCE.get() if force is None else force
        if not force and (not t.st.st_mode & 0o222 or not os.access(real, os.W_OK)):
            how = "read-only" if not t.st.st_mode & 0o222 else "not writable by you"
            raise OutputError(f"cannot write {t.name}: the file is {how} (mode {stat.S_IMODE(t.st.st_mode):04o}); "
                              f"use --force to replace it")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {t.name}: directory {d!r} is not writable")
    return t


def check_writable(path, force: bool | None = None) -> Target:
    """Fail early, in one line, if ``path`` cannot be written (see ``resolve``)."""
    return resolve(path, force)


# ----------------------------------------------------------------------------- temporary files
def _mkstemp(t: Target, d: str, suffix: str = ""):
    """A new ``.costmodel-XXXX`` file in ``d``, registered in ``_PENDING`` before it exists
    (a signal arriving at any point leaves nothing that ``discard_pending`` does not remove)."""
    for _ in range(100):
        tmp = os.path.join(d, f".costmodel-{secrets.token_hex(8)}{suffix}")
        _PENDING.add(tmp)
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600), tmp
        except FileExistsError:
            _PENDING.discard(tmp)
        except OSError as e:
            _PENDING.discard(tmp)
            raise OutputError(f"cannot write {t.name}: {_reason(e)} (creating a temporary file in {d!r})") from None
    raise OutputError(f"cannot write {t.name}: no free temporary file name in {d!r}")


def _mkscratch(t: Target) -> str:
    """A private directory (0700) in the system's temporary directory, registered before it exists,
    for a writer's own temporary files (XlsxWriter leaves its parts behind when it fails)."""
    import tempfile
    base = tempfile.gettempdir()
    for _ in range(100):
        d = os.path.join(base, f"costmodel-{secrets.token_hex(8)}")
        _PENDING.add(d)
        try:
            os.mkdir(d, 0o700)
            return d
        except FileExistsError:
            _PENDING.discard(d)
        except OSError as e:
            _PENDING.discard(d)
            raise OutputError(f"cannot write {t.name}: {_reason(e)} (creating a scratch directory in {base!r})") \
                from None
    raise OutputError(f"cannot write {t.name}: no free scratch directory name in {base!r}")


def _remove(tmp: str) -> None:
    """Remove a temporary file or scratch directory (quietly: it may be gone already)."""
    try:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.unlink(tmp)
    except OSError:
        pass
    _PENDING.discard(tmp)


def discard_pending() -> None:
    """Remove every temporary file a writer has not yet renamed or removed (the CLI calls it
    when a signal ends the process)."""
    for tmp in list(_PENDING):
        _remove(tmp)


def _hold(tmp: str) -> None:
    """Test hook (``COSTMODEL_TEST_HOLD_WRITE=FILE``): write the temporary file's path to FILE,
    then pause (at most 120 s) so that a test can signal the process in the middle of a write."""
    marker = os.environ.get(HOLD_ENV)
    if not marker:
        return
    with open(marker, "w") as f:
        f.write(tmp)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.02)


def _keep_mode_and_owner(tmp: str, st: os.stat_result | None) -> None:
    """Give ``tmp`` the mode of the file it replaces (a new file: the umask's), and its owner and
    group where permitted."""
    if st is None:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        return
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        for uid in (st.st_uid, -1):
            try:
                os.chown(tmp, uid, st.st_gid)
                break
            except OSError:
                pass
    os.chmod(tmp, stat.S_IMODE(st.st_mode) & 0o777)


def _commit(t: Target, tmp: str) -> None:
    _keep_mode_and_owner(tmp, t.st)
    os.replace(tmp, t.real)
    _PENDING.discard(tmp)


# ----------------------------------------------------------------------------- streams
def _stdout(binary: bool):
    out = sys.stdout
    if out is None:
        raise OutputError("cannot write to standard output: it is closed")
    if binary:
        if out.isatty():
            raise OutputError("refusing to write a binary file to a terminal: redirect standard output "
                              "(> FILE or | ...) or give -o FILE")
        out.flush()
        return out.buffer
    return out


def _write_stream(t: Target, chunks) -> None:
    """Write ``chunks`` (bytes) through to standard output, a FIFO or a character device."""
    try:
        if t.kind == "stdout":
            out = _stdout(True)
            for c in chunks:
                out.write(c)
            out.flush()
            return
        if t.fd is not None:  # /dev/stderr, /dev/fd/N: the descriptor itself, at its offset
            if t.fd == 2 and sys.stderr is not None:
                sys.stderr.flush()
            fd = os.dup(t.fd)
        else:
            fd = os.open(t.real, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb") as f:
            if t.fd is None and kind_of(os.fstat(f.fileno()).st_mode) != "stream":
                raise OutputError(f"cannot write {t.name}: it changed into another kind of file while writing")
            for c in chunks:
                f.write(c)
    except BrokenPipeError:
        if t.kind == "stdout":
            raise BrokenOutputPipe("cannot write to standard output: the reading end of the pipe was closed") from None
        raise OutputError(f"cannot write {t.name}: the reading end of the pipe was closed") from None
    except OSError as e:
        raise OutputError(f"cannot write {t.name}: {_reason(e)}") from None


def write_stdout(text: str) -> None:
    """Text to standard output (flushed), every failure an ``OutputError``."""
    try:
        out = _stdout(False)
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise BrokenOutputPipe("cannot write to standard output: the reading end of the pipe was closed") from None
    except OSError as e:
        raise OutputError(f"cannot write to standard output: {_reason(e)}") from None


def _file_chunks(path: str, size: int = 1 << 20):
    with open(path, "rb") as f:
        while True:
            b = f.read(size)
            if not b:
                return
            yield b


# ----------------------------------------------------------------------------- the writers
def write_atomic(path, data: str | bytes, force: bool | None = None) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` following the rule of this module:
    a temporary file beside the target, renamed into place; '-' and streams written through."""
    t = resolve(path, force)
    if t.kind == "stdout" and isinstance(data, str):
        return write_stdout(data)
    blob = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if t.kind in ("stdout", "stream"):
        return _write_stream(t, [blob])
    fd, tmp = _mkstemp(t, os.path.dirname(t.real))
    try:
        with os.fdopen(fd, "wb") as f:
            if os.environ.get(HOLD_ENV):
                f.write(blob[:len(blob) // 2])
                f.flush()
                _hold(tmp)
                blob = blob[len(blob) // 2:]
            f.write(blob)
        _commit(t, tmp)
    except OSError as e:
        _remove(tmp)
        raise OutputError(f"cannot write {t.name}: {_reason(e)}") from None
    except BaseException:
        _remove(tmp)
        raise


def _release_quietly(exc) -> None:
    """Free what the failed writer's finished frames still hold (XlsxWriter leaves a ZipFile
    open), now and silently: else its destructor retries the write at exit and prints a traceback."""
    import gc
    import traceback
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        for _ in range(10):
            if exc is None:
                break
            if exc.__traceback__ is not None:
                traceback.clear_frames(exc.__traceback__)
            exc = exc.__cause__ or exc.__context__
        gc.collect()
    finally:
        sys.unraisablehook = hook


class atomic_path:
    """Context manager yielding a temporary path for writers that need a file name (xlsx, png,
    pdf, svg): ``with atomic_path("out.png") as tmp: fig.savefig(tmp)``. On success the file
    takes the target's place (or is copied through to standard output, a FIFO or a device);
    on any exception it is removed, and an I/O error (disk full, ...) becomes one-line
    ``OutputError``. ``binary``: refuse '-' when standard output is a terminal. While the block
    runs, ``tempfile.tempdir`` is a private scratch directory, removed afterwards whatever
    happens, so that the writer's own temporary files never outlive it."""

    def __init__(self, path, suffix: str = "", force: bool | None = None, binary: bool = True):
        self.path = path
        self.suffix = suffix or os.path.splitext(os.fspath(path))[1]
        self.force, self.binary = force, binary

    def __enter__(self) -> str:
        self.target = t = resolve(self.path, self.force)
        if t.kind == "stdout" and self.binary:
            _stdout(True)  # refuse a terminal before the work, not after
        import tempfile
        self.scratch = _mkscratch(t)
        try:
            d = self.scratch if t.kind in ("stdout", "stream") else os.path.dirname(t.real)
            fd, self.tmp = _mkstemp(t, d, self.suffix)
            os.close(fd)
        except BaseException:
            _remove(self.scratch)
            raise
        self._tempdir, tempfile.tempdir = tempfile.tempdir, self.scratch
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        import tempfile
        try:
            return self._exit(exc_type, exc)
        finally:
            tempfile.tempdir = self._tempdir
            _remove(self.scratch)

    def _exit(self, exc_type, exc):
        t, tmp = self.target, self.tmp
        if exc_type is None:
            try:
                _hold(tmp)
                if t.kind in ("stdout", "stream"):
                    _write_stream(t, _file_chunks(tmp))
                    _remove(tmp)
                else:
                    _commit(t, tmp)
                return False
            except OSError as e:
                exc = e
            except BaseException:
                _remove(tmp)
                raise
        if exc is not None:
            _release_quietly(exc)
        _remove(tmp)
        if isinstance(exc, CostModelError) or not isinstance(exc, Exception):
            return False  # already one line, or an interrupt: let it through
        os_err = _os_error(exc)
        if os_err is not None:
            raise OutputError(f"cannot write {t.name}: {_reason(os_err)}") from None
        return False


__all__ = [
    "FORCE",
    "STDOUT",
    "BrokenOutputPipe",
    "OutputError",
    "Target",
    "atomic_path",
    "check_writable",
    "discard_pending",
    "is_stdout",
    "kind_of",
    "own_descriptor",
    "read_bytes",
    "resolve",
    "set_force",
    "write_atomic",
    "write_stdout",
]
