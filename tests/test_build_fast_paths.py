"""The shortcuts that make build and analyze fast (benchmarks/bench_build.py) give what the plain
way gives, exactly: a stage's copied repeats equal the repeats built op by op, the optimal peak
taken from the search equals the evaluated schedule's, cached per-node costs equal the op's
formulas, units and nodes made without their dataclass ``__init__`` equal the ordinary ones, and
the rows ``analyze`` makes on first use equal ``layer_rows`` plus the memory columns, and an op
kind's ``costs`` (its five formulas in one call) equals the five formulas."""
import copy
import dataclasses
import pickle
import random

import pytest

import costmodel as cm
from costmodel import memory as M
from costmodel import registry, spec
from costmodel.analysis import layer_rows
from costmodel.graph import GraphBuilder, Node, _node
from costmodel.memory_liveness import optimal_peak
from costmodel.memory_plan import Unit
from costmodel.ops import Add, BatchNorm, Concat, Conv2d


def _signature(g):
    return (g.name, g.input_shape, g.outputs, g.meta,
            [(n.name, n.op, n.inputs, n.in_shapes, n.out_shapes, n.scope) for n in g.nodes])


def _configs():
    """Every registry network at its defaults, at another alpha and resolution, and with each other
    choice of each knob that has choices."""
    for name, net in cm.networks().items():
        yield name, {}
        yield name, {"alpha": 0.5, "res": 160}
        for k in net.knobs:
            for c in k.choices or ():
                if c != k.default:
                    yield name, {k.name: c}


def test_copied_repeats_equal_repeats_built_op_by_op(monkeypatch):
    """Every registry configuration: the same nodes (names, ops, wiring, shapes, scopes) and the same
    ``ctx.ch`` trace with and without copying a stage's equal repeats."""
    checked = 0
    for name, kw in _configs():
        try:
            c = registry.configure(name, **kw)
        except cm.CostModelError:  # a combination the network rejects
            continue
        built = {}
        for enabled in (True, False):
            monkeypatch.setattr(spec._Repeats, "enabled", enabled)
            trace = []
            g = spec.expand(c.spec(), c.alpha, c.res, c.classes, c.depth, trace=trace, **c.knobs)
            built[enabled] = (_signature(g), trace)
        assert built[True] == built[False], (name, kw)
        checked += 1
    assert checked > 100


def test_copies_carry_the_costs_and_read_their_own_block():
    g = cm.build("efficientnet_b7")
    copies = [n for n in g.nodes if n.name.startswith("stage6.9.")]   # repeat 9 of 10: a copy
    assert copies and all("_costs" in n.__dict__ for n in copies)
    for n in copies:
        op = n.op
        assert n.costs == (op.params(n.in_shapes), op.bn_params(n.in_shapes), op.madds(n.in_shapes, n.out_shapes),
                           op.flops(n.in_shapes, n.out_shapes), op.attn_madds(n.in_shapes, n.out_shapes))
        assert all(r.startswith("stage6.9.") or r.startswith("stage6.8.") for r in n.inputs)


def _five(op, ins, outs):
    return (op.params(ins), op.bn_params(ins), op.madds(ins, outs), op.flops(ins, outs), op.attn_madds(ins, outs))


def test_op_costs_overrides_equal_the_five_formulas_on_every_zoo_node():
    """``Op.costs`` (conv, BatchNorm and activation evaluate their formulas together) equals params,
    bn_params, madds, flops and attn_madds on every node of every registry network, at two widths."""
    kinds = set()
    for name, kw in _configs():
        if kw not in ({}, {"alpha": 0.5, "res": 160}):
            continue
        try:
            g = cm.build(name, **kw)
        except cm.CostModelError:
            continue
        for n in g.nodes:
            got = n.op.costs(n.in_shapes, n.out_shapes)
            assert got == _five(n.op, n.in_shapes, n.out_shapes), (name, n.name)
            assert all(type(v) is int for v in got), (name, n.name)
            kinds.add(n.op.kind)
    assert {"conv2d", "batchnorm", "activation", "linear", "add"} <= kinds
    # by hand: a 3x3 conv with bias, 8 -> 16 channels, groups 2, on 8x10x10 (stride 1, padding 1)
    conv = Conv2d(16, (3, 3), 1, (1, 1, 1, 1), (1, 1), 2, True)
    ins, outs = ((8, 10, 10),), conv.infer(((8, 10, 10),))
    assert conv.costs(ins, outs) == (16 * 4 * 9 + 16, 0, 1600 * 4 * 9, 2 * 1600 * 36 + 1600, 0)
    assert BatchNorm().costs(ins, ins) == (0, 16, 0, 1600, 0)
    assert BatchNorm(affine=False).costs(ins, ins) == (0, 0, 0, 1600, 0)


def test_a_kind_changing_a_formula_without_its_own_costs_gets_the_plain_one():
    @dataclasses.dataclass(frozen=True)
    class DoubleConv(Conv2d):  # not registered anywhere: a subclass as a plugin might write
        def madds(self, ins, outs):
            return 2 * super().madds(ins, outs)

    op = DoubleConv(4, (1, 1))
    ins = ((4, 2, 2),)
    outs = op.infer(ins)
    assert op.costs(ins, outs) == _five(op, ins, outs) and op.costs(ins, outs)[2] == 2 * 4 * 4 * 4


def test_the_node_index_handed_over_by_the_builder_equals_the_one_made_from_the_nodes():
    for name in ("efficientnet_b7", "shufflenet_v2", "mobilenet_v4_hybrid_large"):
        g = cm.build(name)
        made = dataclasses.replace(g)  # a graph made without the builder: its index made on first use
        assert "_index" not in made.__dict__
        assert list(g._index.items()) == list(made._index.items()) == [(n.name, n) for n in g.nodes]
        assert g._index is not made._index and made.node(g.nodes[-1].name) is g.nodes[-1]


def test_batchnorm_and_activations_added_directly_equal_those_added_through_add(monkeypatch):
    """``GraphBuilder._same_shape`` (conv's BatchNorm and activation) makes the nodes ``add`` makes."""
    names = ("mobilenet_v3_large", "efficientnet_b0", "resnet50", "mixnet_s", "mobilenet_v4_hybrid_medium")
    fast = {name: _signature(cm.build(name)) for name in names}
    monkeypatch.setattr(GraphBuilder, "_same_shape", GraphBuilder.add)
    for name in names:
        assert _signature(cm.build(name)) == fast[name], name
    g = GraphBuilder("clash", (3, 8, 8))
    y = g.conv("input", 4, 3, name="c")
    with pytest.raises(cm.CostModelError, match="already exists"):
        g._same_shape(BatchNorm(), y, "c.bn")


def test_total_weight_bytes_equal_the_layers_summed_at_every_width():
    """``weight_bytes`` adds whole-byte widths up without rounding per tensor: the same as summing
    ``layer_weight_bytes`` (4-bit weights round up per tensor)."""
    from costmodel.precision import WEIGHT_BITS, layer_weight_bytes, weight_bytes
    for name in ("mobilenet_v2", "efficientnet_b0", "resnet50", "shufflenet_v2", "mobilenet_v4_hybrid_medium"):
        g = cm.build(name)
        for bits in WEIGHT_BITS:
            assert weight_bytes(g, bits) == sum(layer_weight_bytes(g, bits).values()), (name, bits)
            assert cm.analyze(g, weight_bits=bits).totals["weight_bytes"] == weight_bytes(g, bits)


def test_a_name_already_taken_builds_the_repeat_and_reports_it():
    """A copy never overwrites a node: a spec whose repeat scope collides with an earlier block's
    names falls back to building, which names the clash as before."""
    s = spec.NetSpec("clash", (spec.blk("conv", c=8, k=3, name="a.1"), spec.blk("conv", n=3, c=8, k=3, name="a")))
    with pytest.raises(cm.CostModelError, match="a node with this name already exists"):
        spec.expand(s, res=32)


def _random_graph(seed):
    r = random.Random(seed)
    g = GraphBuilder(f"random{seed}", (r.choice([3, 8]), 16, 16))
    refs = ["input"]
    for i in range(r.randint(3, 25)):
        src = r.choice(refs[-6:])
        kind = r.random()
        if kind < 0.5:
            y = g.conv(src, r.choice([4, 8, 16]), r.choice([1, 3]), act=r.choice([None, "relu"]), bn=r.random() < 0.7,
                       name=f"c{i}")
        elif kind < 0.65:
            y = g.dwconv(src, 3, act="relu", name=f"d{i}")
        else:
            same = [x for x in refs[-6:] if x != src and g.shape(x)[1:] == g.shape(src)[1:]
                    and (kind >= 0.8 or g.shape(x) == g.shape(src))]
            if not same:
                continue
            y = g.add(Add() if kind < 0.8 else Concat(), [src, r.choice(same)], f"m{i}")
        refs.append(y)
    outs = [refs[-1]] + ([refs[len(refs) // 2]] if r.random() < 0.3 and len(refs) > 2 else [])
    return g.build(list(dict.fromkeys(outs)))


def _plans():
    for name in cm.networks():
        g = cm.build(name)
        yield name, M.plan(g)
    for seed in range(40):
        g = _random_graph(seed)
        yield f"random{seed}", M.plan(g)
        yield f"random{seed} in place", M.plan(g, inplace="dw,add", batch=2)
    yield "mobilenet_v2 in place", M.plan(cm.build("mobilenet_v2"), inplace="dw,fused-add")
    yield "resnet50 in place", M.plan(cm.build("resnet50"), inplace="add")
    yield "mobilenet_v2 streamed", M.stream(M.plan(cm.build("mobilenet_v2")))
    yield "ssdlite (beam)", M.plan(cm.build("mobilenet_v2", head="ssdlite"))


def test_the_searched_peak_equals_the_evaluated_schedule():
    for name, p in _plans():
        assert optimal_peak(p) == M.schedule(p, "optimal").peak, name
        assert optimal_peak(p, budget=30) == M.schedule(p, "optimal", budget=30).peak, name  # a narrow beam


def test_nodes_and_units_made_without_init_equal_the_ordinary_ones():
    g = cm.build("mobilenet_v2")
    for n in g.nodes[:20]:
        plain = Node(n.name, n.op, n.inputs, n.in_shapes, n.out_shapes, n.scope)
        fast = _node(n.name, n.op, n.inputs, n.in_shapes, n.out_shapes, n.scope)
        assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    for u in M.plan(g).units:
        plain = Unit(*(getattr(u, f.name) for f in dataclasses.fields(Unit)))
        assert plain == u and hash(plain) == hash(u) and repr(plain) == repr(u)
        with pytest.raises(dataclasses.FrozenInstanceError):
            u.mac = 0


def test_rows_made_on_first_use_equal_layer_rows_with_the_memory_columns():
    g = cm.build("mobilenet_v3_small")
    rep = cm.analyze(g, bits=16, batch=2)
    plan = M.plan(g, batch=2)
    mac = M.node_mac(plan)
    for row, ref in zip(rep.rows, layer_rows(g, 2)):
        assert list(row)[:len(ref)] == list(ref) and all(row[k] == ref[k] for k in ref)
        assert row["mac"] == mac[row["name"]] and "weight_bytes" in row
    assert sum(r["mac"] for r in rep.rows) == rep.totals["mac"]
    assert sum(r["weight_bytes"] for r in rep.rows) == rep.totals["weight_bytes"]


def test_a_report_with_rows_not_yet_made_copies_pickles_and_compares_as_one_with_rows():
    made = cm.analyze(cm.build("shufflenet_v2"))
    made.rows
    for fresh in (lambda: cm.analyze(cm.build("shufflenet_v2")),):
        assert pickle.loads(pickle.dumps(fresh())) == made
        assert copy.deepcopy(fresh()) == made and copy.copy(fresh()) == made
        assert dataclasses.replace(fresh(), totals={}).rows == made.rows
        assert dataclasses.asdict(fresh())["rows"] == made.rows and fresh() == made
        assert fresh().to_dict() == made.to_dict()


def _cycles_left(make) -> int:
    """Reference cycles that ``make()`` leaves for the cyclic collector (run once before, so that
    imports and first-use caches are not counted). With the collector disabled everything
    ``make()`` allocates stays in the youngest generation, so collecting that generation alone
    finds every cycle made only of new objects, without a pass over the whole heap (two full
    collections a network took 10 s of the suite once torch and onnx are loaded)."""
    import gc
    make()
    gc.collect(0)
    gc.disable()
    try:
        make()
        return gc.collect(0)
    finally:
        gc.enable()


def test_the_cycle_check_finds_a_cycle():
    def one_list_cycle():
        a = []
        a.append(a)

    assert _cycles_left(one_list_cycle) == 1
    assert _cycles_left(lambda: [[1], {"k": [2]}]) == 0


def test_build_and_analyze_make_no_reference_cycles():
    """``gc_paused`` (costmodel/gcpause.py) is sound only if a built and analyzed network leaves
    nothing for the cyclic collector: everything it made is freed by reference counting."""
    from subsets import representative
    for name in representative():
        assert _cycles_left(lambda: cm.analyze(cm.build(name)).rows) == 0, name  # rows made on first use too


def test_a_prepared_sweep_makes_no_reference_cycles():
    """Nor does a sweep's preparation and a chunk of it (``prepare`` pauses the collector too)."""
    from costmodel.sweeps import prepare, recipe

    def chunk(name):
        p = prepare(recipe(name, [0.5, 1.0], range(96, 140)))
        return p.block(p.chunks()[0])

    for name in ("mobilenet_v2", "mixnet_s", "shufflenet_v2"):
        assert _cycles_left(lambda: chunk(name)) == 0, name


def test_gc_paused_restores_the_collector_as_it_was():
    import gc
    from costmodel.gcpause import gc_paused

    @gc_paused
    def inside(fail=False):
        if fail:
            raise ValueError("boom")
        return gc.isenabled()

    assert gc.isenabled()
    assert inside() is False and gc.isenabled()
    with pytest.raises(ValueError):
        inside(fail=True)
    assert gc.isenabled()
    gc.disable()
    try:
        assert inside() is False and not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()
    assert cm.build.__name__ == "build" and cm.analyze.__doc__.startswith("Per-layer")  # functools.wraps
