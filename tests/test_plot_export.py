"""Plots and review spreadsheets produced and read back (openpyxl); published-accuracy lookup."""
import csv
import io
import re
import subprocess
import sys

import pytest

import costmodel
from costmodel import accuracy, export, plot

HEADERS = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}


def _cli(args):
    return subprocess.run([sys.executable, "-m", "costmodel"] + args, capture_output=True, text=True)


# ----------------------------------------------------------------------------- accuracy lookup
def test_lookup_prefers_release_and_converts_errors():
    p = accuracy.lookup("mobilenet_v2", 0.75, 160)
    assert (p.top1, p.release, p.classes) == (66.4, True, 1001)
    p = accuracy.lookup("mobilenet_v1", 1.0, 224)
    assert p.top1 == 70.9 and "tf-slim" in p.source         # release 70.9 before the paper's 70.6
    assert accuracy.lookup("mobilenet_v1", 1.0, 224, {"variant": "conv"}).top1 == 71.7
    p = accuracy.lookup("shufflenet_v1", 1.0, 224, {"groups": 8})
    assert p.top1 == 68.0 and p.top1_printed == "100 - 32.0"
    assert accuracy.lookup("mobilenet_v2", 0.8, 224) is None


def test_family_points_of_the_figures():
    assert len({(p.alpha, p.resolution) for p in accuracy.family_points("mobilenet_v1")}) == 16
    assert len({(p.alpha, p.resolution) for p in accuracy.family_points("mobilenet_v2")}) == 22


# ----------------------------------------------------------------------------- plots
def test_v1_figures_4_and_5_have_the_16_models_at_computed_cost():
    pts = plot.points(["mobilenet_v1"], "madds")
    assert len(pts) == 16 and all(p.computed for p in pts)
    p = next(p for p in pts if p.label == "0.5-160")
    assert p.x == costmodel.analyze(costmodel.build("mobilenet_v1", alpha=0.5, res=160, classes=1001)).totals["madds"]
    assert p.top1 == 59.1
    params = {p.label.split("-")[0]: p.x for p in plot.points(["mobilenet_v1"], "params")}
    assert len(set(params.values())) == 4                    # resolution does not change params (Figure 5)


def test_v2_figure5_points_and_published_only_nasnet():
    pts = plot.points(["mobilenet_v2", "mobilenet_v1", "shufflenet_v1", "NasNet-A"])
    fams = {p.family for p in pts}
    want = {costmodel.get_network(n).family for n in ("mobilenet_v2", "mobilenet_v1", "shufflenet_v1")}
    assert fams == want | {"published cost"} and len(fams) == 4
    (nas,) = [p for p in pts if not p.computed]
    assert (nas.x, nas.top1) == (564e6, 74.0)
    assert sum(p.family == "MobileNetV2" for p in pts) == 22


def test_pareto_front_is_non_dominated():
    pts = plot.points(["mobilenet_v2", "mobilenet_v1"])
    front = plot.pareto(pts)
    assert front and all(a.x <= b.x and a.top1 < b.top1 for a, b in zip(front, front[1:]))
    for p in pts:
        assert not any(q.x < p.x and q.top1 > p.top1 for q in pts) or p not in front
    assert all(p.family == "MobileNetV2" for p in front[-3:])   # V2 dominates V1 at high compute


@pytest.mark.parametrize("ext", [".png", pytest.param(".svg", marks=pytest.mark.slow),
                                 pytest.param(".pdf", marks=pytest.mark.slow)])   # one backend in the default run
def test_plot_files_written(tmp_path, ext):
    out = tmp_path / f"fig{ext}"
    r = _cli(["plot", "mobilenet_v2", "mobilenet_v1", "shufflenet_v1", "NasNet-A", "--pareto", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(HEADERS[ext]) and len(data) > 10_000
    if ext == ".svg":
        assert b"<svg" in data[:2000] and b"NasNet-A" in data


def test_plot_peak_memory_axis(tmp_path):
    fig = plot.figure(["mobilenet_v2"], x="peak-memory")
    plot.save(fig, str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").stat().st_size > 10_000


@pytest.mark.parametrize("args,needle", [
    (["plot", "mobilenet_v1", "-o", "FILE.txt"], ".png"),
    (["plot", "mobilenet_v1", "--x", "joules", "-o", "f.png"], "joules"),
    (["plot", "nosuchnet", "-o", "f.png"], "unknown network"),
    (["export", "mobilenet_v1", "-o", "review.ods"], ".xlsx or .csv"),
    (["export", "mobilenet_v1", "-a", "0.5:", "-o", "r.xlsx"], "alpha"),
])
def test_bad_input_one_line_exit_2_no_file(tmp_path, args, needle):
    args = [a if "." not in a or a.startswith("-") or a[0].isdigit() else str(tmp_path / a) for a in args]
    r = _cli(args)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- spreadsheets
def test_xlsx_review_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "review.xlsx"
    r = _cli(["export", "mobilenet_v2", "shufflenet_v1", "-a", "0.5,1", "-r", "160,224", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    names = wb.sheetnames
    assert names[0] == "summary" and len(names) == 1 + 8 + 1   # summary, 8 candidates, notes
    assert len(set(n.lower() for n in names)) == len(names) and all(len(n) <= 31 for n in names)
    ws = wb["summary"]
    head = [c.value for c in ws[1]]
    assert head[:4] == ["network", "family", "alpha", "resolution (px)"]
    assert "Mult-Adds (count)" in head and "peak activations (bytes, 32-bit)" in head and \
        "published top-1 (%)" in head
    assert ws.max_row == 1 + 8 and ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    col = head.index("Mult-Adds (count)") + 1
    rows = {(ws.cell(i, 1).value, ws.cell(i, 3).value, ws.cell(i, 4).value): i for i in range(2, ws.max_row + 1)}
    i = rows[("mobilenet_v2", 0.5, 160)]
    t = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=0.5, res=160)).totals
    assert ws.cell(i, col).value == t["madds"] and ws.cell(i, col).number_format == "#,##0"
    assert ws.cell(i, head.index("published top-1 (%)") + 1).value == 61.0
    assert ws.column_dimensions["I"].width >= len(f"{t['madds']:,}")
    layer = wb[names[1]]
    rep = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=0.5, res=160))
    assert names[1].startswith("1 mobilenet_v2 0.5-160")
    assert [c.value for c in layer[1]][:5] == ["layer", "op", "block", "input (HxWxC)", "output (HxWxC)"]
    assert layer.freeze_panes == "A2" and layer.auto_filter.ref == f"A1:K{1 + len(rep.rows)}"   # layers only
    assert layer.max_row == 1 + len(rep.rows) + 2 and layer.cell(layer.max_row - 1, 1).value is None
    total = layer[layer.max_row]   # the roll-up: below a blank row, outside the filter range, bold
    assert total[0].value == "total" and total[0].font.b and total[7].font.b
    assert total[7].value == rep.totals["madds"] and total[7].number_format == "#,##0"
    assert layer.cell(2, 4).value == "160x160x3"
    assert "notes" in names and names[-1] == "notes"


def test_csv_summary(tmp_path):
    out = tmp_path / "review.csv"
    r = _cli(["export", "mobilenet_v1", "-a", "0.25,1", "-r", "128", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 2 and rows[1]["published top-1 (%)"] == "65.2"
    t = costmodel.analyze(costmodel.build("mobilenet_v1", alpha=1.0, res=128)).totals
    assert int(rows[1]["Mult-Adds (count)"]) == t["madds"]


def test_sheet_names_are_valid_unique_and_short():
    names = export.sheet_names(["a/b:c*d?[e]\\f", "x" * 40, "x" * 40, "X" * 40, "summary"])
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.lower() for n in names} | {"summary"}) == len(names) + 1


def test_sweep_as_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "sweep.xlsx"
    r = _cli(["sweep", "mobilenet_v2", "-a", "0.35:1.4:0.35", "-r", "96:224:64", "-f", "xlsx", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    ws = openpyxl.load_workbook(out)["sweep"]
    head = [c.value for c in ws[1]]
    assert ws.max_row == 1 + 4 * 3 and "Mult-Adds (count)" in head and ws.freeze_panes == "A2"
    assert "MAC (bytes, 32-bit)" in head and "resolution (px)" in head  # units in the headers
    assert ws.cell(2, head.index("Mult-Adds (count)") + 1).number_format == "#,##0"


def test_export_skips_what_a_network_cannot_build_and_lists_it(tmp_path, cli):
    """issue 15: ShuffleNet V2 defines no alpha 0.75; the others are exported, the refusal is listed."""
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "m.xlsx"
    r = cli("export", "mobilenet_v2", "shufflenet_v2", "--alpha", "0.5,0.75,1.0", "-o", out)
    assert r.code == 0, r.err
    assert r.err.strip() == ("costmodel: skipped shufflenet_v2 alpha 0.75: shufflenet_v2: alpha 0.75 is not defined "
                             "for this network; accepted: 0.5, 1, 1.5, 2 (listed in the notes sheet)\n"
                             f"costmodel: wrote {out} (5 rows)")
    wb = openpyxl.load_workbook(out)
    ws = wb["summary"]
    got = [(ws.cell(i, 1).value, ws.cell(i, 3).value) for i in range(2, ws.max_row + 1)]
    assert got == [("mobilenet_v2", 0.5), ("mobilenet_v2", 0.75), ("mobilenet_v2", 1), ("shufflenet_v2", 0.5),
                   ("shufflenet_v2", 1)]
    assert len(wb.sheetnames) == 1 + 5 + 1
    notes = [row[0] for row in wb["notes"].iter_rows(values_only=True) if row[0]]
    assert "  skipped: 1 configuration(s) a network cannot build:" in notes
    why = "shufflenet_v2 alpha 0.75: shufflenet_v2: alpha 0.75 is not defined"
    assert any(n.strip().startswith(why) for n in notes)
    assert any("KB = 1000 bytes" in n for n in notes)          # the conventions
    # the CSV summary skips it too (said on stderr), and nothing left to build is an error
    r = cli("export", "mobilenet_v2", "shufflenet_v2", "--alpha", "0.75", "-o", tmp_path / "m.csv")
    assert r.code == 0 and "skipped shufflenet_v2 alpha 0.75" in r.err
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text())))) == 1
    r = cli("export", "shufflenet_v2", "--alpha", "0.75", "-o", tmp_path / "n.xlsx")
    assert r.code == 2 and r.err.startswith("costmodel: error: nothing to export")
    assert not (tmp_path / "n.xlsx").exists()
    r = cli("export", "mobilenet_v2", "nosuchnet", "-o", tmp_path / "n.xlsx")   # a typo is not skipped
    assert r.code == 2 and "unknown network" in r.err and not (tmp_path / "n.xlsx").exists()


def test_every_workbook_looks_the_same(tmp_path, cli):
    """export, table and sweep workbooks come from one writer: bold frozen header, thousands
    separators, a notes sheet; a roll-up row is bold and outside the filter range."""
    openpyxl = pytest.importorskip("openpyxl")
    files = {"export": ["export", "mobilenet_v1", "-a", "0.5", "-r", "128"], "table": ["table", "mobilenet_v1",
             "--alpha", "0.5", "--res", "128", "-f", "xlsx"], "sweep": ["sweep", "mobilenet_v1", "-a", "0.5",
                                                                         "-r", "128", "-f", "xlsx"]}
    for kind, args in files.items():
        out = tmp_path / f"{kind}.xlsx"
        r = cli(*args, "-o", out)
        assert r.code == 0, (kind, r.err)
        wb = openpyxl.load_workbook(out)
        assert wb.sheetnames[-1] == "notes", kind
        for ws in wb.worksheets[:-1]:
            head = ws[1]
            assert ws.freeze_panes == "A2" and all(c.font.b for c in head if c.value), (kind, ws.title)
            assert ws.auto_filter.ref.startswith("A1:"), (kind, ws.title)
            last_filtered = int(re.search(r"(\d+)$", ws.auto_filter.ref).group(1))
            # whole numbers read back as int; a share column's 0.0 % is one too (its format: 0.0)
            ints = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, int)
                    and not str(ws.cell(1, c.column).value).endswith("%")]
            assert ints and all(c.number_format.startswith("#,##0") for c in ints), (kind, ws.title)
            if ws.max_row > last_filtered:   # a roll-up row: after a blank row, in bold
                assert ws.max_row == last_filtered + 2 and ws.cell(ws.max_row, 1).font.b, (kind, ws.title)
