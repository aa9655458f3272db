"""The text view (issue 15): tables fit the terminal (wrapped cells and notes, optional columns dropped
with a note), human units with the exact integers kept in CSV, JSON, Markdown and xlsx, shapes HxWxC
everywhere; one renderer for every command; 'wrote FILE (N rows)' after -o; the progress helper;
print(report) is a summary."""
import csv
import io
import json
import shlex

import pytest

import costmodel
from costmodel.render import Column, Table, render, terminal_width


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # tests see the not-a-terminal default (120)


# ----------------------------------------------------------------------------- the renderer
def _long_table():
    rows = [{"name": f"layer{i}", "note": "a rather long description of what this layer does " * 2, "n": 10 ** i,
             "b": 1_400_000, "extra": 12345} for i in range(3)]
    cols = [Column("name", "layer", "text"), Column("note", "what", "text"), Column("n", "count", "count"),
            Column("b", "memory", "bytes"), Column("extra", "optional column", "int", drop=1)]
    return Table("a title", cols, rows, total={"name": "total", "n": 111, "b": 4_200_000},
                 notes=["a footnote " * 30])


def test_text_fits_the_width_wrapping_cells_and_notes():
    t = _long_table()
    for width in (60, 80, 120):
        out = render(t, "text", width)
        assert widest(out) <= width, (width, out)
        assert "a footnote a footnote" in out and "\n  footnote a" in out   # wrapped with a hanging indent
    wide = render(t, "text", 400)
    assert widest(wide) > 120 and "optional column" in wide and "not shown" not in wide


def test_a_long_option_breaks_after_a_choice_not_inside_a_word():
    """`costmodel list` at 80 columns: `--variant standard|conv|shallow` is one unbreakable word
    (an option and its choices); it breaks after a `|`, never inside `shallow` or `deeplabv3`."""
    t = Table("", [Column("k", "knobs", "text")],
              [{"k": "--variant standard|conv|shallow (default standard) --head none|ssd|ssdlite|deeplabv3"}])
    out = render(t, "text", 26)
    lines = [line.strip() for line in out.splitlines()[2:]]
    assert lines == ["--variant standard|conv|", "shallow", "(default standard)", "--head none|ssd|ssdlite|",
                     "deeplabv3"], out
    assert widest(out) <= 26


def test_a_knob_list_breaks_after_a_semicolon_not_inside_a_knob():
    """The reproduction tables' configuration cells (``head=deeplabv3;output_stride=16;...``) are
    one word each; at a narrow width they break after a ``;``, never inside ``aspp=false``."""
    t = Table("", [Column("c", "configuration", "text")],
              [{"c": "mobilenet_v2 head=deeplabv3;output_stride=16;aspp=false;feature=second_last, 513x513"}])
    out = render(t, "text", 34)
    lines = [line.strip() for line in out.splitlines()[2:]]
    assert lines == ["mobilenet_v2", "head=deeplabv3;output_stride=16;", "aspp=false;feature=second_last,",
                     "513x513"], out
    assert widest(out) <= 34


def test_optional_columns_are_dropped_with_a_note_naming_them():
    assert "not shown" not in render(_long_table(), "text", 60)   # wrapping the text column is enough
    out = render(_long_table(), "text", 40)
    assert "optional" not in out.split("\n\n")[1]          # not in the table
    note = " ".join(out.split())
    assert "not shown at 40 columns: optional column" in note and "--format markdown" in note


def test_human_units_in_text_exact_elsewhere():
    t = _long_table()
    text = render(t, "text", 200)
    assert "1.40 MB" in text and "100" in text and "4.20 MB" in text and "KB = 1000 B" in text
    rows = list(csv.reader(io.StringIO(render(t, "csv"))))
    assert rows[0] == ["layer", "what", "count", "memory", "optional column"]
    assert rows[1][2:4] == ["1", "1400000"] and rows[-1][3] == "4200000"
    md = render(t, "markdown")
    assert "| 1,400,000 |" in md and "| **4,200,000** |" in md   # Markdown: exact, for documents
    assert json.loads(render(t, "json"))["rows"][0]["b"] == 1_400_000


def test_terminal_width_from_columns_else_120(monkeypatch):
    assert terminal_width(io.StringIO()) == 120
    monkeypatch.setenv("COLUMNS", "90")
    assert terminal_width(io.StringIO()) == 90
    monkeypatch.setenv("COLUMNS", "10")
    assert terminal_width(io.StringIO()) == 40   # never narrower than 40


# ----------------------------------------------------------------------------- commands fit 120 columns
@pytest.mark.parametrize("args", [["list"], ["table", "mobilenet_v2", "--device", "pixel1-kryo-1t"],
                                  ["reproduce", "mobilenet_v1"], ["memory", "mobilenet_v2", "--planner", "greedy"],
                                  ["guidelines", "--table", "4"], ["diff", "mobilenet_v2", "mobilenet_v3_large"]])
def test_text_tables_fit_120_columns(cli, args):
    r = cli(*args)
    assert r.code == 0, r.err
    assert widest(r.out) <= 120, args


def test_narrower_terminal(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("table", "mobilenet_v2")
    assert r.code == 0 and widest(r.out) <= 80
    assert "not shown at 80 columns:" in " ".join(r.out.split())


def test_list_keeps_every_field_in_csv_and_json(cli):
    rows = list(csv.DictReader(io.StringIO(cli("list", "-f", "csv").out)))
    assert {"name", "description", "knobs", "paper"} <= set(rows[0])
    text = cli("list").out
    assert "not shown at 120 columns: description" in " ".join(text.split())
    assert "--variant standard|conv|shallow" in text   # an option and its value never split


def test_table_text_in_si_units_csv_exact(cli):
    text = cli("table", "mobilenet_v2").out
    total = [x for x in text.splitlines() if x.startswith("total")][0]
    assert "3.47 M" in total and "300.77 M" in total and "3,470,760" not in total
    conv0 = [x for x in text.splitlines() if x.startswith("conv0 ")][0]
    assert "10.84 M" in conv0 and "224x224x3" in conv0 and "112x112x32" in conv0
    rows = list(csv.reader(io.StringIO(cli("table", "mobilenet_v2", "-f", "csv").out)))
    assert rows[0] == ["layer", "op", "input (HxWxC)", "output (HxWxC)", "params", "Mult-Adds", "FLOPs"]
    assert rows[1][4:6] == ["864", "10838016"]
    md = cli("table", "mobilenet_v2", "-f", "markdown").out
    assert "| 10,838,016 |" in md and "params %" in md


def test_memory_shapes_read_hwc(cli):
    out = cli("memory", "mobilenet_v2").out
    assert "shape (HxWxC)" in out and "112x112x96" in out and "96x112x112" not in out
    d = json.loads(cli("memory", "mobilenet_v2", "-f", "json").out)
    assert d["live_at_peak"][0]["shape"] == [96, 112, 112]   # the JSON keeps (C, H, W), PyTorch's layout


def test_memory_workbook(cli, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "m.xlsx"
    assert cli("memory", "mobilenet_v2", "-o", out).code == 0
    wb = openpyxl.load_workbook(out)
    assert {"live at peak", "resolutions", "notes"} <= set(wb.sheetnames)
    ws = wb["resolutions"]
    assert [c.value for c in ws[1]][:3] == ["size", "max_channels", "max_bytes (B)"] and ws["C3"].value == 4_816_896


# ----------------------------------------------------------------------------- -o says where it wrote
def test_wrote_file_with_rows_on_stderr(cli, tmp_path):
    out = tmp_path / "t.csv"
    r = cli("table", "mobilenet_v2", "-o", out)
    assert r.code == 0 and r.out == "" and r.err == f"costmodel: wrote {out} (153 rows)\n"
    r = cli("table", "mobilenet_v2", "--rollup", "1", "-o", tmp_path / "b.json")
    assert r.err == f"costmodel: wrote {tmp_path / 'b.json'} (12 rows)\n"
    r = cli("show", "mobilenet_v2", "-o", tmp_path / "s.yaml")
    assert r.err.startswith(f"costmodel: wrote {tmp_path / 's.yaml'} (") and r.err.endswith(" bytes)\n")
    r = cli("table", "mobilenet_v2", "-o", "-")
    assert r.err == "" and r.out.startswith("mobilenet_v2")
    png = tmp_path / "m.png"
    r = cli("memory", "mobilenet_v2", "--res", "96", "--plot", png)
    assert r.code == 0 and r.err == f"costmodel: wrote {png} ({png.stat().st_size:,} bytes)\n"


def test_streamed_sweeps_exports_and_plots_say_where_they_wrote(cli, tmp_path):
    """Every -o says where it wrote: the streamed sweep (rows of the grid), a sweep computed whole
    (--device), the review export (one row per candidate) and a plot (bytes)."""
    out = tmp_path / "s.csv"
    r = cli("sweep", "mobilenet_v2", "--alpha", "0.5,1", "--res", "96:160:32", "-o", out)
    assert r.code == 0 and r.err == f"costmodel: wrote {out} (6 rows)\n" and len(out.read_text().splitlines()) == 7
    out = tmp_path / "d.jsonl"
    r = cli("sweep", "mobilenet_v2", "--alpha", "0.5,1", "--device", "pixel1-kryo-1t", "-o", out)
    assert r.code == 0 and r.err == f"costmodel: wrote {out} (2 rows)\n"
    out = tmp_path / "e.csv"
    r = cli("export", "mobilenet_v2", "mobilenet_v3_large", "--alpha", "0.75,1.0", "-o", out)
    assert r.code == 0 and r.err == f"costmodel: wrote {out} (4 rows)\n"
    png = tmp_path / "p.png"
    r = cli("plot", "mobilenet_v1", "mobilenet_v2", "--x", "madds", "-o", png)
    assert r.code == 0 and r.err == f"costmodel: wrote {png} ({png.stat().st_size:,} bytes)\n"


def test_sweep_with_device_to_parquet_keeps_text_knobs(cli, tmp_path):
    """A sweep computed whole (--device adds latency_s) streams to Parquet with its text knobs as
    strings (head=none was once sent to int64 and failed)."""
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    import pandas as pd
    out = tmp_path / "d.parquet"
    r = cli("sweep", "mobilenet_v2", "--alpha", "0.5,1", "--res", "128,224", "--device", "pixel1-kryo-1t", "-o", out)
    assert r.code == 0, r.err
    df = pd.read_parquet(out)
    want = costmodel.sweep("mobilenet_v2", [0.5, 1.0], [128, 224])
    assert list(df["head"]) == ["none"] * 4 and list(df["feature"]) == ["last"] * 4
    assert list(df["madds"]) == list(want["madds"]) and (df["latency_s"] > 0).all()


def test_table_writes_a_real_workbook_and_refuses_an_unknown_suffix(cli, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "out.xlsx"
    assert cli("table", "mobilenet_v2", "-o", out).code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["layers", "notes"]
    ws = wb["layers"]
    assert [c.value for c in ws[1]][:5] == ["layer", "op", "input (HxWxC)", "output (HxWxC)", "params"]
    assert ws["E2"].value == 864 and ws.freeze_panes == "A2"
    r = cli("table", "mobilenet_v2", "-o", tmp_path / "out.foo")
    assert r.code == 2 and r.err.count("\n") == 1 and "cannot tell the output format" in r.err
    assert not (tmp_path / "out.foo").exists()


# ----------------------------------------------------------------------------- show's generated-by line
@pytest.mark.parametrize("args", [["shufflenet_v2", "--alpha", "1.5"],
                                  ["mobilenet_v3_small", "--set", "rounding=tfslim", "--set", "head_width=1280"]])
def test_show_generated_by_line_runs_and_reproduces_the_spec(cli, args):
    r = cli("show", *args)
    assert r.code == 0, r.err
    line = next(x for x in r.out.splitlines() if x.startswith("# generated by: "))
    argv = shlex.split(line[len("# generated by: "):])
    assert argv[:2] == ["costmodel", "show"]
    again = cli(*argv[1:])
    assert again.code == 0, again.err
    assert again.out == r.out


# ----------------------------------------------------------------------------- progress helper
class _Tty(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal(tty):
    from costmodel.commands.common import Progress
    from costmodel.commands.sweep import Progress as FromSweep
    assert FromSweep is Progress          # one helper (the sweep imports it from common)
    stream = _Tty(tty)
    with Progress("working", True, stream=stream) as bar:
        for i in range(1, 6):
            bar(i, 5)
    assert ("working" in stream.getvalue()) is tty
    quiet = _Tty(True)
    with Progress("working", False, stream=quiet) as bar:
        bar(1, 2)
    assert quiet.getvalue() == ""


# ----------------------------------------------------------------------------- print(report)
def test_print_report_is_a_short_summary():
    r = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=0.75, res=160))
    s = str(r)
    assert len(s) < 1000 and s.count("\n") < 12
    assert s.startswith("mobilenet_v2: alpha 0.75, resolution 160")
    assert "2.61 M  (2,609,784)" in s and "107.30 M  (107,295,200)" in s and "153 layers" in s
    assert "peak memory" in s and "MB" in s and "costmodel table mobilenet_v2" in s
    rp = repr(r)
    assert "\n" not in rp and len(rp) < 200 and rp.startswith("<Report mobilenet_v2") and "153 layers" in rp


@pytest.mark.parametrize("args,sheets", [(["reproduce", "mobilenet_v1"], ["figures", "notes"]),
                                         (["guidelines", "--table", "2"], ["G2", "roofline", "notes"]),
                                         (["list"], ["networks", "notes"])])
def test_every_command_writes_a_workbook(cli, tmp_path, args, sheets):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "x.xlsx"
    r = cli(*args, "-o", out)
    assert r.code == 0 and r.err.startswith(f"costmodel: wrote {out} ("), r.err
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == sheets
    assert wb[sheets[0]].max_row > 2 and wb[sheets[0]].freeze_panes == "A2"
