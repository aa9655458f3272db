"""Streaming writers: a prepared sweep written chunk by chunk, so that memory does not grow with
the grid. Every output goes through ``costmodel.fileio.atomic_path`` (a temporary file renamed
into place; '-' is standard output): an error in any chunk leaves nothing half-written.

Formats (``FORMATS``; by default from the file's suffix):

* ``csv``: a header of column keys, then the rows (pyarrow's C++ writer when installed, pandas
  otherwise); counts beyond int64 are written as their exact decimal digits.
* ``jsonl``: one JSON object per line (JSON lines), the keys of the CSV header.
* ``json``: one JSON array of row objects, exactly what ``costmodel sweep -f json`` printed before
  streaming (indented; slow for large grids: prefer jsonl or parquet).
* ``parquet``: one row group per chunk (pyarrow, the ``scale`` extra); counts are int64, or
  decimal128(38, 0) when the grid's bound passes 2**62 (exact), or decimal strings beyond 10**38.
* ``xlsx``: one sheet (headers with units, frozen, filtered, thousands separators) and a notes
  sheet, written in XlsxWriter's constant-memory mode, up to Excel's row limit.
"""
from __future__ import annotations

import os
import time
from typing import Dict, Optional

from ..errors import CostModelError

FORMATS = ("csv", "jsonl", "json", "parquet", "xlsx")
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet",
            ".pq": "parquet", ".xlsx": "xlsx"}
#: Excel's sheet: 1,048,576 rows, one for the header
XLSX_ROWS = 1_048_575
SCALE_EXTRA = "pip install '.[scale]'"

#: column headers with units (xlsx and the text table); ``{bits}`` is the grid's bit width
HEADERS = {"alpha": "alpha", "depth": "depth", "resolution": "resolution (px)", "height": "height (px)",
           "width": "width (px)", "classes": "classes", "params": "params (count)",
           "params_with_bn": "params with BN (count)", "madds": "Mult-Adds (count)", "flops": "FLOPs (count)",
           "attn_madds": "attention Mult-Adds (count)", "bn_channels": "BN channels (count)",
           "mac": "MAC (elements)", "mac_bytes": "MAC (bytes, {bits}-bit)",
           "peak_activation_bytes": "peak activations (bytes, {bits}-bit)"}


#: rows of a chunk turned into text at once by the JSON lines writer (bounds its temporary strings)
TEXT_SLICE_ROWS = 8_192


def require_pyarrow(what: str = "Parquet output"):
    """pyarrow, or one line naming the extra that installs it."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CostModelError(f"{what} needs pyarrow: {SCALE_EXTRA}") from None
    return pyarrow


def format_of(path, fmt: Optional[str]) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise CostModelError(f"unknown sweep output format {fmt!r}; accepted: {', '.join(FORMATS)}")
        return fmt
    if path is None or str(path) == "-":
        return "csv"
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in SUFFIXES:
        raise CostModelError(f"cannot tell the output format of {str(path)!r:.80} from its suffix; use one of "
                             f"{', '.join(SUFFIXES)}, or give the format")
    return SUFFIXES[suffix]


def stream(p, path, fmt: Optional[str] = None, progress=None) -> dict:
    """Write prepared sweep ``p`` to ``path`` chunk by chunk; returns {rows, chunks, seconds, path, format}."""
    from ..fileio import atomic_path
    fmt = format_of(path, fmt)
    if fmt == "parquet":
        require_pyarrow()
    if fmt == "xlsx" and p.n_rows > XLSX_ROWS:
        raise CostModelError(f"{p.n_rows:,} rows do not fit in one Excel sheet (at most {XLSX_ROWS:,}); use "
                             f"--format parquet, csv or jsonl")
    from concurrent.futures import ThreadPoolExecutor
    from ..blas import blas_threads
    from .engine import Prepared
    t0 = time.perf_counter()
    reuse = isinstance(p, Prepared)  # the engine's grids: smaller chunks, computed into reused arrays
    rows = _pipeline_rows(p) if reuse else 0
    chunks = _short_head(p.chunks(rows)) if reuse else p.chunks()
    with atomic_path("-" if path is None else path, binary=fmt in ("parquet", "xlsx")) as tmp:
        w = WRITERS[fmt](tmp, p)
        # chunk i + 1 is computed while chunk i is written (numpy and pyarrow release the GIL): at
        # most two chunks in memory, in two sets of column arrays used in turn (chunk i + 2 is
        # computed into chunk i's arrays once chunk i is written)
        # BLAS on one thread: the writer's thread needs the other core (two BLAS threads beside it
        # made a 10^6-row sweep about 25% slower)
        slots = [(0, None), (0, None)]  # (rows, column arrays) of each set
        with ThreadPoolExecutor(1) as pool, blas_threads(1):
            pending = None
            try:
                for i, ch in enumerate(chunks):
                    block = _chunk_block(p, ch, slots, i % 2, rows) if reuse else p.block(ch)
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(w.write, block)
                    if progress is not None:
                        progress(i + 1, len(chunks))
                if pending is not None:
                    pending.result()
            finally:
                if pending is not None and not pending.done():
                    pending.cancel()
                    try:
                        pending.result()
                    except BaseException:
                        pass
                w.close()
    return {"rows": p.n_rows, "chunks": len(chunks), "seconds": time.perf_counter() - t0,
            "path": str(path), "format": fmt}


#: the smallest chunk worth its per-chunk work (one pass of the shape model over the graph)
MIN_PIPELINE_ROWS = 1 << 16


def _pipeline_rows(p) -> int:
    """Rows per chunk for streaming: at most the recipe's, and small enough that a grid makes about
    eight chunks, so that computing overlaps writing from early on (with two chunks, half the
    work would wait), but not below ``MIN_PIPELINE_ROWS``."""
    return max(MIN_PIPELINE_ROWS, -(-p.n_rows // 8))


def _short_head(chunks: list) -> list:
    """``chunks`` with the first cut in two, a quarter and the rest, so that writing starts after
    a quarter of a chunk's computing (the pipeline's fill time, about a tenth of a 10^6-row sweep).
    A chunk is (first config, last config + 1, first resolution, last resolution + 1); one of
    several configurations spans every resolution, so it is cut between configurations."""
    if not chunks:
        return chunks
    c0, c1, r0, r1 = chunks[0]
    if c1 - c0 >= 2:
        m = c0 + max(1, (c1 - c0) // 4)
        head = [(c0, m, r0, r1), (m, c1, r0, r1)]
    elif r1 - r0 >= 2:
        m = r0 + max(1, (r1 - r0) // 4)
        head = [(c0, c1, r0, m), (c0, c1, m, r1)]
    else:
        head = chunks[:1]
    return head + chunks[1:]


def _chunk_block(p, ch, slots, k, rows):
    """``p.block(ch)`` of an engine ``Prepared``, computed into slot ``k``'s reused arrays (made
    for ``rows``, the largest chunk, at their first use); the shared columns are the same array
    (square axis) or left to the writer (the constant classes)."""
    from .engine import column_buffers, shared_columns
    lo, hi = p.rows_of(ch)
    n, skip = hi - lo, shared_columns(p)
    if slots[k][0] < n:
        size = max(n, rows)
        slots[k] = (size, column_buffers(p, size, skip))
    block = p.block(ch, {name: a[:n] for name, a in slots[k][1].items()}, skip)
    block["classes"] = p.classes
    if "resolution" in skip:
        block["resolution"] = block["width"] = block["height"]
    return block


# ----------------------------------------------------------------------------- blocks as tables
def block_frame(p, block: Dict):
    """One chunk as a pandas DataFrame in the schema's column order (constants broadcast)."""
    import numpy as np
    import pandas as pd
    n = len(block["alpha"])
    out = {}
    for name, _ in p.columns:
        v = block[name]
        out[name] = v if isinstance(v, np.ndarray) else np.full(n, v, dtype=object if isinstance(v, str) else None)
    return pd.DataFrame(out, copy=False)


def arrow_schema(p):
    """The Parquet schema of prepared sweep ``p``: int64 counts, exact decimals past 2**62 (classes
    past 2**63 too); sizes past 2**62 as digits."""
    import pyarrow as pa
    fields = []
    for name, kind in p.columns:
        if kind == "str":
            t = pa.dictionary(pa.int32(), pa.string())
        elif kind == "float":
            t = pa.float64()
        elif kind == "text":  # a computed frame's text column (a knob such as head=none)
            t = pa.string()
        elif kind == "bool":
            t = pa.bool_()
        elif kind == "int" and name == "classes" and getattr(p, "classes", 0) >= 2 ** 63:  # exact decimals
            t = pa.decimal128(38, 0) if p.classes < 10 ** 38 else pa.string()
        elif kind == "int":
            t = pa.int64() if max(p.hw_max) < 2 ** 62 else pa.string()
        elif kind == "knob":
            v = p.full[name]
            t = pa.bool_() if isinstance(v, bool) else pa.int64() if isinstance(v, int) else \
                pa.float64() if isinstance(v, float) else pa.dictionary(pa.int32(), pa.string())
        elif p.dtypes.get(name) is object:  # the grid's bound passes 2**62: exact decimals
            t = pa.decimal128(38, 0) if p.bounds.get(name, 0) < 10 ** 38 else pa.string()
        else:
            t = pa.int64()
        fields.append(pa.field(name, t, nullable=False))
    return pa.schema(fields)


def arrow_table(p, block: Dict, schema, consts: Optional[dict] = None):
    """One chunk as a pyarrow Table of ``schema`` (numeric columns without copies; the constant
    columns made once per length when ``consts``, a dict the caller keeps, is given)."""
    import numpy as np
    import pyarrow as pa
    n = len(block["alpha"])
    arrays = []
    for f in schema:
        v, t = block[f.name], f.type
        if isinstance(v, np.ndarray) and not pa.types.is_dictionary(t):
            arrays.append(_arrow_column(v, t))
            continue
        key = (f.name, n, repr(v))
        a = consts.get(key) if consts is not None else None
        if a is None:
            a = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([str(v)])) \
                if pa.types.is_dictionary(t) else _arrow_column(np.full(n, v, dtype=object if isinstance(v, int)
                                                                        and not isinstance(v, bool) else None), t)
            if consts is not None:
                consts[key] = a
        arrays.append(a)
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_column(v, t):
    import numpy as np
    import pyarrow as pa
    if pa.types.is_decimal(t):
        from decimal import Decimal
        return pa.array([Decimal(int(x)) for x in v], type=t)
    if pa.types.is_string(t):  # text, or exact integers past decimal128 written as digits
        return pa.array([x if isinstance(x, str) else str(int(x)) for x in v], type=t)
    if v.dtype == object:
        v = np.array(v, dtype=np.int64)  # fits: the schema's bound says so (else OverflowError)
    return pa.array(v, type=t)


# ----------------------------------------------------------------------------- the writers
class _Text:
    def __init__(self, path, p):
        self.p = p
        self.f = open(path, "wb")
        self.first = True

    def close(self):
        self.f.close()


class CsvWriter(_Text):
    def write(self, block):
        import numpy as np
        p = self.p
        names = [c for c, _ in p.columns]
        if self.first:
            self.f.write((",".join(names) + "\n").encode())
            self.first = False
        try:
            import pyarrow as pa
            import pyarrow.csv as pacsv
        except ImportError:
            pa = None
        if pa is not None:
            cols, plain = [], True
            n = len(block["alpha"])
            for c in names:
                v = block[c]
                if isinstance(v, np.ndarray) and v.dtype == object:
                    v = pa.array([str(x) for x in v])
                elif isinstance(v, np.ndarray) and v.dtype.kind == "f":  # as pandas writes them: 1.0, 0.35
                    u, inv = np.unique(v, return_inverse=True)
                    if len(u) <= 4096:
                        v = pa.DictionaryArray.from_arrays(inv.astype(np.int32), pa.array([repr(float(x)) for x in u]))
                        v = v.cast(pa.string())
                elif not isinstance(v, np.ndarray):
                    plain = plain and not any(ch in str(v) for ch in ',"\n\r')
                    v = pa.array(np.full(n, v))
                cols.append(v)
            t = pa.Table.from_arrays([pa.array(c) if isinstance(c, np.ndarray) else c for c in cols], names=names)
            opts = pacsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
            pacsv.write_csv(t, self.f, opts)
        else:
            self.f.write(block_frame(p, block).to_csv(index=False, header=False).encode())


def _records(p, block):
    """The chunk's rows as dicts of plain Python values (exact ints)."""
    df = block_frame(p, block)
    keys = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        yield {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, row)}


class JsonlWriter(_Text):
    def write(self, block):
        import json
        df = block_frame(self.p, block)
        if any(df[c].dtype == object and not isinstance(df[c].iloc[0], str) for c in df.columns):
            self.f.write("".join(json.dumps(r) + "\n" for r in _records(self.p, block)).encode())
        else:  # in slices: a chunk's whole text (about 300 bytes a row) would be held twice, as str and bytes
            for i in range(0, len(df), TEXT_SLICE_ROWS):
                text = df.iloc[i:i + TEXT_SLICE_ROWS].to_json(orient="records", lines=True, double_precision=15)
                self.f.write((text if text.endswith("\n") or not text else text + "\n").encode())


class JsonWriter(_Text):
    """The JSON array ``json.dumps(rows, indent=2)`` would give, row by row."""

    def write(self, block):
        import json
        parts = []
        for r in _records(self.p, block):
            text = json.dumps(r, indent=2).replace("\n", "\n  ")
            parts.append(("[\n  " if self.first else ",\n  ") + text)
            self.first = False
        self.f.write("".join(parts).encode())

    def close(self):
        if not self.f.closed:
            self.f.write(b"[]\n" if self.first else b"\n]\n")
        super().close()


class ParquetWriter:
    """One row group per chunk; the file is opened at the first chunk, whose columns choose the
    encodings (``parquet_options``)."""

    def __init__(self, path, p):
        self.path, self.p = path, p
        self.schema = arrow_schema(p)
        self.consts: dict = {}
        self.w = None

    def _open(self, table=None):
        import pyarrow.parquet as pq
        self.w = pq.ParquetWriter(self.path, self.schema, **parquet_options(self.schema, table))

    def write(self, block):
        table = arrow_table(self.p, block, self.schema, self.consts)
        if self.w is None:
            self._open(table)
        self.w.write_table(table)

    def close(self):
        if self.w is None:
            if self.p.n_rows:  # a chunk failed before the first write: nothing to close (the file goes)
                return
            self._open()  # an empty frame: the schema alone
        self.w.close()


#: a column whose values change at most once every this many rows (of a first chunk) is written
#: as runs: plain values compressed with LZ4 instead of delta encoding and zstd
RUN_ROWS = 64


def run_columns(table) -> list:
    """The int64 and float64 columns of ``table`` whose values change at most once every
    ``RUN_ROWS`` rows: a sweep's constants (classes, a knob, alpha on a one-alpha grid) and the
    columns of the configuration (alpha, depth, parameters) when each has many resolutions."""
    import numpy as np
    import pyarrow as pa
    out = []
    for f, col in zip(table.schema, table.columns):
        if not (pa.types.is_int64(f.type) or pa.types.is_float64(f.type)) or col.num_chunks != 1:
            continue
        a = col.chunk(0).to_numpy(zero_copy_only=False)
        if len(a) >= 2 and np.count_nonzero(a[1:] != a[:-1]) * RUN_ROWS <= len(a):
            out.append(f.name)
    return out


def parquet_options(schema, table=None) -> dict:
    """Dictionary encoding for the constant string columns only; delta encoding for integers (a
    sweep's columns are smooth in the resolution); zstd; values handed to the encoders 65,536 at a
    time instead of pyarrow's 1,024 (the same file, about 5-10% less encoding time); min/max
    statistics on every column but the string columns (one value each, which their dictionary
    page holds; their statistics took 5% of the writing).

    With ``table`` (the first chunk), its columns of long runs (``run_columns``) are written as
    plain values compressed with LZ4 (Parquet's LZ4_RAW codec): runs compress to almost nothing
    either way, and zstd spends more time on 8 MB of one repeated value than LZ4 does. On one
    alpha x 10^6 resolutions, where 7 of the 17 columns are numeric constants: pyarrow's writing
    about 11% faster, the whole sweep 3-9% (two A/B runs of 12 and 20 processes each), the file
    4.95 -> 5.17 MB; on 1,000 x 10^4: 15% faster, 3% larger (docs/benchmarks_sweep.md)."""
    import pyarrow as pa
    runs = set(run_columns(table)) if table is not None else set()
    strings = {f.name for f in schema if pa.types.is_dictionary(f.type)}
    enc = {f.name: "DELTA_BINARY_PACKED" for f in schema if pa.types.is_int64(f.type) and f.name not in runs}
    comp = {f.name: "lz4" if f.name in runs else "zstd" for f in schema}
    return {"compression": comp, "compression_level": {c: 1 for c, v in comp.items() if v == "zstd"},
            "use_dictionary": [n for n in schema.names if n in strings],
            "column_encoding": enc, "write_batch_size": 1 << 16,
            "write_statistics": [n for n in schema.names if n not in strings]}


class XlsxWriter:
    def __init__(self, path, p):
        import xlsxwriter
        self.p = p
        self.wb = xlsxwriter.Workbook(path, {"constant_memory": True})
        self.ws = self.wb.add_worksheet("sweep")
        bits = p.bits
        self.cols = [c for c, _ in p.columns]
        heads = [HEADERS.get(c, c).format(bits=bits) for c in self.cols]
        head = self.wb.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top",
                                   "border": 1})
        self.num = self.wb.add_format({"num_format": "#,##0"})
        self.g = self.wb.add_format({"num_format": "0.00##"})
        kinds = dict(p.columns)
        for j, c in enumerate(self.cols):
            self.ws.set_column(j, j, max(10, min(40, len(heads[j]) * 0.9 + 2)),
                               self.g if kinds[c] == "float" else self.num if kinds[c] in ("int", "count") else None)
        self.ws.set_row(0, 30)
        self.ws.write_row(0, 0, heads, head)
        self.ws.freeze_panes(1, 0)
        self.ws.autofilter(0, 0, max(p.n_rows, 1), len(self.cols) - 1)
        self.row = 1

    def write(self, block):
        from ..render import EXACT_IN_XLSX
        kinds = dict(self.p.columns)
        fmts = [self.g if kinds[c] == "float" else self.num if kinds[c] in ("int", "count") else None
                for c in self.cols]
        for r in _records(self.p, block):
            for j, c in enumerate(self.cols):
                v = r[c]
                if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < EXACT_IN_XLSX:
                    fmt = fmts[j] or (self.num if isinstance(v, int) else None)  # a knob's integer value
                    self.ws.write_number(self.row, j, v, fmt)
                else:
                    self.ws.write_string(self.row, j, str(v), fmts[j])
            self.row += 1

    def close(self):
        notes = self.wb.add_worksheet("notes")
        notes.set_column(0, 0, 120)
        for i, line in enumerate(notes_of(self.p)):
            notes.write_string(i, 0, line)
        self.wb.close()


def notes_of(p) -> list:
    """The title and convention lines of a sweep (the xlsx notes sheet, the text table)."""
    view = "unfused view" if p.recipe.unfused else "deployment view"
    lines = [f"sweep: {p.net.name}: {p.n_rows:,} configuration{'' if p.n_rows == 1 else 's'}",
             "convention: params = conv/linear weights + biases; Mult-Adds = multiply-accumulates; MAC = elements "
             f"read + written + weights ({view}); bytes at {p.bits}-bit"]
    if p.recipe.peak:
        lines.append(f"peak = optimal schedule, {p.bits}-bit")
    return lines


WRITERS = {"csv": CsvWriter, "jsonl": JsonlWriter, "json": JsonWriter, "parquet": ParquetWriter,
           "xlsx": XlsxWriter}

__all__ = ["FORMATS", "HEADERS", "SUFFIXES", "WRITERS", "XLSX_ROWS", "arrow_schema", "arrow_table", "block_frame",
           "format_of", "notes_of", "parquet_options", "require_pyarrow", "stream"]


class FramePrepared:
    """A computed DataFrame seen as a one-chunk prepared sweep (spec files, imported models and
    --device rows go through the same writers)."""

    def __init__(self, df):
        import numpy as np
        self.df = df
        self.n_rows = len(df)
        self.bits = df.attrs.get("bits", 32)
        self.full = {}
        self.columns = [(c, _frame_kind(c, df[c])) for c in df.columns]
        self.dtypes = {c: (object if kind == "count" and df[c].dtype == object else np.int64)
                       for c, kind in self.columns}
        self.bounds = {c: (10 ** 38 if self.dtypes[c] is object and len(df) and
                           max(abs(int(v)) for v in df[c]) >= 10 ** 38 else 0) for c, _ in self.columns}
        self.hw_max = (0, 0)

    def chunks(self):
        return [(0, self.n_rows, 0, 0)]

    def block(self, chunk):
        import numpy as np
        out = {}
        for c, kind in self.columns:
            v = self.df[c]
            out[c] = str(v.iloc[0]) if kind == "str" else np.asarray(v)
        return out


def _frame_kind(name: str, col) -> str:
    """A computed frame's column as the writers see it: the network's name, floats, text (knobs
    such as head or feature, categorical or strings), booleans, exact integers past int64
    (object), or int64."""
    import pandas as pd
    if name == "network":
        return "str"
    if str(col.dtype).startswith("float"):
        return "float"
    if isinstance(col.dtype, pd.CategoricalDtype) or (col.dtype == object and len(col)
                                                      and isinstance(col.iloc[0], str)):
        return "text"
    if col.dtype == bool:
        return "bool"
    return "count" if col.dtype == object else "int"


def stream_frame(df, path, fmt=None) -> dict:
    """Write a computed frame with the streaming writers (jsonl, parquet, ...)."""
    return stream(FramePrepared(df), path, fmt)
