"""NumPy reference executor: run a graph on real float32 arrays (NCHW, batch N) and check, node
by node, that the executed shapes equal the analytical ones and that the Mult-Adds (multiply-
accumulates) actually performed equal ``op.madds`` (+ ``op.attn_madds``, attention's matrix products).

* ``execute(graph, x, weights=..., seed=...)``   -> the output (a tuple if the graph has several)
* ``run(graph, ...)``                            -> ``Execution``: outputs, tensors, per-node checks
* ``init_weights(graph, seed)``, ``save_weights``, ``load_weights``, ``weight_shapes``: weights in
  PyTorch's layout (conv ``weight`` (out, in/groups, kh, kw), ``bias`` (out,); linear ``weight``
  (out, in); BatchNorm ``weight``, ``bias``, ``running_mean``, ``running_var``).

Every op kind has one kernel in ``KERNELS`` (``costmodel.kernels``: how each computes and counts).
The executor runs the nodes in a schedule (``schedule="sequential"``: definition order, or
``"optimal"``: the lowest-peak order of ``costmodel.memory``) and frees each tensor as soon as its
last reader has run. Unless every tensor is kept (``keep``) or BatchNorm statistics are being
calibrated, the units of the memory model's deployment plan (``costmodel.memory.plan``) are fused
the same way: a conv or linear kernel applies its folded BatchNorm and fused activations to its
output tiles, and those nodes pass the array on (their check compares that array's shape). An
activation fused into a pool or element-wise op runs in place on its input. Beyond the plan's
units, a concat read only by a BatchNorm takes that BatchNorm (and its activations) as its
epilogue: each input is scaled and shifted on its way into the output. A kernel's temporary
buffers get the room between the tensors the memory model holds at its step (plus the input,
which the caller holds to the end) and (1 + ``WORKSPACE_FRACTION``) x the schedule's analytic
peak, at least ``costmodel.kernels.base.MIN_WORKSPACE`` elements: big tiles where memory is
slack, small ones at the peak, so the executor's peak stays within about 1.25 x the model's.
"""
from __future__ import annotations

import dataclasses

import io
import os
import weakref
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Dict, Tuple  # the weights functions' annotations

import numpy as np

from .errors import CostModelError, GraphError
from .graph import INPUT, Graph, require_graph
from .kernels import INPLACE, KERNELS, Ctx, blas_threads, default_threads, prepare_kernels

#: kernels' temporaries may take the executor to (1 + this) x the analytic peak memory
WORKSPACE_FRACTION = 0.25
#: schedules the executor follows (names of ``costmodel.memory.schedule``)
SCHEDULES = ("sequential", "optimal")


class VerificationError(CostModelError):
    """An executed shape or Mult-Adds count differs from the analytical one."""


# ----------------------------------------------------------------------------- weights
def _layer_shapes(node) -> Dict[str, Tuple[int, ...]]:
    """Array name -> shape of one node's weights and buffers (the op declares them, PyTorch's
    layout; empty for ops without weights)."""
    return {**node.op.weights(node.in_shapes), **node.op.buffers(node.in_shapes)}


def weight_shapes(graph: Graph) -> Dict[str, Dict[str, Tuple[int, ...]]]:
    """Layer name -> array name -> shape, in PyTorch's layout, for every layer with weights."""
    return {n.name: d for n in graph.nodes for d in [_layer_shapes(n)] if d}


def _uniform(rng, shape, lo: float, hi: float) -> np.ndarray:
    a = rng.random(shape, dtype=np.float32)
    a *= np.float32(hi - lo)
    a += np.float32(lo)
    return a


def init_weights(graph: Graph, seed: int = 0) -> Dict[str, Dict[str, np.ndarray]]:
    """Deterministic float32 weights for every layer of ``graph``.

    Each layer draws from its own generator seeded by (seed, crc32(layer name)), so a layer's
    weights do not depend on the rest of the graph. The arrays are the ones each op declares
    (``Op.weights`` and ``Op.buffers``): weight matrices and kernels He-uniform
    U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)) (variance 2 / fan_in), biases U(-0.1, 0.1), other
    per-channel scales U(0.5, 1.5); normalization (BatchNorm) gamma and running variance
    U(0.5, 1.5), beta and running mean U(-0.2, 0.2). (Uniform draws
    are several times faster than normal ones: VGG-16's 138 M weights take a fraction of a second.)
    """
    require_graph(graph, "init_weights")
    weights = {}
    for n in graph.nodes:
        shapes = _layer_shapes(n)
        if not shapes:
            continue
        rng = np.random.default_rng([int(seed), zlib.crc32(n.name.encode())])
        d = {}
        for k, s in shapes.items():  # in the op's declared order: one stream of draws per layer
            if n.op.category == "norm":
                d[k] = _uniform(rng, s, 0.5, 1.5) if k in ("weight", "running_var") else _uniform(rng, s, -0.2, 0.2)
            elif len(s) >= 2:  # a weight matrix / kernel: He-uniform over its fan-in
                a = float(np.sqrt(6.0 / np.prod(s[1:])))
                d[k] = _uniform(rng, s, -a, a)
            elif k == "bias":
                d[k] = _uniform(rng, s, -0.1, 0.1)
            else:  # a per-channel scale
                d[k] = _uniform(rng, s, 0.5, 1.5)
        weights[n.name] = d
    return weights


def check_weights(graph: Graph, weights: Mapping) -> Dict[str, Dict[str, np.ndarray]]:
    """Validate a layer -> {array name -> array} mapping against the graph; return float32 copies.

    Raises ``GraphError`` (one line, naming the layer) on a missing or unknown layer or array,
    or a shape that differs from the PyTorch layout."""
    expected = weight_shapes(graph)
    unknown = [k for k in weights if k not in expected]
    if unknown:
        raise GraphError(f"weights given for layer {unknown[0]!r}, which is not a layer with weights in "
                         f"graph {graph.name!r}" + (f" ({len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    out = {}
    for layer, shapes in expected.items():
        if layer not in weights:
            raise GraphError(f"weights: layer {layer!r} is missing (expects {_fmt_keys(shapes)})")
        given = weights[layer]
        extra = sorted(set(given) - set(shapes))
        if extra:
            raise GraphError(f"weights: layer {layer!r} has unexpected array {extra[0]!r}; expects "
                             f"{_fmt_keys(shapes)}")
        d = {}
        for key, shape in shapes.items():
            if key not in given:
                raise GraphError(f"weights: layer {layer!r} lacks {key!r}; expects {_fmt_keys(shapes)}")
            a = np.asarray(given[key], dtype=np.float32)
            if a.shape != shape:
                raise GraphError(f"weights: layer {layer!r} {key} has shape {a.shape}, expected {shape} "
                                 f"(PyTorch layout)")
            d[key] = a
        out[layer] = d
    return out


def _fmt_keys(shapes) -> str:
    return ", ".join(f"{k} {v}" for k, v in shapes.items()) or "nothing"


def save_weights(path: str, weights: Mapping) -> None:
    """Write weights to an ``.npz`` file (arrays named ``layer/array``), atomically."""
    from .fileio import write_atomic
    if not isinstance(path, (str, os.PathLike)) or not isinstance(weights, Mapping):
        raise CostModelError(f"save_weights(path, weights) takes a file path and a mapping of layer -> arrays, got "
                             f"{type(path).__name__} and {type(weights).__name__}")
    if not all(isinstance(d, Mapping) for d in weights.values()):
        raise CostModelError("save_weights: each layer's weights must be a mapping of array name -> array")
    flat = {f"{layer}/{key}": np.asarray(a) for layer, d in weights.items() for key, a in d.items()}
    buf = io.BytesIO()
    np.savez(buf, **flat)
    write_atomic(path, buf.getvalue())


def load_weights(path: str) -> Dict[str, Dict[str, np.ndarray]]:
    """Read weights written by ``save_weights``."""
    from .fileio import read_bytes  # a regular file under the size limit (costmodel.limits), or one line
    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        raise CostModelError(f"cannot read weights {path!r}: no such file")
    data = read_bytes(path, "weights file")
    try:
        if data[:4] != b"PK\x03\x04":
            raise ValueError("it is not a zip archive; save weights with costmodel.save_weights")
        z = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive of layer/array entries")
        with z:
            flat = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CostModelError(f"cannot read weights {path!r}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CostModelError(f"cannot read weights {path!r}: not an .npz weights file ({e})") from None
    out: Dict[str, Dict[str, np.ndarray]] = {}
    for k, a in flat.items():
        layer, sep, key = k.rpartition("/")
        if not sep or not layer:
            raise CostModelError(f"cannot read weights {path!r}: array {k!r} is not named 'layer/array'")
        out.setdefault(layer, {})[key] = a
    return out

# ----------------------------------------------------------------------------- running
@dataclass(frozen=True)
class NodeCheck:
    """One node's verification: executed vs analytical output shapes (without batch) and the
    Mult-Adds the kernel performed (``counted``, whole batch) vs ``op.madds`` (per sample)."""

    name: str
    kind: str
    label: str
    expected: tuple[tuple[int, ...], ...]
    actual: tuple[tuple[int, ...], ...]
    madds: int
    counted: int
    batch: int = 1

    @property
    def shapes_equal(self) -> bool:
        return self.expected == self.actual

    @property
    def counts_madds(self) -> bool:
        """Whether this op multiplies at all (conv, linear): only these are Mult-Adds-checked."""
        return self.madds > 0 or self.counted > 0

    @property
    def madds_equal(self) -> bool:
        return self.counted == self.madds * self.batch

    def describe(self, op) -> str:
        """One line naming the node, both shapes (or counts) and the op's attributes."""
        attrs = ", ".join(f"{k}={v}" for k, v in op.attrs().items())
        if not self.shapes_equal:
            what = (f"executed shape {_fmt_shapes(self.actual)} != analytical {_fmt_shapes(self.expected)}")
        else:
            per = self.counted // self.batch if self.counted % self.batch == 0 else self.counted / self.batch
            what = f"counted {per} Mult-Adds per sample != analytical {self.madds}"
        return f"node {self.name!r} ({self.kind}: {attrs}): {what}"


def _fmt_shapes(shapes) -> str:
    return ", ".join(str(s) for s in shapes) if len(shapes) != 1 else str(shapes[0])


@dataclass
class Execution:
    """Result of ``run``: outputs in graph order, kept tensors, per-node checks (in execution
    order), and the node execution stopped at (a shape mismatch stops it: later analytical shapes
    are moot)."""

    outputs: tuple[np.ndarray, ...]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    checks: list[NodeCheck] = field(default_factory=list)
    stopped_at: str | None = None

    @property
    def mismatches(self) -> list[NodeCheck]:
        return [c for c in self.checks if not (c.shapes_equal and c.madds_equal)]

    @property
    def ok(self) -> bool:
        return self.stopped_at is None and not self.mismatches


def random_input(graph: Graph, batch: int = 1, seed: int = 0) -> np.ndarray:
    """A standard-normal float32 input of the graph's shape with ``batch`` samples."""
    rng = np.random.default_rng([int(seed), zlib.crc32(b"input")])
    return rng.standard_normal((int(batch),) + tuple(graph.input_shape), dtype=np.float32)


def memory_need(graph: Graph, batch: int = 1, keep: bool = False) -> dict:
    """``exec_checks.memory_need`` of a run of ``graph`` at ``batch``, estimated once per graph."""
    from . import exec_checks
    return _cached(graph, ("memory_need", batch, keep), lambda: exec_checks.memory_need(graph, batch, keep))


def check_memory(graph: Graph, batch: int = 1, keep: bool = False) -> dict:
    """``exec_checks.check_memory`` (refused in one line beyond the limit) on the cached estimate:
    callers that draw their own input batch check before drawing it, and the run does not estimate
    again."""
    from . import exec_checks
    return exec_checks.check_memory(graph, batch, keep, need=memory_need(graph, batch, keep))


def _input(graph: Graph, x, seed: int, keep: bool) -> np.ndarray:
    from .exec_checks import check_run  # seed, input kind, memory need: before allocating
    checked = check_run(graph, x, seed, keep, need_of=lambda batch: memory_need(graph, batch, keep))
    if x is None:
        return random_input(graph, 1, seed)
    try:
        x = np.asarray(checked, dtype=np.float32)
    except (TypeError, ValueError):
        raise GraphError(f"input must be a numeric array of shape (N,) + {tuple(graph.input_shape)}, "
                         f"got {type(x).__name__}") from None
    if x.shape[1:] != tuple(graph.input_shape) or x.ndim != len(graph.input_shape) + 1:
        raise GraphError(f"input has shape {x.shape}; graph {graph.name!r} expects (N,) + "
                         f"{tuple(graph.input_shape)}")
    if x.shape[0] < 1:
        raise GraphError("input batch is empty; give at least one sample")
    return x


#: id(graph) -> (weak reference to the graph, {key: value}): what the executor derives from a graph
#: (schedules, expected weight shapes); graphs are immutable, and an entry goes when its graph does
_GRAPH_CACHE: dict[int, tuple] = {}


def _cached(graph: Graph, key, make: Callable):
    entry = _GRAPH_CACHE.get(id(graph))
    if entry is None or entry[0]() is not graph:
        entry = _GRAPH_CACHE[id(graph)] = (weakref.ref(graph), {})
        weakref.finalize(graph, _GRAPH_CACHE.pop, id(graph), None)
    if key not in entry[1]:
        entry[1][key] = make()
    return entry[1][key]


def _schedule(graph: Graph, schedule: str, fuse: bool):
    """(nodes in execution order, node name -> fused follower nodes, node name -> (room for its
    kernel's temporaries in elements per sample, label, analytical output shapes, analytical
    Mult-Adds)), cached per graph. Units of the memory plan run in the schedule's order; nodes
    outside units (views) run as soon as their inputs exist."""
    if schedule not in SCHEDULES:
        raise CostModelError(f"unknown schedule {schedule!r}; the executor follows: {', '.join(SCHEDULES)}")
    return _cached(graph, ("schedule", schedule, fuse), lambda: _make_schedule(graph, schedule, fuse))


def _checked(graph: Graph, weights: Mapping) -> Mapping:
    """``weights`` itself when every layer has exactly the expected float32 arrays (the kernels only
    read them), else ``check_weights(graph, weights)`` (its copies, or its error)."""
    expected = _cached(graph, "weight_shapes", lambda: weight_shapes(graph))
    try:
        if len(weights) == len(expected) and all(
                len(weights[layer]) == len(shapes)
                and all(type(a := weights[layer][k]) is np.ndarray and a.dtype == np.float32 and a.shape == shape
                        for k, shape in shapes.items())
                for layer, shapes in expected.items()):
            return weights
    except (KeyError, TypeError):
        pass
    return check_weights(graph, weights)


def _fuse_concat_epilogues(graph: Graph, post: dict, by_name: dict) -> None:
    """A concat read only by a BatchNorm takes the BatchNorm (and the activations fused into it)
    as its own epilogue: each input is scaled and shifted on its way into the output, one pass
    instead of a copy and then a BatchNorm pass (MixNet's mixed depthwise convolutions end so)."""
    readers = graph.consumers()
    for n in graph.nodes:
        if n.op.kind != "concat" or n.name in post or n.outputs[0] in graph.outputs:
            continue
        names = readers.get(n.outputs[0], [])
        if len(names) == 1 and by_name[names[0]].op.kind == "batchnorm":
            bn = by_name[names[0]]
            post[n.name] = (bn,) + tuple(post.pop(bn.name, ()))


def _make_schedule(graph: Graph, schedule: str, fuse: bool):
    from .memory import evaluate, plan
    from .memory import schedule as memory_schedule
    p = plan(graph)
    s = evaluate(p, range(len(p.units)), "sequential") if schedule == "sequential" else memory_schedule(p, schedule)
    by_name = {n.name: n for n in graph.nodes}
    post = {u.nodes[0]: tuple(by_name[m] for m in u.nodes[1:]) for u in p.units if len(u.nodes) > 1} if fuse else {}
    if fuse:
        _fuse_concat_epilogues(graph, post, by_name)
    # room for kernels' temporaries at each unit (elements per sample): up to (1 + WORKSPACE_FRACTION) x the
    # peak, less the tensors live at that step and the input when the model has freed it (the caller holds it)
    cap = (1 + WORKSPACE_FRACTION) * s.peak
    held = p.buffers[0].elements
    room = {n.name: 0 for n in graph.nodes}
    for step, u in enumerate(s.order):
        free = cap - s.live[step] - (0 if 0 in s.live_sets[step] else held)
        room.update(dict.fromkeys(p.units[u].nodes, int(free)))
    # per node: room, label, analytical output shapes and Mult-Adds (ops are immutable)
    static = {n.name: (room[n.name], n.op.label(n.in_shapes), tuple(n.out_shapes),
                       n.op.madds(n.in_shapes, n.out_shapes) + n.op.attn_madds(n.in_shapes, n.out_shapes))
              for n in graph.nodes}
    if schedule == "sequential":
        return list(graph.nodes), post, static
    views = [n for n in graph.nodes if p.node_unit.get(n.name) is None]
    ready, order = {INPUT}, []

    def place(n):
        order.append(n)
        ready.update(n.outputs)

    def flush():
        while True:
            go = [n for n in views if all(r in ready for r in n.inputs)]
            if not go:
                return
            for n in go:
                views.remove(n)
                place(n)

    flush()
    for u in s.order:
        for name in p.units[u].nodes:
            place(by_name[name])
        flush()
    return order, post, static


def run(graph: Graph, x: np.ndarray | None = None, *, weights: Mapping | None = None, seed: int = 0,
        keep: bool = False, verify: bool = True, raise_on_mismatch: bool = True,
        progress: Callable[[int], None] | None = None, calibrate: bool = False,
        schedule: str = "sequential", threads: int | None = None) -> Execution:
    """Execute ``graph`` node by node (see ``execute``); return an ``Execution``.

    With ``verify``, each node's executed shapes and Mult-Adds count are compared with the
    analytical ones; a mismatch raises ``VerificationError`` (``raise_on_mismatch``) or is recorded
    (a shape mismatch also stops the run). ``progress(i)`` is called after each node. ``keep``
    keeps every tensor (by node name, ``node:i`` for multi-output nodes, and ``input``) and runs
    every node on its own (no fusion). ``calibrate`` replaces every BatchNorm's running statistics
    (in ``weights``, which must then be a dict this call may modify) by those of its input on this
    run; see ``calibrate_batchnorm``. ``schedule``: the node order (module docstring); ``threads``:
    the most threads the run uses, BLAS's included (default ``costmodel.kernels.default_threads()``):
    a batch of several samples is split into ``threads`` parts run side by side (``_split_batch``),
    a single sample gives them to BLAS's matrix products."""
    require_graph(graph, "execute")
    x = _input(graph, x, seed, keep)
    batch = x.shape[0]
    if weights is None:
        weights = init_weights(graph, seed)
    elif not calibrate:
        weights = _checked(graph, weights)
    order, post, static = _schedule(graph, schedule, fuse=not (keep or calibrate))
    threads = default_threads() if threads is None else max(1, int(threads))
    prepare_kernels(graph)
    if threads > 1 and batch > 1 and not (keep or calibrate) and progress is None:
        return _split_batch(graph, x, weights, order, post, static, threads, verify, raise_on_mismatch)
    # one sample: BLAS's threads in the matrix products, the kernels' tiles on one thread (measured on
    # the zoo at 224, 2 threads: the tile pool's hand-offs cost more than they gain, BLAS threads gain
    # 5-35%; docs/benchmarks_executor.md)
    with blas_threads(threads):  # BLAS may use the run's threads, no more
        return _loop(graph, x, weights, order, post, static, keep, verify, raise_on_mismatch, progress, calibrate)


def _split_batch(graph, x, weights, order, post, static, threads, verify, raise_on_mismatch) -> Execution:
    """A batch of several samples on several threads: the samples split into ``threads`` parts run
    through the graph side by side, each on one thread with BLAS on one thread (NumPy releases the
    GIL in its array work; tiles of one sample on several threads gain less than whole samples do),
    then joined: outputs concatenated, each node's counted Mult-Adds and batch summed."""
    parts = np.array_split(x, min(threads, x.shape[0]))
    from concurrent.futures import ThreadPoolExecutor
    with blas_threads(1), ThreadPoolExecutor(len(parts), thread_name_prefix="costmodel-batch") as pool:
        done = list(pool.map(lambda part: _loop(graph, part, weights, order, post, static, False, verify,
                                                raise_on_mismatch, None, False), parts))
    ex = Execution(outputs=tuple(np.concatenate(outs) for outs in zip(*(d.outputs for d in done)))
                   if all(d.outputs for d in done) else ())
    ex.stopped_at = next((d.stopped_at for d in done if d.stopped_at), None)
    n = min(len(d.checks) for d in done)
    ex.checks = [dataclasses.replace(cs[0], counted=sum(c.counted for c in cs), batch=sum(c.batch for c in cs))
                 for cs in zip(*(d.checks[:n] for d in done))]
    return ex


def _loop(graph, x, weights, order, post, static, keep, verify, raise_on_mismatch, progress,
          calibrate) -> Execution:
    """The nodes of ``order`` run one after the other on ``x`` (see ``run``)."""
    batch = x.shape[0]
    last_use: dict[str, int] = {}
    for i, n in enumerate(order):
        for r in n.inputs:
            last_use[r] = i
    for r in graph.outputs:
        last_use[r] = len(order)
    live: dict[str, np.ndarray] = {INPUT: x}
    fused: set = set()
    ex = Execution(outputs=())
    if keep:
        ex.tensors[INPUT] = x
    for i, node in enumerate(order):
        ins = [live[r] for r in node.inputs]
        if node.name in fused:  # applied by its producer's kernel: the array passes on
            outs = (ins[0],)
            counted = 0
        else:
            outs, counted, done = _run_node(node, ins, live, x, weights, i, last_use, keep, calibrate,
                                            post.get(node.name, ()), static[node.name][0] * batch)
            fused.update(n.name for n in done)
        del ins
        for r in set(node.inputs):
            if last_use[r] == i:
                del live[r]
        for r, a in zip(node.outputs, outs):
            live[r] = a
            if keep:
                ex.tensors[r] = a
        if verify:
            _, label, expected, madds = static[node.name]
            chk = NodeCheck(node.name, node.op.kind, label, expected, tuple(a.shape[1:] for a in outs), madds,
                            counted, batch)
            ex.checks.append(chk)
            if not (chk.shapes_equal and chk.madds_equal):
                if raise_on_mismatch:
                    raise VerificationError(chk.describe(node.op))
                if not chk.shapes_equal:
                    ex.stopped_at = node.name
                    return ex
        del outs
        if progress is not None:
            progress(i + 1)
    ex.outputs = tuple(live[r] for r in graph.outputs)
    return ex


def _run_node(node, ins, live, x, weights, i, last_use, keep, calibrate, followers: Sequence, workspace):
    """(outputs, Mult-Adds counted, the follower nodes the kernel applied) of one node."""
    kernel = KERNELS.get(node.op.kind)
    if kernel is None:
        raise GraphError(f"node {node.name!r} ({node.op.label(node.in_shapes)}): the executor has no kernel "
                         f"for op kind {node.op.kind!r}; implemented: {', '.join(sorted(KERNELS))}")
    first = node.inputs[0]
    inplace = (not keep and node.op.kind in INPLACE and first != INPUT and last_use[first] == i
               and node.inputs.count(first) == 1
               and not np.may_share_memory(ins[0], x)
               and not any(np.may_share_memory(ins[0], a) for r, a in live.items() if r != first))
    post = [(n.op, weights.get(n.name)) for n in followers]
    ctx = Ctx(weights.get(node.name), inplace, calibrate, post, workspace)
    try:
        outs = kernel(node.op, ins, ctx)
    except CostModelError as e:
        raise GraphError(f"node {node.name!r} ({node.op.kind}): {e}") from None
    return outs, ctx.madds, (followers if ctx.fused else ())


def calibrate_batchnorm(graph: Graph, weights: Mapping, x: np.ndarray | None = None, seed: int = 0
                        ) -> dict[str, dict[str, np.ndarray]]:
    """Weights whose BatchNorm running statistics come from each BatchNorm's input when the graph
    runs on ``x`` (default: ``random_input(graph, 2, seed)``), layer by layer in order: running
    mean = the per-channel mean, running variance = the per-channel variance + 0.1 x its mean
    over channels + 1e-3 (a nearly constant channel is not blown up). Every BatchNorm then
    really normalizes, so random networks keep activations of order one however deep they are,
    which keeps float32 comparisons well conditioned. The given mapping is not modified."""
    w = check_weights(graph, weights)
    w = {layer: dict(d) for layer, d in w.items()}
    if any(n.op.kind == "batchnorm" for n in graph.nodes):
        run(graph, random_input(graph, 2, seed) if x is None else x, weights=w, verify=False, calibrate=True)
    return w


def execute(graph: Graph, x: np.ndarray | None = None, *, weights: Mapping | None = None, seed: int = 0,
            return_intermediates: bool = False, verify: bool = True, schedule: str = "sequential",
            threads: int | None = None):
    """Run ``graph`` in NumPy float32 on ``x`` of shape (N,) + graph.input_shape (a random batch
    of one when None) with ``weights`` (layer -> arrays, PyTorch layout; ``init_weights(graph,
    seed)`` when None).

    Returns the output array (a tuple when the graph has several outputs), and with
    ``return_intermediates`` also a dict of every tensor by node name (``node:i`` for split
    outputs). With ``verify`` (default) a node whose executed shape or Mult-Adds count differs
    from the analytical one raises ``VerificationError`` naming the node, both values and the op's
    attributes. ``schedule`` and ``threads``: see ``run``."""
    ex = run(graph, x, weights=weights, seed=seed, keep=return_intermediates, verify=verify, schedule=schedule,
             threads=threads)
    out = ex.outputs[0] if len(ex.outputs) == 1 else ex.outputs
    return (out, ex.tensors) if return_intermediates else out


__all__ = ["KERNELS", "SCHEDULES", "Execution", "NodeCheck", "VerificationError", "calibrate_batchnorm",
           "check_weights", "execute", "init_weights", "load_weights", "random_input", "run", "save_weights",
           "weight_shapes"]
