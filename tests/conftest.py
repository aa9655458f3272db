import compileall
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Bytecode is cached for this run even where PYTHONDONTWRITEBYTECODE is set (docs/testing.md): the
# suite starts dozens of Python subprocesses (the CLI's exit codes, signals, pipes, notebooks),
# and each would otherwise compile the package from source again, and pytest would rewrite every
# test module at every run: 10-13 s of a run on a fresh clone. The caches go where Python keeps them
# (__pycache__ beside the sources, ignored by git); a read-only checkout just skips them.
sys.dont_write_bytecode = False
compileall.compile_dir(os.path.join(ROOT, "costmodel"), quiet=2)


class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"CliResult(code={self.code}, err={self.err!r})"


@pytest.fixture
def cli(capsys):
    """Run ``costmodel ARGS...`` in-process through the real entry point (its error handling
    included); returns CliResult(code, out, err)."""
    from costmodel.cli import main

    def run(*args):
        capsys.readouterr()
        try:
            main(list(map(str, args)))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        cap = capsys.readouterr()
        return CliResult(code, cap.out, cap.err)

    return run


def run_subprocess(*args, **kw):
    """``python -m costmodel ARGS`` in a subprocess (for checks that need a real process)."""
    p = subprocess.run([sys.executable, "-m", "costmodel", *map(str, args)], capture_output=True, text=True,
                       cwd=kw.get("cwd", ROOT), timeout=120)
    return CliResult(p.returncode, p.stdout, p.stderr)


def one_line_error(r, *needles, written=(), absent=()):
    """The CLI's bad-input contract on result ``r``: exit 2, nothing on stdout, one line on stderr
    (``costmodel: error: ...``, no traceback, bounded) naming every one of ``needles`` and none of
    ``absent``; no file of ``written`` exists. Returns the line."""
    assert r.code == 2, r
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costmodel: error: ") and "Traceback" not in r.err, r.err
    assert len(lines[0]) < 1000, len(lines[0])
    for n in needles:
        assert n in lines[0], lines[0]
    for n in absent:
        assert n not in lines[0], lines[0]
    for p in written:
        assert not os.path.exists(p), p
    return lines[0]
