"""Every notebook in notebooks/ executes without a cell error, and each saved notebook carries its
rendered outputs. The default run executes the notebooks' cells in IPython shells (two subprocesses,
half the notebooks each: about 9 s of work); the slow set runs them in Jupyter kernels through
nbclient (seven kernel processes: about 19 s on 2 cores)."""
import asyncio
import glob
import os
import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(HERE, "*.ipynb")))


def test_one_notebook_per_paper_with_outputs():
    sys.path.insert(0, HERE)
    try:
        import make_notebooks
    finally:
        sys.path.remove(HERE)
    import costmodel
    have = set(costmodel.networks())
    for name, spec in make_notebooks.NOTEBOOKS.items():
        path = os.path.join(HERE, f"{name}.ipynb")
        if all(n in have for n in spec["needs"]):
            assert os.path.exists(path), f"{name}.ipynb is missing: run python notebooks/make_notebooks.py"
            nb = nbformat.read(path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert all(c.get("execution_count") for c in code), f"{name}.ipynb was saved without running it"
            assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), name
            assert not any(o.get("output_type") == "error" for c in code for o in c.outputs), name


def test_every_notebook_runs_in_an_ipython_shell():
    assert NOTEBOOKS, "no notebooks in notebooks/"
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebook_shell.py")
    halves = [NOTEBOOKS[0::2], NOTEBOOKS[1::2]]
    procs = [subprocess.Popen([sys.executable, runner, *half], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for half in halves if half]
    outs = [(p.communicate(timeout=300)[0], p.returncode) for p in procs]
    for out, rc in outs:
        assert rc == 0, out[-3000:]
    ran = {line.split()[1] for out, _ in outs for line in out.splitlines() if line.startswith("ran ")}
    assert ran == {os.path.basename(p) for p in NOTEBOOKS}


@pytest.mark.slow
def test_every_notebook_executes_without_error():
    assert NOTEBOOKS, "no notebooks in notebooks/"

    async def run(path):
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": HERE}})
        await client.async_execute()
        return nb

    async def run_all():
        return await asyncio.gather(*(run(p) for p in NOTEBOOKS), return_exceptions=True)

    results = asyncio.run(run_all())
    failed = {os.path.basename(p): f"{type(r).__name__}: {str(r)[-400:]}" for p, r in zip(NOTEBOOKS, results)
              if isinstance(r, BaseException)}
    assert not failed, failed
    for p, nb in zip(NOTEBOOKS, results):
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
        assert not errors, (p, errors)
