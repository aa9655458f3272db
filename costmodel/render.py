"""One way out: every command builds a ``Table`` (columns with units, exact values, an optional
roll-up row, notes, and the JSON object scripts rely on) and ``render(table, fmt)`` writes it as
text, CSV, Markdown, JSON or an xlsx workbook. Numbers stay exact integers until this edge.

* text: aligned columns, thousands separators, the notes under the table;
* csv: one header row (headers carry units), exact values, the roll-up as the last row;
* markdown: a pipe table, the roll-up in bold, notes as a list;
* json: ``table.data`` when the command defines a contract (``costmodel table``'s report), else
  ``{"title", "columns", "rows", "total", "notes"}`` with the rows keyed by column key;
* xlsx: a real workbook (XlsxWriter): bold frozen header, autofilter over the rows only, the
  roll-up below a blank row in bold (outside the filter range, so sorting never mixes it in),
  number formats with thousands separators, and a "notes" sheet with the conventions.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from .errors import CostModelError

FORMATS = ("text", "csv", "markdown", "json", "xlsx")
#: the largest integer a spreadsheet cell holds exactly (IEEE double); larger ones are written as text
EXACT_IN_XLSX = 2 ** 53
#: rows of one Excel sheet
XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class Column:
    """A column: the row key it shows, its header (with the unit), and its kind: ``int`` (exact
    count), ``float`` (three decimals), ``g`` (a multiplier, shortest form: 0.75, 2), ``pct``,
    ``text`` or ``shape`` (an (C, H, W) list shown as HxWxC)."""

    key: str
    header: str
    kind: str = "int"

    @property
    def align(self) -> str:
        return "l" if self.kind in ("text", "shape") else "r"


@dataclass
class Table:
    """What a command outputs."""

    title: str
    columns: List[Column]
    rows: List[dict]
    total: Optional[dict] = None
    notes: List[str] = field(default_factory=list)
    #: the JSON object of ``--format json`` (a command's contract); None: the generic form
    data: Any = None
    sheet: str = "table"


def frame_rows(df) -> List[dict]:
    """A pandas DataFrame's rows as dicts of plain Python values (exact ints, NaN as None)."""
    keys = list(df.columns)
    out = []
    for row in df.itertuples(index=False, name=None):
        d = {}
        for k, v in zip(keys, row):
            v = v.item() if hasattr(v, "item") else v
            d[k] = None if isinstance(v, float) and v != v else v
        out.append(d)
    return out


def hwc(shape: Sequence[int]) -> str:
    """Shape as the papers print it: H x W x C (vectors as their length)."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(map(str, shape))


def cell_text(v, kind: str, text_like: bool) -> str:
    """A value as text: exact integers (with thousands separators in text and Markdown)."""
    if v is None or v == "":
        return ""
    if kind == "shape":
        return hwc(v) if isinstance(v, (list, tuple)) and v else str(v)
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}" if text_like else str(v)
    if isinstance(v, float):
        if kind == "pct":
            return f"{v:.1f}"
        if kind == "g":
            return f"{v:g}"
        if kind == "float":
            return f"{v:,.3f}" if text_like else repr(v)
        return f"{v:.3g}"
    return str(v)


def _grid(table: Table, text_like: bool):
    rows = [[cell_text(r.get(c.key), c.kind, text_like) for c in table.columns] for r in table.rows]
    total = None if table.total is None else [cell_text(table.total.get(c.key), c.kind, text_like)
                                              for c in table.columns]
    return rows, total


def text_table(headers: List[str], rows: List[list], align: Optional[str] = None) -> str:
    """Aligned plain-text table; ``align`` is one char per column, 'l' or 'r'."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells if r]) for i, h in enumerate(headers)]
    align = align or "l" * len(headers)

    def line(r):
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) if r else "" for r in cells]
    return "\n".join(out)


def markdown_table(headers: List[str], rows: List[list], align: Optional[str] = None) -> str:
    align = align or "l" * len(headers)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def csv_text(headers: List[str], rows: List[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def json_text(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


def render(table: Table, fmt: str):
    """``table`` in ``fmt`` (one of ``FORMATS``): a str, or bytes for xlsx."""
    headers = [c.header for c in table.columns]
    align = "".join(c.align for c in table.columns)
    if fmt == "json":
        if table.data is not None:
            return json_text(table.data)
        return json_text({"title": table.title, "columns": [{"key": c.key, "header": c.header} for c in table.columns],
                          "rows": [{c.key: r.get(c.key) for c in table.columns} for r in table.rows],
                          "total": table.total, "notes": list(table.notes)})
    if fmt == "csv":
        rows, total = _grid(table, False)
        return csv_text(headers, rows + ([total] if total else []))
    if fmt == "markdown":
        rows, total = _grid(table, True)
        if total:
            rows.append([f"**{c}**" if c else "" for c in total])
        return (f"**{table.title}**\n\n" + markdown_table(headers, rows, align) + "\n"
                + ("\n" + "\n".join(f"- {n}" for n in table.notes) + "\n" if table.notes else ""))
    if fmt == "text":
        rows, total = _grid(table, True)
        body = text_table(headers, rows + ([[], total] if total else []), align)
        return f"{table.title}\n\n{body}\n" + ("\n" + "\n".join(table.notes) + "\n" if table.notes else "")
    if fmt == "xlsx":
        return workbook_bytes([table])
    raise CostModelError(f"unknown output format {fmt!r}; accepted: {', '.join(FORMATS)}")


# ----------------------------------------------------------------------------- xlsx
def _xlsx_width(values, header) -> float:
    def w(v):
        if isinstance(v, int) and not isinstance(v, bool):
            return len(f"{v:,}")
        if isinstance(v, float):
            return len(f"{v:,.3f}")
        return len(str(v if v is not None else ""))
    return min(60, max([len(header) * 0.9] + [w(v) for v in values]) + 2)


def _formats(wb):
    return {"head": wb.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top",
                                   "border": 1}),
            "int": wb.add_format({"num_format": "#,##0"}), "float": wb.add_format({"num_format": "#,##0.000"}),
            "g": wb.add_format({"num_format": "0.00##"}),
            "pct": wb.add_format({"num_format": "0.0"}), "text": None, "shape": None,
            "total_int": wb.add_format({"num_format": "#,##0", "bold": True}),
            "total_float": wb.add_format({"num_format": "#,##0.000", "bold": True}),
            "total_text": wb.add_format({"bold": True})}


def _write(ws, i, j, v, fmt):
    if v is None or v == "":
        return
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < EXACT_IN_XLSX:
        ws.write_number(i, j, v, fmt)
    else:
        ws.write_string(i, j, str(v), fmt)


def add_sheet(wb, fmts, name: str, table: Table) -> None:
    """One table as a sheet of workbook ``wb``."""
    if len(table.rows) + 3 > XLSX_MAX_ROWS:
        raise CostModelError(f"{len(table.rows):,} rows do not fit in one Excel sheet (at most "
                             f"{XLSX_MAX_ROWS - 3:,}); use --format csv")
    ws = wb.add_worksheet(name)
    cols = table.columns
    values = [[(hwc(r.get(c.key)) if c.kind == "shape" and r.get(c.key) else r.get(c.key)) for c in cols]
              for r in table.rows]
    for j, c in enumerate(cols):
        ws.set_column(j, j, _xlsx_width([v[j] for v in values], c.header), fmts.get(c.kind))
    ws.set_row(0, 30)
    ws.write_row(0, 0, [c.header for c in cols], fmts["head"])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(values), 1), len(cols) - 1)
    for i, row in enumerate(values, 1):
        for j, v in enumerate(row):
            _write(ws, i, j, v, fmts.get(cols[j].kind))
    if table.total is not None:
        i = len(values) + 2  # a blank row, then the roll-up: outside the filter range
        for j, c in enumerate(cols):
            v = table.total.get(c.key)
            if c.kind == "shape" and isinstance(v, (list, tuple)):
                v = hwc(v)
            kind = ("total_int" if c.kind == "int" else "total_float" if c.kind in ("float", "pct", "g")
                    else "total_text")
            _write(ws, i, j, v, fmts[kind])


def workbook_bytes(tables: Sequence[Table], sheet_names: Optional[Sequence[str]] = None,
                   notes: Optional[Sequence[str]] = None) -> bytes:
    """A workbook of one sheet per table and a "notes" sheet (every table's title and notes, and
    ``notes``), as bytes."""
    import xlsxwriter
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    fmts = _formats(wb)
    names = list(sheet_names) if sheet_names else [t.sheet for t in tables]
    for name, t in zip(names, tables):
        add_sheet(wb, fmts, name, t)
    ws = wb.add_worksheet("notes")
    ws.set_column(0, 0, 120)
    lines = []
    for name, t in zip(names, tables):
        lines += [f"{name}: {t.title}"] + [f"  {n}" for n in t.notes] + [""]
    lines += list(notes or [])
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line)
    wb.close()
    return buf.getvalue()
