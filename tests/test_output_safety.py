"""Outputs never replace what they should not (issue 16): the rule of costmodel.fileio for every
writer (FIFOs and character devices written through, a symlink's target written and the link
kept, read-only files replaced only with --force, modes and owners kept, '-' is standard output),
one line and a non-zero status for every write error (full disk, closed or broken standard
output), temporary files removed when a signal ends a write, and the exit statuses.

Nothing here touches the real /dev: FIFOs are made with os.mkfifo in tmp_path; a character
device cannot be made without root, so its write-through shares the FIFO's code path (tested
with FIFOs) and its decision is tested on st_mode values; /dev/full's ENOSPC is emulated by
monkeypatching, and a full disk by RLIMIT_FSIZE (EFBIG, the same code path) in a subprocess.
"""
import contextlib
import errno
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from costmodel import fileio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IS_ROOT = os.geteuid() == 0
BIG_CSV = ["sweep", "mobilenet_v2", "--alpha", "0.35:1.4:0.01", "--res", "96:224:8", "-f", "csv"]  # ~190 KB

#: (command and options before -o, file suffix, how to recognise the output's bytes)
WRITERS = {
    "text": (["table", "mobilenet_v2"], ".txt", lambda b: b.startswith(b"mobilenet_v2")),
    "xlsx": (["sweep", "mobilenet_v2", "--alpha", "0.5,1", "--res", "128", "-f", "xlsx"], ".xlsx",
             lambda b: b.startswith(b"PK")),
    # no labels: placing them (adjustText) is half a figure's time, and nothing here depends on them
    "png": (["plot", "mobilenet_v2", "--no-labels"], ".png", lambda b: b.startswith(b"\x89PNG")),
    "pdf": (["plot", "mobilenet_v2", "--no-labels"], ".pdf", lambda b: b.startswith(b"%PDF")),
    "export": (["export", "mobilenet_v2", "--alpha", "1", "--res", "224"], ".xlsx", lambda b: b.startswith(b"PK")),
}


def one_line_error(r, *needles, code=2):
    assert r.code == code, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costmodel: error: ") and "Traceback" not in r.err, r.err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def temporaries(d) -> list:
    return [n for n in os.listdir(d) if n.startswith(".costmodel-")]


class Proc:
    def __init__(self, p, out, err):
        self.code, self.out, self.err = p.returncode, out, err.decode(errors="replace")

    def __repr__(self):
        return f"Proc(code={self.code}, err={self.err!r})"


def command(*args, setup: str = "", shell: str = "") -> list:
    """The argv of ``costmodel ARGS`` in a new interpreter (this checkout's package), after the
    Python statements ``setup`` (a resource limit, a signal's disposition), under the shell
    redirection ``shell`` (e.g. '>&-'), if any."""
    code = f"import runpy, sys; {setup or 'pass'}; sys.argv[0] = 'costmodel'; runpy.run_module('costmodel', " \
           f"run_name='__main__')"
    argv = [sys.executable, "-c", code, *map(str, args)]
    return ["sh", "-c", f'exec "$@" {shell}', "sh", *argv] if shell else argv


def proc(*args, cwd=None, env=None, setup="", shell="", stdout=subprocess.PIPE, timeout=120) -> Proc:
    """``costmodel ARGS`` in a subprocess (see ``command``)."""
    e = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    p = subprocess.run(command(*args, setup=setup, shell=shell), cwd=cwd or ROOT, env=e, stdout=stdout,
                       stderr=subprocess.PIPE, timeout=timeout, check=False)
    return Proc(p, p.stdout, p.stderr)


@contextlib.contextmanager
def fifo_reader(path, keep: int = -1):
    """A thread reading the FIFO ``path`` (all of it, or ``keep`` bytes and then closing it);
    yields a list that receives the bytes. Never hangs: a writer that never came is stood in for."""
    got = []

    def read():
        with open(path, "rb") as f:
            got.append(f.read() if keep < 0 else f.read(keep))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    try:
        yield got
    finally:
        if t.is_alive():
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # release a reader still waiting
        t.join(30)


# ----------------------------------------------------------------------------- the rule, per kind of file
@pytest.mark.parametrize("mode, expected", [
    (stat.S_IFREG | 0o644, "replace"),
    (stat.S_IFIFO | 0o644, "stream"),
    (stat.S_IFCHR | 0o666, "stream"),          # /dev/null, /dev/full, a terminal: written through
    (stat.S_IFDIR | 0o755, "it is a directory"),
    (stat.S_IFBLK | 0o660, "it is a block device"),
    (stat.S_IFSOCK | 0o755, "it is a socket"),
])
def test_what_the_rule_does_with_each_kind_of_file(mode, expected):
    assert fileio.kind_of(mode).startswith(expected)


def test_fifo_is_written_through_not_replaced(cli, tmp_path):
    expected = cli("table", "mobilenet_v2").out.encode()
    f = tmp_path / "f"
    os.mkfifo(f)
    with fifo_reader(f) as got:
        r = cli("table", "mobilenet_v2", "-o", f)
    assert r.code == 0, r
    assert got == [expected]
    assert stat.S_ISFIFO(os.lstat(f).st_mode) and os.listdir(tmp_path) == ["f"]


@pytest.mark.parametrize("kind", ["xlsx", "png"])
def test_fifo_is_written_through_by_the_path_writers(cli, tmp_path, kind):
    args, suffix, looks_right = WRITERS[kind]
    f = tmp_path / ("f" + suffix)
    os.mkfifo(f)
    with fifo_reader(f) as got:
        r = cli(*args, "-o", f)
    assert r.code == 0, r
    assert looks_right(got[0]) and len(got[0]) > 1000
    if kind == "xlsx":
        import openpyxl
        ws = openpyxl.load_workbook(io.BytesIO(got[0])).active
        col = [c.value for c in ws[1]].index("resolution (px)")
        assert [r[col].value for r in ws.iter_rows(min_row=2)] == [128, 128]  # one row per alpha
    assert stat.S_ISFIFO(os.lstat(f).st_mode) and os.listdir(tmp_path) == [f.name]


def test_fifo_whose_reader_goes_away_is_one_line(cli, tmp_path):
    f = tmp_path / "f"
    os.mkfifo(f)
    with fifo_reader(f, keep=1):   # reads one byte, closes; the rest (190 KB) cannot fit in the pipe
        r = cli(*BIG_CSV, "-o", f)
    one_line_error(r, "cannot write", "the reading end of the pipe was closed")
    assert stat.S_ISFIFO(os.lstat(f).st_mode) and os.listdir(tmp_path) == ["f"]


def test_a_device_that_fails_every_write_like_dev_full(cli, tmp_path, monkeypatch):
    """/dev/full (a character device: written through) fails every write with ENOSPC. Emulated on a
    FIFO (the same write-through path) whose writes fail with ENOSPC: one line, exit 2, the special
    file left as it is."""
    real_fdopen = os.fdopen

    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, mode="r", *a, **k):
        f = real_fdopen(fd, mode, *a, **k)
        if "w" in mode and stat.S_ISFIFO(os.fstat(fd).st_mode):
            f.write = Full().write
        return f

    monkeypatch.setattr(os, "fdopen", fdopen)
    f = tmp_path / "full"
    os.mkfifo(f)
    for args in (WRITERS["text"][0], WRITERS["xlsx"][0]):
        with fifo_reader(f):
            r = cli(*args, "-o", f)
        one_line_error(r, f"cannot write '{f}': No space left on device")
    assert stat.S_ISFIFO(os.lstat(f).st_mode) and os.listdir(tmp_path) == ["full"]


def test_a_symlink_writes_its_target_and_stays_a_link(cli, tmp_path):
    expected = cli("table", "mobilenet_v2").out
    (tmp_path / "d").mkdir()
    target = tmp_path / "d" / "target.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to("d/target.txt")
    assert cli("table", "mobilenet_v2", "-o", link).code == 0
    assert os.readlink(link) == "d/target.txt" and target.read_text() == expected
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    # a dangling link creates its target; a link into a missing directory or a loop is one line
    (tmp_path / "new.txt").symlink_to("d/new.txt")
    assert cli("table", "mobilenet_v2", "-o", tmp_path / "new.txt").code == 0
    assert (tmp_path / "d" / "new.txt").read_text() == expected and os.path.islink(tmp_path / "new.txt")
    (tmp_path / "lost.txt").symlink_to("nowhere/x.txt")
    one_line_error(cli("table", "mobilenet_v2", "-o", tmp_path / "lost.txt"), "(a link to", "does not exist")
    (tmp_path / "loop").symlink_to("loop")
    one_line_error(cli("table", "mobilenet_v2", "-o", tmp_path / "loop"), "cannot write", "symbolic links")
    assert not temporaries(tmp_path) and not temporaries(tmp_path / "d")


@pytest.mark.parametrize("kind", ["text", "xlsx", "png", "export"])
def test_a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask(cli, tmp_path, kind):
    args, suffix, looks_right = WRITERS[kind]
    out = tmp_path / ("out" + suffix)
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    assert cli(*args, "-o", out).code == 0
    assert looks_right(out.read_bytes()) and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    new = tmp_path / ("new" + suffix)
    old_mask = os.umask(0o027)
    try:
        assert cli(*args, "-o", new).code == 0
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o640
    assert not temporaries(tmp_path)


@pytest.mark.parametrize("kind", ["text", "xlsx", "png", "export"])
def test_a_read_only_file_is_replaced_only_with_force(cli, tmp_path, kind):
    """The rule reads the mode bits, so it holds as root too (root may write anything)."""
    args, suffix, looks_right = WRITERS[kind]
    out = tmp_path / ("ro" + suffix)
    out.write_bytes(b"old")
    os.chmod(out, 0o444)
    one_line_error(cli(*args, "-o", out), "the file is read-only (mode 0444)", "use --force")
    assert out.read_bytes() == b"old"
    assert cli(*args, "-o", out, "--force").code == 0
    assert looks_right(out.read_bytes()) and stat.S_IMODE(os.stat(out).st_mode) == 0o444
    one_line_error(cli(*args, "-o", out), "read-only")   # --force lasts one command: the next one asks again
    assert not temporaries(tmp_path)


def test_directories_sockets_and_empty_names_are_refused(cli, tmp_path):
    one_line_error(cli("table", "mobilenet_v2", "-o", tmp_path), "it is a directory")
    d = tempfile.mkdtemp(prefix="cm-")   # a short path: AF_UNIX names are limited to ~107 bytes
    try:
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(d, "s"))
        one_line_error(cli("table", "mobilenet_v2", "-o", os.path.join(d, "s")), "it is a socket")
        s.close()
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
    one_line_error(cli("table", "mobilenet_v2", "-o", ""), "empty file name")
    one_line_error(cli("table", "mobilenet_v2", "-o", f"{tmp_path}/new/"), "a file name cannot end in '/'")
    (tmp_path / "file").write_text("x")
    one_line_error(cli("table", "mobilenet_v2", "-o", tmp_path / "file" / "t.txt"), "Not a directory")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_read_only_file_system_is_named(cli, tmp_path, monkeypatch):
    """(Mounting one needs root: statvfs is monkeypatched to report ST_RDONLY.)"""
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda d: type("V", (), {"f_flag": real(d).f_flag | os.ST_RDONLY})())
    one_line_error(cli("table", "mobilenet_v2", "-o", tmp_path / "t.txt"), "is on a read-only file system")
    assert os.listdir(tmp_path) == []


def test_output_help_states_the_rule(cli):
    for command in ("table", "plot", "export", "sweep"):
        text = " ".join(cli(command, "--help").out.split())
        assert "'-' is standard output" in text and "--force" in text and "symlink" in text, command


# ----------------------------------------------------------------------------- '-' is standard output
def test_dash_is_standard_output_for_text(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["table", "mobilenet_v2"], ["show", "mobilenet_v2"], ["sweep", "mobilenet_v2", "-f", "csv"]):
        assert cli(*args, "-o", "-").out == cli(*args).out != ""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["xlsx", "png"])
def test_dash_is_standard_output_for_binary_formats(tmp_path, kind):
    args, _, looks_right = WRITERS[kind]
    r = proc(*args, "-o", "-", cwd=tmp_path)
    assert r.code == 0 and r.err == "", r
    assert looks_right(r.out) and len(r.out) > 1000 and os.listdir(tmp_path) == []


def test_binary_output_to_a_terminal_is_refused(tmp_path):
    import pty
    master, slave = pty.openpty()
    try:
        r = proc(*WRITERS["xlsx"][0], "-o", "-", cwd=tmp_path, stdout=slave)
    finally:
        os.close(slave)
        os.close(master)
    one_line_error(r, "refusing to write a binary file to a terminal")
    assert os.listdir(tmp_path) == []


def test_descriptor_paths_are_written_through_the_descriptor(tmp_path):
    """/dev/stdout, /dev/fd/N, /proc/self/fd/N: written through the descriptor the shell gave
    (a file opened with >> is appended to); tested through /proc and a symlink in tmp_path,
    never through /dev."""
    expected = proc("table", "mobilenet_v2").out
    log = tmp_path / "log.txt"
    log.write_bytes(b"pre\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        p = subprocess.run(command("table", "mobilenet_v2", "-o", f"/proc/self/fd/{fd}"), cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=ROOT), pass_fds=(fd,), capture_output=True, check=False)
    finally:
        os.close(fd)
    assert p.returncode == 0 and p.stdout == b"" and log.read_bytes() == b"pre\n" + expected, p.stderr
    link = tmp_path / "my_stdout"
    link.symlink_to("/proc/self/fd/1")   # what /dev/stdout is
    r = proc("table", "mobilenet_v2", "-o", link)
    assert r.code == 0 and r.out == expected and os.path.islink(link)
    one_line_error(proc("table", "mobilenet_v2", "-o", "/proc/self/fd/9"), "file descriptor 9 is not open")
    assert sorted(os.listdir(tmp_path)) == ["log.txt", "my_stdout"]


# ----------------------------------------------------------------------------- write errors: one line
#: writes beyond 4 KB fail with EFBIG (Python ignores SIGXFSZ)
FILE_SIZE_LIMIT = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))"


@pytest.mark.parametrize("kind", ["text", "xlsx", "png"])
def test_a_full_disk_is_one_line_and_leaves_the_old_file(tmp_path, kind):
    """RLIMIT_FSIZE makes every write past 4 KB fail (EFBIG), as a full disk fails with ENOSPC:
    the same path through the writers (the xlsx writer wraps it in its own exception type)."""
    args, suffix, _ = WRITERS[kind]
    out = tmp_path / ("out" + suffix)
    out.write_bytes(b"old")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = proc(*args, "-o", out, setup=FILE_SIZE_LIMIT, env={"TMPDIR": str(tmp)})
    one_line_error(r, f"cannot write '{out}': File too large")
    assert out.read_bytes() == b"old" and not temporaries(tmp_path) and os.listdir(tmp) == []


def test_standard_output_on_a_full_disk_is_one_line(tmp_path):
    with open(tmp_path / "out.txt", "wb") as f:
        r = proc("table", "mobilenet_v2", stdout=f, setup=FILE_SIZE_LIMIT)
    one_line_error(r, "cannot write to standard output: File too large")


def test_no_space_left_in_process(cli, tmp_path, monkeypatch):
    """ENOSPC itself, through the API writers and a PDF plot: one line, the old file untouched."""
    out = tmp_path / "out.txt"
    out.write_text("old")
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *a, **k):
        f = real_fdopen(fd, mode, *a, **k)
        f.write = lambda b: (_ for _ in ()).throw(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return f

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(fileio.OutputError, match=r"^cannot write '.*out.txt': No space left on device$"):
        fileio.write_atomic(out, "new text")
    monkeypatch.undo()
    from xlsxwriter.exceptions import FileCreateError
    with pytest.raises(fileio.OutputError, match=r"^cannot write '.*out.txt': No space left on device$"), \
            fileio.atomic_path(out, ".xlsx") as tmp:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as e:
            raise FileCreateError(e) from None   # as XlsxWriter reports it (the OSError kept as context)
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"] and not os.path.exists(tmp)
    from matplotlib.figure import Figure

    def savefig(self, fname, **kw):
        with open(fname, "wb") as f:
            f.write(b"%PDF-1.4 half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(Figure, "savefig", savefig)
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(b"old")
    one_line_error(cli(*WRITERS["pdf"][0], "-o", pdf), f"cannot write '{pdf}': No space left on device")
    assert pdf.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["out.txt", "p.pdf"]


def test_closed_standard_output(tmp_path):
    one_line_error(proc("table", "mobilenet_v2", shell=">&-"),
                   "cannot write to standard output: it is closed")
    out = tmp_path / "t.txt"
    r = proc("table", "mobilenet_v2", "-o", out, shell=">&-")
    assert r.code == 0 and out.read_text().startswith("mobilenet_v2")
    assert r.err == f"costmodel: wrote {out} (153 rows)\n"   # where it wrote; no error


def test_a_pipe_closed_early_ends_quietly_with_141():
    """'costmodel ... | head': no message, no traceback, status 128 + SIGPIPE."""
    e = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "costmodel", *BIG_CSV], cwd=ROOT, env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.read(100).startswith(b"network,")
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(120) == 141 and err == b""


def test_plain_costmodel_prints_the_help(cli):
    r = cli()
    assert r.code == 2 and r.out == ""
    lines = r.err.splitlines()
    assert lines[0].startswith("Usage: costmodel") and "Commands:" in lines and len(lines) > 15
    assert any(line.split()[:1] == ["table"] for line in lines)


# ----------------------------------------------------------------------------- signals
@pytest.mark.parametrize("sig, kind", [(signal.SIGTERM, "csv"), (signal.SIGHUP, "xlsx"), (signal.SIGINT, "png")])
def test_a_signal_in_the_middle_of_a_write_removes_the_temporary(tmp_path, sig, kind):
    """The test hook COSTMODEL_TEST_HOLD_WRITE pauses the writer with its temporary file written
    (half of it, for text), so that the signal lands mid-write every time, with no timing."""
    args, suffix = {"csv": (BIG_CSV, ".csv")}.get(kind) or WRITERS[kind][:2]
    out, marker = tmp_path / ("out" + suffix), tmp_path.parent / f"{tmp_path.name}.marker"
    out.write_bytes(b"old")
    e = dict(os.environ, PYTHONPATH=ROOT, **{fileio.HOLD_ENV: str(marker)})
    # a signal ignored by whoever started pytest would be inherited, and stay ignored: reset it
    reset = f"import signal; signal.signal({int(sig)}, signal.SIG_DFL)"
    p = subprocess.Popen(command(*args, "-o", out, setup=reset), cwd=ROOT, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and marker.read_text()) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), p.communicate(timeout=120)[1].decode()
        tmp = marker.read_text()
        assert os.path.basename(tmp).startswith(".costmodel-") and os.path.getsize(tmp) > 0
        p.send_signal(sig)
        err = p.communicate(timeout=120)[1].decode()
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + sig, err
    assert err.strip() == f"costmodel: error: interrupted by {signal.Signals(sig).name}"
    assert not os.path.exists(tmp) and os.listdir(tmp_path) == [out.name] and out.read_bytes() == b"old"


def test_ctrl_c_seen_by_click_exits_130(cli, monkeypatch):
    """A KeyboardInterrupt that click turns into Abort (no handler of ours installed, as in a
    thread) still exits 130, not 1 with 'aborted'."""
    from costmodel.commands import table

    def interrupt(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(table.NetworkArgs, "load", interrupt)
    r = cli("table", "mobilenet_v2")
    assert r.code == 130 and r.err.strip().endswith("costmodel: error: interrupted by SIGINT"), r


def test_signal_handlers_are_restored_and_ignored_signals_stay_ignored(cli):
    from costmodel.cli import _install_signal_handlers, _restore_signal_handlers
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    assert cli("list").code == 0
    assert {s: signal.getsignal(s) for s in before} == before
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)   # as under nohup
    try:
        installed = _install_signal_handlers()
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN and signal.SIGHUP not in installed
        assert before[signal.SIGTERM] != signal.SIG_DFL or signal.SIGTERM in installed
        _restore_signal_handlers(installed)
    finally:
        signal.signal(signal.SIGHUP, old)


# ----------------------------------------------------------------------------- as an unprivileged user
#: run costmodel as 'nobody' from a root process: everything is imported first (the interpreter's
#: own directory is not readable by nobody), then the process drops to uid/gid 65534
_AS_NOBODY = r"""
import contextlib, difflib, gc, importlib, io, os, pkgutil, secrets, signal, sys, tempfile, traceback
sys.path.insert(0, sys.argv[1])
import costmodel
for m in pkgutil.walk_packages(costmodel.__path__, "costmodel."):
    if not any(w in m.name for w in ("torch", "onnx", "__main__")):
        with contextlib.suppress(Exception):
            importlib.import_module(m.name)
from costmodel.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    with contextlib.suppress(SystemExit):
        main(["table", "mobilenet_v2"])
os.setgroups([]); os.setgid(65534); os.setuid(65534)
assert os.geteuid() == 65534
main(sys.argv[2:])
"""


@pytest.fixture
def unprivileged(tmp_path):
    """(run, directory): ``run(*args)`` runs costmodel as an unprivileged user (this user if it is
    not root; else 'nobody', dropped to with setuid), in a directory that user owns."""
    if not IS_ROOT:
        yield (lambda *args: proc(*args, cwd=tmp_path)), tmp_path, os.geteuid()
        return
    d = tempfile.mkdtemp(prefix="costmodel-nobody-")
    os.chmod(d, 0o755)
    try:
        os.chown(d, 65534, 65534)
        drop = "import os; os.setgroups([]); os.setgid(65534); os.setuid(65534); print(os.geteuid())"
        probe = subprocess.run([sys.executable, "-c", drop], capture_output=True, text=True, check=False)
        if probe.stdout.strip() != "65534":
            pytest.skip(f"running as root and cannot drop to uid 65534 here ({probe.stderr.strip()[-200:]}): "
                        f"the unprivileged checks need a non-root user")
    except OSError as e:
        pytest.skip(f"running as root and cannot prepare a directory for uid 65534: {e}")

    def run(*args):
        p = subprocess.run([sys.executable, "-c", _AS_NOBODY, ROOT, *map(str, args)], cwd=d,
                           capture_output=True, timeout=120, check=False)
        return Proc(p, p.stdout, p.stderr)
    yield run, type(tmp_path)(d), 65534
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def test_unprivileged_user_needs_force_for_a_file_it_cannot_write(unprivileged):
    run, d, uid = unprivileged
    theirs = d / "theirs.txt"
    theirs.write_text("old")
    os.chmod(theirs, 0o644)
    if IS_ROOT:
        os.chown(theirs, 0, 0)   # root's file, in nobody's directory
    elif os.stat(theirs).st_uid == uid:
        pytest.skip("not root: cannot make a file owned by another user for this check")
    one_line_error(run("table", "mobilenet_v2", "-o", theirs), "not writable by you (mode 0644)", "--force")
    assert theirs.read_text() == "old"
    assert run("table", "mobilenet_v2", "-o", theirs, "--force").code == 0
    assert theirs.read_text().startswith("mobilenet_v2") and stat.S_IMODE(os.stat(theirs).st_mode) == 0o644
    # a read-only file of one's own, and a directory one cannot write
    mine = d / "mine.txt"
    mine.write_text("old")
    os.chmod(mine, 0o400)
    if IS_ROOT:
        os.chown(mine, uid, uid)
    one_line_error(run("table", "mobilenet_v2", "-o", mine), "read-only (mode 0400)")
    locked = d / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    one_line_error(run("table", "mobilenet_v2", "-o", locked / "t.txt"), "is not writable")
    assert os.listdir(locked) == [] and not temporaries(d)


def test_root_keeps_the_owner_of_a_file_it_replaces(tmp_path):
    if not IS_ROOT:
        pytest.skip("keeping another user's ownership of a replaced file needs root (chown)")
    out = tmp_path / "theirs.txt"
    out.write_text("old")
    os.chown(out, 65534, 65534)
    os.chmod(out, 0o640)
    assert proc("table", "mobilenet_v2", "-o", out).code == 0
    st = os.stat(out)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o640)
    assert out.read_text().startswith("mobilenet_v2")
