import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
