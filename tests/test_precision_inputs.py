"""Per-layer precision given where users write networks (issue 11): a spec file's `precision:` (defaults
and overrides), a block's own `precision:`, and `--set precision=...` on the command line; the table's
header names mixed precision and weight bytes, MAC and peak memory follow each layer's bits."""
import json

import pytest

import costmodel
from costmodel.errors import CostModelError
from costmodel.precision import parse_text

SPEC = """precision: {act: 8, weight: 8, layers: [{match: stem, act: 16}]}
blocks:
  - {type: conv, name: stem, c: 8, s: 2}
  - {type: ir, t: 2, c: 16, precision: {weight: 4}}
  - gap
  - fc
"""


@pytest.fixture
def spec_path(tmp_path):
    p = tmp_path / "net.yaml"
    p.write_text(SPEC)
    return str(p)


def test_spec_file_and_block_precision_by_hand(spec_path):
    g = costmodel.load(spec_path, res=8)
    r = costmodel.analyze(g)
    wb = {x["name"]: x["weight_bytes"] for x in r.rows if x["weight_bytes"]}
    # int8 weights + int32 biases (BN folded): stem 8x3x3x3 = 216 B + 8 x 4 B
    # ir1 at 4 bits (packed two per byte) + int32 biases: expand 16x8 -> 64 + 64, dw 16x9 -> 72 + 64,
    # project 16x16 -> 128 + 64; fc 16 x 1000 at 8 bits + 1000 int32 biases
    assert wb == {"stem": 216 + 32, "ir1.expand": 64 + 64, "ir1.dw": 72 + 64, "ir1.project": 128 + 64,
                  "fc3": 16_000 + 4_000}
    assert r.totals["weight_bytes"] == 20_704
    # activations: the stem's output at 16 bits (4x4x8 -> 256 B) beside the 8-bit image (192 B); the peak is
    # the classifier's 16-channel vector + 1000 logits at 8 bits
    m = costmodel.memory.report(g)
    assert m["timeline"][0]["live_bytes"] == 192 + 256 and m["peak_bytes"] == 16 + 1000


def test_show_round_trips_precision(spec_path, cli, tmp_path):
    out = cli("show", spec_path).out
    p = tmp_path / "again.yaml"
    p.write_text(out)
    a, b = costmodel.load(spec_path, res=8), costmodel.load(str(p), res=8)
    assert costmodel.analyze(a).totals == costmodel.analyze(b).totals


def test_set_precision_on_a_registry_network(cli):
    r = cli("table", "mobilenet_v2", "--set", "precision=act=8,weight=8;conv0:act=16;ir1:weight=4", "-f", "json")
    d = json.loads(r.out)
    assert d["precision"]["layers"] == [{"match": "conv0", "act": 16}, {"match": "ir1", "weight": 4}]
    text = cli("table", "mobilenet_v2", "--set", "precision=act=8,weight=8;conv0:act=16").out
    assert "mixed precision (act 8/16, weight 8)" in text.splitlines()[0]


def test_precision_text_form():
    assert parse_text("act=8,weight=8;conv0:act=16;ir1:weight=4") == {
        "act": 8, "weight": 8, "layers": [{"match": "conv0", "act": 16}, {"match": "ir1", "weight": 4}]}
    assert parse_text("ir*.project:weight=4") == {"layers": [{"match": "ir*.project", "weight": 4}]}
    for bad in ("", "act=7x", "bits=8", "act=8;weight=4"):
        with pytest.raises(CostModelError, match="precision"):
            parse_text(bad)


@pytest.mark.parametrize("setting, needle", [
    ("precision=act=3", "bits must be one of 4, 8, 16, 32"),
    ("precision=nosuchlayer:act=8", "names no node"),
])
def test_bad_precision_is_one_line(cli, setting, needle):
    r = cli("table", "mobilenet_v2", "--set", setting)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1


def test_bad_block_precision_names_the_line(tmp_path, cli):
    p = tmp_path / "bad.yaml"
    p.write_text("blocks:\n  - {type: conv, c: 8, precision: 8}\n")
    r = cli("table", str(p))
    assert r.code == 2 and "bad.yaml:2" in r.err and "precision must be a mapping" in r.err
