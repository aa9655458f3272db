"""Run notebooks' code cells in one IPython shell, in this process (not a test module: the default
run calls it in a subprocess, see tests/test_notebooks.py).

    python tests/notebook_shell.py NOTEBOOK.ipynb ...

Each notebook gets a fresh namespace (``reset``), the notebooks' folder as its working directory
and matplotlib's Agg backend (``%matplotlib inline`` is accepted and draws nothing). A cell that
fails prints ``FAILED notebook cell N: error`` and the exit status is 1; else it prints one line
per notebook and exits 0."""
import os
import sys


def main(paths) -> int:
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # %matplotlib inline: no GUI event loop to start here
            pass

    shell = Shell.instance()
    failed = 0
    for path in paths:
        os.chdir(os.path.dirname(os.path.abspath(path)))
        shell.reset(new_session=True)
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            r = shell.run_cell(cell.source, silent=True)
            if not r.success:
                err = r.error_before_exec or r.error_in_exec
                print(f"FAILED {os.path.basename(path)} cell {i}: {type(err).__name__}: {err}")
                failed += 1
                break
        else:
            print(f"ran {os.path.basename(path)}")
        plt.close("all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
