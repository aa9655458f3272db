"""Shared by the sweep benchmarks: the baseline implementation (the commit before the chunked
engine, extracted with ``git archive``) and a subprocess runner that reports the child's output."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the last commit with the previous sweep (one module, whole grid in memory)
BASELINE = "672db62"


def baseline_tree(tmp: str) -> str:
    """A directory holding the baseline commit's ``costmodel`` package."""
    dest = os.path.join(tmp, "baseline")
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", BASELINE, "costmodel", "data"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def run_child(code: str, path: str, timeout: float = 1800):
    """Run ``code`` in a fresh interpreter with ``path`` first on sys.path; its last stdout line,
    split on whitespace (RuntimeError with the error's last line if it fails)."""
    env = dict(os.environ, PYTHONPATH=path)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=path,
                       timeout=timeout)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        raise RuntimeError(f"exit {p.returncode}: {last}")
    return p.stdout.strip().splitlines()[-1].split()
