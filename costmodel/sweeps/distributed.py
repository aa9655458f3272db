"""The same sweep on a Dask cluster (dask.distributed): every chunk of the grid is one task that
prepares the sweep once per worker process (cached), computes its chunk and writes it as one
Parquet file ``part-NNNNNN.parquet`` of a dataset directory; the files' order is the rows' order
(``pandas.read_parquet(DIR)`` reads the grid back in order). Dask schedules, retries and moves
the work; nothing here is a home-made engine.

The dataset is written into a temporary directory beside the target and renamed into place when
every task has succeeded: an error leaves nothing half-written. On a real cluster the directory
must be on a file system every worker and the client see (NFS, a cluster file system), and every
worker needs this project installed (``pip install '.[scale]'``): docs/sweeps.md says how to start
a scheduler and workers and point ``costmodel sweep --engine dask --scheduler ADDRESS`` at them.
"""
from __future__ import annotations

import os
import shutil
import time

from ..errors import CostModelError
from .writers import SCALE_EXTRA


def require_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise CostModelError(f"--engine dask needs dask, distributed and pyarrow: {SCALE_EXTRA}") from None


def write_part(recipe, chunk, path: str) -> int:
    """A task: compute one chunk of ``recipe``'s grid and write it to ``path`` (Parquet)."""
    import pyarrow.parquet as pq
    from .prepared import prepare
    from .writers import arrow_schema, arrow_table, parquet_options
    p = prepare(recipe, cache=True)
    schema = arrow_schema(p)
    table = arrow_table(p, p.block(chunk), schema)
    tmp = path + ".tmp"
    pq.write_table(table, tmp, **parquet_options(schema, table))
    os.replace(tmp, path)
    return table.num_rows


def run_dask(recipe, path: str, scheduler=None, progress=None, n_workers: int = 2) -> dict:
    """Run ``recipe``'s chunks as tasks on the cluster at ``scheduler`` (None: a local cluster of
    ``n_workers`` processes) and write the partitioned dataset ``path``; returns {rows, partitions,
    seconds, path}."""
    require_dask()
    from distributed import Client, LocalCluster, as_completed
    from .prepared import prepare
    target = os.path.abspath(str(path))
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise CostModelError(f"cannot write the Parquet dataset {path!r:.80}: it exists and is not an empty "
                             f"directory (give a new directory)")
    parent = os.path.dirname(target) or "."
    if not os.path.isdir(parent):
        raise CostModelError(f"cannot write the Parquet dataset {path!r:.80}: {parent} is not a directory")
    t0 = time.perf_counter()
    p = prepare(recipe, cache=True)  # validates the grid here, with the one-line errors, before any task
    chunks = p.chunks()
    tmpdir = os.path.join(parent, f".costmodel-{os.path.basename(target)}-{os.getpid()}")
    os.makedirs(tmpdir)
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as e:
                raise CostModelError(f"cannot reach the Dask scheduler at {scheduler!r:.80}: {e}") from None
        try:
            paths = [os.path.join(tmpdir, f"part-{i:06d}.parquet") for i in range(len(chunks))]
            futures = client.map(write_part, [recipe] * len(chunks), chunks, paths, pure=False)
            rows = 0
            for done, fut in enumerate(as_completed(futures), 1):
                rows += fut.result()
                if progress is not None:
                    progress(done, len(chunks))
        finally:
            client.close()
        if rows != p.n_rows:
            raise RuntimeError(f"sweep: the Dask tasks wrote {rows} rows, the grid has {p.n_rows}")
        if os.path.isdir(target):
            os.rmdir(target)
        os.replace(tmpdir, target)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    finally:
        if cluster is not None:
            cluster.close()
    return {"rows": p.n_rows, "partitions": len(chunks), "seconds": time.perf_counter() - t0, "path": str(path)}


__all__ = ["require_dask", "run_dask", "write_part"]
