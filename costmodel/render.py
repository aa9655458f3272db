"""One way out: every command builds one or more ``Table``s (columns with units, exact values, an
optional roll-up row, notes, and the JSON object scripts rely on) and ``render(tables, fmt)``
writes them as text, CSV, Markdown, JSON or an xlsx workbook. Numbers stay exact integers until
this edge.

* text (for people at a terminal): counts with SI prefixes (``count`` columns: 4.15 M, K = 10^3,
  M = 10^6, G = 10^9) and bytes with KB = 1000 B (``bytes`` columns: 1.40 MB); shapes HxWxC; the
  table fits ``width`` (the terminal's, else $COLUMNS, else 120; ``terminal_width``): long text
  cells and notes wrap, and when that is not enough the optional columns (``Column.drop``) go,
  highest first, with a note naming them and how to see them;
* markdown (for documents): exact integers with thousands separators (a figure quoted in a
  document should be the exact one), the roll-up in bold, notes as a list; never fitted to a width;
* csv: one header row (headers carry units), exact values, the roll-up as the last row;
* json: ``table.data`` when the command defines a contract (``costmodel table``'s report), else
  ``{"title", "columns", "rows", "total", "notes"}`` with the rows keyed by column key;
* xlsx: a real workbook (XlsxWriter): bold frozen header, autofilter over the rows only, the
  roll-up below a blank row in bold (outside the filter range, so sorting never mixes it in),
  number formats with thousands separators, and a "notes" sheet with the conventions.

A command with several tables (``costmodel memory``: what is live at the peak, the largest tensor
per resolution, the arena) passes a list: text and Markdown show them one after the other, xlsx
writes a sheet each, CSV the first table that takes CSV and JSON the first ``data``.
``Table.formats`` restricts a table to some formats (a CSV-only long table, a text-only heading);
``Column.only`` a column.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple, Union

from .errors import CostModelError

FORMATS = ("text", "csv", "markdown", "json", "xlsx")
#: the largest integer a spreadsheet cell holds exactly (IEEE double); larger ones are written as text
EXACT_IN_XLSX = 2 ** 53
#: rows of one Excel sheet
XLSX_MAX_ROWS = 1_048_576
#: width of the text view when standard output is not a terminal and $COLUMNS is not set
DEFAULT_WIDTH = 120
#: the narrowest text view (a smaller terminal still gets 40 columns: lines then overflow)
MIN_WIDTH = 40
#: text columns are wrapped down to this width (or their longest word, up to ``WORD_MAX``) before an
#: optional column is dropped; words are broken only when nothing else makes the table fit
TEXT_MIN = 14
WORD_MAX = 40
#: the legend of the text view's units, shown under a table with count or bytes columns
UNITS_NOTE = ("units: counts in SI prefixes (K = 10^3, M = 10^6, G = 10^9), bytes with KB = 1000 B; exact "
              "integers with --format csv, json, markdown or -o FILE.xlsx")
#: kinds whose text view is human-scaled
SCALED_KINDS = ("count", "bytes")
NUMERIC_KINDS = ("int", "count", "bytes", "float", "g", "pct", "ratio")


@dataclass(frozen=True)
class Column:
    """A column: the row key it shows, its header (with the unit), and its kind:

    ``count`` (an exact count: SI prefixes in the text view), ``bytes`` (an exact byte count: KB =
    1000 B in the text view), ``int`` (an integer shown as it is: channels, pixels), ``float``
    (three decimals), ``g`` (a multiplier, shortest form: 0.75, 2), ``pct`` (a percentage, one
    decimal), ``ratio`` (three decimals), ``figure`` (a number already formatted, as a string:
    right-aligned, never wrapped), ``text`` or ``shape`` (a (C, H, W) list shown as HxWxC).

    ``signed``: numbers carry their sign (deltas: +1.20 M). ``drop``: 0 for a column the text view
    always shows; a column with a higher number is dropped first when the table is wider than the
    terminal. ``only``: the formats that show the column (None: every format). ``split``: in the
    text view, the parts of a cell separated by this string go on lines of their own."""

    key: str
    header: str
    kind: str = "int"
    drop: int = 0
    signed: bool = False
    only: Optional[Tuple[str, ...]] = None
    #: text view: the cell's parts, separated by this string, go on lines of their own ("; " for a list)
    split: Optional[str] = None
    #: decimals of a ``float`` column in the text and Markdown views
    digits: int = 3

    @property
    def align(self) -> str:
        return "l" if self.kind in ("text", "shape") else "r"

    @property
    def wraps(self) -> bool:
        return self.kind == "text"


@dataclass
class Table:
    """What a command outputs: a title, columns, rows (dicts keyed by column key), an optional
    roll-up row, notes, the JSON object of ``--format json`` (``data``; None: the generic form),
    the sheet name, and the formats that show the table (None: all)."""

    title: str
    columns: List[Column]
    rows: List[dict]
    total: Optional[dict] = None
    notes: List[str] = field(default_factory=list)
    data: Any = None
    sheet: str = "table"
    formats: Optional[Tuple[str, ...]] = None

    def shown_in(self, fmt: str) -> bool:
        return self.formats is None or fmt in self.formats

    def columns_for(self, fmt: str) -> List[Column]:
        return [c for c in self.columns if c.only is None or fmt in c.only]


Tables = Union[Table, Sequence[Table]]


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


def scaled(n: float, unit: str = "") -> str:
    """3_504_872 -> '3.50 M'; 300_774_272 -> '300.77 M'; 1.2e9 -> '1.20 G'; with ``unit`` 'B':
    1_400_000 -> '1.40 MB' (KB = 1000 B); from 1e15 on in scientific notation ('5.97e+36'), so
    that a huge resolution shows no float noise digits."""
    if abs(n) >= 1e15:
        return f"{float(n):.2e} {unit}".rstrip()
    for div, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f} {p}{unit}"
    return f"{n} {unit}".rstrip()


def thousands(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def cell_text(v, kind: str, text_like: bool, human: bool = False, signed: bool = False, digits: int = 3) -> str:
    """A value as text: exact integers (with thousands separators in text and Markdown), or, with
    ``human``, counts and bytes with SI prefixes."""
    if v is None or v == "":
        return ""
    if kind == "shape":
        if isinstance(v, (list, tuple)):
            return hwc(v) if v else "-"
        return str(v)
    if isinstance(v, bool):
        return str(v).lower()
    sign = "+" if signed and text_like and isinstance(v, (int, float)) and v > 0 else ""
    if isinstance(v, int):
        if human and kind in SCALED_KINDS:
            return sign + scaled(v, "B" if kind == "bytes" else "")
        return sign + (f"{v:,}" if text_like else str(v))
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return "" if v != v else str(v)
        if kind == "pct":
            return sign + (f"{v:.1f}" if text_like else f"{v:.6g}")
        if kind == "g":
            return f"{v:g}"
        if kind == "ratio":
            return f"{v:.3f}" if text_like else repr(v)
        if human and kind in SCALED_KINDS:
            return sign + scaled(v, "B" if kind == "bytes" else "")
        if kind == "float":
            return sign + (f"{v:,.{digits}f}" if text_like else repr(v))
        return sign + f"{v:.3g}"
    return str(v)


def _grid(table: Table, fmt: str, human: bool = False):
    cols = table.columns_for(fmt)
    text_like = fmt in ("text", "markdown")

    def cells(r):
        out = [cell_text(r.get(c.key), c.kind, text_like, human, c.signed, c.digits) for c in cols]
        if fmt == "text":
            out = [v.replace(c.split, "\n") if c.split else v for v, c in zip(out, cols)]
        return out
    rows = [cells(r) for r in table.rows]
    total = None if table.total is None else cells(table.total)
    return cols, rows, total


# ----------------------------------------------------------------------------- text view, fitted
def terminal_width(stream=None) -> int:
    """The text view's width: $COLUMNS when set, else the terminal's when ``stream`` (default:
    standard output) is one, else ``DEFAULT_WIDTH``; never below ``MIN_WIDTH``."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    stream = sys.stdout if stream is None else stream
    try:
        if stream is not None and stream.isatty():
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        pass
    return DEFAULT_WIDTH


#: kept on one line when wrapping: a number and its unit ('6.02 MB', '3.47 M', '1.2 ms'), an option and
#: its value ('--variant standard|conv|shallow')
_NUMBER_UNIT = re.compile(r"(\d) (?=(?:[KMGT]?B|[KMGT]|ms|us|s)\b)")
_OPTION_VALUE = re.compile(r"(^|\s)(--[\w-]+) (?=[^-\s])")
_NBSP = "\u00a0"


def _protect(text: str) -> str:
    return _OPTION_VALUE.sub(r"\1\2" + _NBSP, _NUMBER_UNIT.sub(r"\1" + _NBSP, text))


def _words(text: str) -> List[str]:
    """The unbreakable words of a cell (see ``_protect``)."""
    return [w for line in text.split("\n") for w in _protect(line).split(" ") if w]


def _wrap(text: str, width: int, indent: str = "") -> List[str]:
    """A cell's (or a note's) lines at ``width``: its own line breaks kept, long lines wrapped at
    spaces (never between a number and its unit, or an option and its value)."""
    out: List[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        lines = textwrap.wrap(_protect(line), width, subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False) or [""]
        out += [x.replace(_NBSP, " ") for part in lines for x in _break_long(part, width, indent)]
    return out


def _break_long(line: str, width: int, indent: str) -> List[str]:
    """A line longer than ``width`` (one unbreakable word: an option and its choices, or a knob
    list such as ``head=deeplabv3;output_stride=16``) broken after a ``|``, ``,`` or ``;`` where it
    can be, else at the width; lines after the first start with ``indent``."""
    if len(line) <= width:
        return [line]
    out: List[str] = []
    cur = ""
    for piece in (p for p in re.findall(r"[^|,;]*[|,;]?", line) if p):
        while piece:
            head = indent if out else ""
            if not cur and len(head) + len(piece) > width:  # fits no line: cut at the width
                room = max(1, width - len(head))
                out.append(head + piece[:room])
                piece = piece[room:]
                continue
            if cur and len(cur) + len(piece) > width:
                out.append(cur)
                cur = ""
                continue
            cur = (cur or head) + piece
            piece = ""
    if cur:
        out.append(cur)
    return out

def _fit(headers: List[str], cells: List[list], kinds: List[str], drops: List[int], width: Optional[int]):
    """Column widths for ``width`` characters (None: natural widths) and the columns to keep. Text
    columns wrap at spaces first (down to ``TEXT_MIN`` or their longest word), then number columns'
    headers wrap; when that cannot make the table fit, optional columns are dropped (highest
    ``drop`` first, the rightmost of equals), and only then are words broken."""
    n = len(headers)

    def longest(text):
        return len(text) if "\n" not in text else max(len(x) for x in text.split("\n"))
    natural = [max([longest(headers[i])] + [longest(r[i]) for r in cells if r]) for i in range(n)]
    word = [max(len(w) for w in (headers[i].split() or [""])) for i in range(n)]
    data = [max([0] + [longest(r[i]) for r in cells if r]) for i in range(n)]
    keep = list(range(n))
    if width is None:
        return natural, keep
    text = [kinds[i] == "text" for i in range(n)]
    # the longest word of a text column's cells (identifiers such as layer names stay whole), capped
    words = [min(WORD_MAX, max([0] + [len(w) for r in cells if r for w in _words(r[i])])) if text[i] else 0
             for i in range(n)]
    phases = [(lambda i: text[i], lambda i: min(natural[i], max(word[i], words[i], TEXT_MIN))),
              (lambda i: not text[i], lambda i: max(data[i], word[i])),
              (lambda i: text[i], lambda i: min(natural[i], max(word[i], 6)))]

    def floor(i):  # without breaking words
        return phases[0][1](i) if text[i] else phases[1][1](i)

    droppable = sorted((i for i in range(n) if drops[i] > 0), key=lambda i: (drops[i], i))
    while sum(floor(i) for i in keep) + 2 * (len(keep) - 1) > width and droppable:
        keep.remove(droppable.pop())
    widths = {i: natural[i] for i in keep}
    over = sum(widths.values()) + 2 * (len(keep) - 1) - width
    for applies, low in phases:
        while over > 0:
            shrinkable = [i for i in keep if applies(i) and widths[i] > low(i)]
            if not shrinkable:
                break
            i = max(shrinkable, key=lambda j: (widths[j] - low(j), j))
            widths[i] -= 1
            over -= 1
    return [widths.get(i, 0) for i in range(n)], keep


def text_table(headers: List[str], rows: List[list], align: Optional[str] = None, width: Optional[int] = None,
               kinds: Optional[List[str]] = None, drops: Optional[List[int]] = None):
    """Aligned plain-text table; ``align`` is one char per column, 'l' or 'r'. With ``width``, the
    table is fitted (see ``_fit``) and the return value is (text, headers of dropped columns);
    without, the text alone. An empty row is a blank line."""
    n = len(headers)
    cells = [[str(c) for c in r] for r in rows]
    align = align or "l" * n
    kinds = kinds or ["text" if a == "l" else "int" for a in align]
    widths, keep = _fit(headers, cells, kinds, drops or [0] * n, width)

    def lines(r):
        if all(len(r[i]) <= widths[i] and "\n" not in r[i] for i in keep):  # the common case: one line
            return ["  ".join(r[i].rjust(widths[i]) if align[i] == "r" else r[i].ljust(widths[i])
                              for i in keep).rstrip()]
        parts = [_wrap(r[i], widths[i]) for i in keep]
        height = max(len(p) for p in parts)
        out = []
        for k in range(height):
            segs = [(p[k] if k < len(p) else "") for p in parts]
            out.append("  ".join(s.rjust(widths[i]) if align[i] == "r" else s.ljust(widths[i])
                                 for s, i in zip(segs, keep)).rstrip())
        return out

    out = lines(headers) + ["  ".join("-" * widths[i] for i in keep)]
    for r in cells:
        out += lines(r) if r else [""]
    text = "\n".join(out)
    if width is None:
        return text
    return text, [headers[i] for i in range(n) if i not in keep]


def wrap_note(note: str, width: Optional[int], indent: str = "  ") -> str:
    """A note or footnote wrapped at ``width`` with a hanging ``indent`` (None: as it is)."""
    if width is None or len(note) <= width:
        return note
    return "\n".join(_wrap(note, width, indent))


def dropped_note(headers: List[str], width: int) -> str:
    return (f"not shown at {width} columns: {', '.join(headers)} (every column: --format markdown, -o FILE.xlsx, "
            f"or a wider terminal, e.g. COLUMNS={width + 60})")


def text_view(table: Table, width: Optional[int] = None) -> str:
    """One table as text, fitted to ``width`` (None: ``terminal_width()``)."""
    width = terminal_width() if width is None else width
    out = [wrap_note(table.title, width)] if table.title else []
    notes = list(table.notes)
    cols = table.columns_for("text")
    if cols:
        cols, rows, total = _grid(table, "text", human=True)
        body, dropped = text_table([c.header for c in cols], rows + ([[], total] if total else []),
                                   "".join(c.align for c in cols), width, [c.kind for c in cols],
                                   [c.drop for c in cols])
        out += ["", body] if out else [body]
        if dropped:
            notes.append(dropped_note(dropped, width))
    if notes:
        out += ([""] if cols else []) + [wrap_note(n, width) for n in notes]
    return "\n".join(out) + "\n"


def markdown_table(headers: List[str], rows: List[list], align: Optional[str] = None) -> str:
    align = align or "l" * len(headers)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def markdown_view(table: Table) -> str:
    """A table as Markdown: a title starting with '== ' (a section of the text view) becomes a
    '### ' heading, any other a bold line; exact integers; the notes as a list."""
    cols = table.columns_for("markdown")
    title = table.title
    out = (f"### {title[3:]}\n" if title.startswith("== ") else f"**{title}**\n") if title else ""
    if cols:
        cols, rows, total = _grid(table, "markdown")
        if total:
            rows.append([f"**{c}**" if c else "" for c in total])
        out += ("\n" if out else "") + markdown_table([c.header for c in cols], rows,
                                                      "".join(c.align for c in cols)) + "\n"
    if table.notes:
        out += "\n" + "\n".join(f"- {n}" for n in table.notes) + "\n"
    return out


def csv_text(headers: List[str], rows: List[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def json_text(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


def generic_json(table: Table) -> dict:
    cols = table.columns_for("json")
    return {"title": table.title, "columns": [{"key": c.key, "header": c.header} for c in cols],
            "rows": [{c.key: r.get(c.key) for c in cols} for r in table.rows],
            "total": table.total, "notes": list(table.notes)}


def as_list(tables: Tables) -> List[Table]:
    return [tables] if isinstance(tables, Table) else list(tables)


def row_count(tables: Tables, fmt: str) -> int:
    """Data rows written in ``fmt`` (the roll-up row not counted): what 'wrote FILE (N rows)' says."""
    shown = [t for t in as_list(tables) if t.shown_in(fmt) and t.columns_for(fmt)]
    if fmt == "csv":
        shown = shown[:1]
    return sum(len(t.rows) for t in shown)


def render(tables: Tables, fmt: str, width: Optional[int] = None):
    """``tables`` (a ``Table`` or a list) in ``fmt`` (one of ``FORMATS``): a str, or bytes for xlsx.
    ``width``: the text view's width (None: ``terminal_width()``)."""
    tables = as_list(tables)
    shown = [t for t in tables if t.shown_in(fmt)]
    if fmt == "json":
        for t in shown:
            if t.data is not None:
                return json_text(t.data)
        gen = [generic_json(t) for t in shown if t.columns_for("json")]
        return json_text(gen[0] if len(gen) == 1 else gen)
    if fmt == "csv":
        for t in shown:
            cols = t.columns_for("csv")
            if cols:
                cols, rows, total = _grid(t, "csv")
                return csv_text([c.header for c in cols], rows + ([total] if total else []))
        raise CostModelError("this output has no table to write as CSV; use --format text, markdown or json")
    if fmt == "markdown":
        return "\n".join(markdown_view(t) for t in shown)
    if fmt == "text":
        width = terminal_width() if width is None else width
        text = "\n".join(text_view(t, width) for t in shown)
        if any(c.kind in SCALED_KINDS for t in shown for c in t.columns_for("text")):
            last = shown[-1]  # once, under the last table: with its notes, or after a blank line
            text += ("" if last.notes or not last.columns_for("text") else "\n") + wrap_note(UNITS_NOTE, width) + "\n"
        return text
    if fmt == "xlsx":
        return workbook_bytes(shown)
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
    fmts = {"head": wb.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top",
                                   "border": 1}),
            "int": wb.add_format({"num_format": "#,##0"}), "float": wb.add_format({"num_format": "#,##0.000"}),
            "g": wb.add_format({"num_format": "0.00##"}), "ratio": wb.add_format({"num_format": "0.000"}),
            "pct": wb.add_format({"num_format": "0.0"}), "text": None, "shape": None,
            "signed": wb.add_format({"num_format": "+#,##0;-#,##0;0"}),
            "total_int": wb.add_format({"num_format": "#,##0", "bold": True}),
            "total_float": wb.add_format({"num_format": "#,##0.000", "bold": True}),
            "total_text": wb.add_format({"bold": True})}
    fmts["count"] = fmts["bytes"] = fmts["int"]
    return fmts


def _cell_format(fmts, c: Column):
    if c.signed and c.kind in ("int", "count", "bytes"):
        return fmts["signed"]
    return fmts.get(c.kind)


def _write(ws, i, j, v, fmt):
    if v is None or v == "":
        return
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        ws.write_string(i, j, "" if v != v else str(v), fmt)
    elif isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < EXACT_IN_XLSX:
        ws.write_number(i, j, v, fmt)
    else:
        ws.write_string(i, j, str(v), fmt)


def add_sheet(wb, fmts, name: str, table: Table) -> None:
    """One table as a sheet of workbook ``wb``."""
    if len(table.rows) + 3 > XLSX_MAX_ROWS:
        raise CostModelError(f"{len(table.rows):,} rows do not fit in one Excel sheet (at most "
                             f"{XLSX_MAX_ROWS - 3:,}); use --format csv")
    ws = wb.add_worksheet(name)
    cols = table.columns_for("xlsx")
    values = [[(hwc(r.get(c.key)) if c.kind == "shape" and r.get(c.key) else r.get(c.key)) for c in cols]
              for r in table.rows]
    for j, c in enumerate(cols):
        ws.set_column(j, j, _xlsx_width([v[j] for v in values], c.header), _cell_format(fmts, c))
    ws.set_row(0, 30)
    ws.write_row(0, 0, [c.header for c in cols], fmts["head"])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(values), 1), len(cols) - 1)
    for i, row in enumerate(values, 1):
        for j, v in enumerate(row):
            _write(ws, i, j, v, _cell_format(fmts, cols[j]))
    if table.total is not None:
        i = len(values) + 2  # a blank row, then the roll-up: outside the filter range
        for j, c in enumerate(cols):
            v = table.total.get(c.key)
            if c.kind == "shape" and isinstance(v, (list, tuple)):
                v = hwc(v)
            kind = ("total_int" if c.kind in ("int", "count", "bytes") else "total_float"
                    if c.kind in ("float", "pct", "g", "ratio") else "total_text")
            _write(ws, i, j, v, fmts[kind])


def _sheet_names(tables: Sequence[Table]) -> List[str]:
    """Each table's sheet name, made unique and valid for Excel (31 characters, no []:*?/\\)."""
    names, seen = [], {"notes"}
    for t in tables:
        base = "".join("_" if ch in "[]:*?/\\" else ch for ch in (t.sheet or "table"))[:28] or "table"
        name, k = base, 2
        while name.lower() in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def workbook_bytes(tables: Sequence[Table], sheet_names: Optional[Sequence[str]] = None,
                   notes: Optional[Sequence[str]] = None) -> bytes:
    """A workbook of one sheet per table with columns and a "notes" sheet (every table's title and
    notes, and ``notes``), as bytes."""
    import xlsxwriter
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    fmts = _formats(wb)
    names = list(sheet_names) if sheet_names else _sheet_names(tables)
    for name, t in zip(names, tables):
        if t.columns_for("xlsx"):
            add_sheet(wb, fmts, name, t)
    ws = wb.add_worksheet("notes")
    ws.set_column(0, 0, 120)
    lines = []
    for name, t in zip(names, tables):
        lines += [f"{name}: {t.title}" if t.columns_for("xlsx") else t.title] + [f"  {n}" for n in t.notes] + [""]
    lines += list(notes or [])
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line)
    wb.close()
    return buf.getvalue()
