"""The distribution name (issue 15): the package index's "costmodel" is an unrelated project, so
this one is installed as ``cnn-costmodel`` and every install line installs THIS project."""
import configparser
import os
import re
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
             ".ipynb_checkpoints"}
# "pip install [options] costmodel" in any quoting, with or without an extra: installs somebody else's package
FOREIGN = re.compile(r"pip3?\s+install\s+(?:-{1,2}[\w-]+\s+)*[\"']?costmodel(?![\w-])", re.IGNORECASE)
EXTRA = re.compile(r"pip3?\s+install\s+(?:-{1,2}[\w-]+\s+)*[\"']?\.\[([\w,-]+)\]")


def _text_files():
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.endswith(".egg-info")]
        for f in files:
            p = Path(d, f)
            if p.suffix.lower() in (".png", ".pdf", ".xlsx", ".onnx", ".npz", ".pyc") or p.stat().st_size > 4e6:
                continue
            try:
                yield p, p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def _setup_cfg():
    c = configparser.ConfigParser()
    c.read(ROOT / "setup.cfg")
    return c


def test_the_pattern_catches_the_lines_it_must():
    for bad in ["pip install costmodel", "pip install costmodel[onnx]", "pip install 'costmodel[onnx]'",
                "pip3 install -U costmodel", 'pip install "costmodel[measure]"', "pip install --upgrade costmodel"]:
        assert FOREIGN.search(bad), bad
    for good in ["pip install '.[onnx]'", "pip install .", "pip install cnn-costmodel",
                 "pip install 'cnn-costmodel[onnx]'"]:
        assert not FOREIGN.search(good), good


def test_no_install_line_installs_the_unrelated_costmodel_package():
    me = Path(__file__).resolve()   # this file spells the bad lines out above, as examples
    hits = [f"{p.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}"
            for p, text in _text_files() if p.resolve() != me for m in FOREIGN.finditer(text)]
    assert hits == []


def test_every_extra_named_in_an_install_line_exists():
    extras = set(_setup_cfg()["options.extras_require"])
    named = {(str(p.relative_to(ROOT)), x) for p, text in _text_files() for m in EXTRA.finditer(text)
             for x in m.group(1).split(",")}
    assert {x for _, x in named} >= {"onnx", "measure", "torch", "test"}   # the lines are found
    assert [(f, x) for f, x in sorted(named) if x not in extras] == []


def test_distribution_name_is_ours_and_the_version_needs_no_installed_metadata(monkeypatch):
    import importlib.metadata

    import costmodel
    from costmodel.cli import DISTRIBUTION, cli
    name = _setup_cfg()["metadata"]["name"]
    assert name == DISTRIBUTION and name.lower().replace("_", "-") != "costmodel"
    assert [e.strip() for e in _setup_cfg()["options.entry_points"]["console_scripts"].splitlines() if e.strip()] \
        == ["costmodel = costmodel.cli:main"]

    def missing(dist):  # a fresh install has no distribution called "costmodel" to read a version from
        raise importlib.metadata.PackageNotFoundError(dist)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"costmodel, version {costmodel.__version__} (distribution {DISTRIBUTION})"
