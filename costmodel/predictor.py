"""The calibrated latency predictor: a sum over executed units of a linear cost per op class.

For every unit u of ``memory.plan(graph)`` (the deployment view: a conv with its folded BN and
fused activation is one unit), with FLOPs f_u, bytes moved m_u = MAC_u x 4 (fp32) and class k(u):

    t(graph) = t_0 + sum_u ( a_k f_u + b_k m_u + c_k )            (all coefficients >= 0)

t_0 is the per-inference overhead (the runtime's call), c_k the per-op overhead of class k (kernel
launch, layout bookkeeping), a_k the time per FLOP and b_k the time per byte of the class's
kernel. Classes (``op_class``): ``conv`` (dense k x k), ``conv1x1``, ``dwconv`` (depthwise),
``gconv`` (grouped, not depthwise), ``linear``, ``pool``, ``eltwise`` (add, multiply), ``act``
(stand-alone activation or BatchNorm), ``copy`` (concat, split, shuffle, upsample), and, for
runtimes with a blocked layout (``channel_block`` > 1), ``layout``: the conversions between NCHW
and the blocked layout that such a runtime inserts where blocked and plain ops meet
(``layout_features``).

Why this form (docs/latency.md has the evidence): it is linear in the coefficients, so a whole
network's time is the same linear function of its per-class totals of (f, m, 1), and per-op
micro-benchmarks and whole networks are rows of one non-negative least-squares problem
(``scipy.optimize.nnls``), weighted by 1 / t so that the fit minimizes *relative* error (what the
+-10% metric scores). A roofline's max(f / P, m / B) is not linear, so it cannot be fitted from
network totals; per class, a CPU kernel's time is close to a_k f + b_k m (compute and traffic
overlap only partly at batch 1), and the per-op constants c_k carry what FLOPs and MAC miss:
the small layers of small networks are less efficient per FLOP (MobileNetV2's published Pixel-1
times: 0.25 ms per MMAdd at 1.0-224, 0.41 at 0.35-96).

``fit`` takes a *column spec* so that small published tables can tie coefficients (one a for
all dense convs, one b for every class, ...): a list of (group, feature) pairs, each group a
tuple of classes, each feature one of ``flops``, ``bytes``, ``ops``, or ``("net", "const")`` for
t_0. ``expand`` writes the fitted values back per class, so every device file has the same form.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import CostModelError

CLASSES = ("conv", "conv1x1", "dwconv", "gconv", "linear", "pool", "eltwise", "act", "copy", "layout")
FEATURES = ("flops", "bytes", "ops")
#: device-file names of the three per-class coefficients, in FEATURES order
COEF_KEYS = ("s_per_flop", "s_per_byte", "s_per_op")
BITS = 32

#: every class fitted separately, plus t_0 (the form ``calibrate`` fits on this machine)
FULL_SPEC: List[Tuple] = [((k,), f) for k in CLASSES for f in FEATURES] + [("net", "const")]


def op_class(unit, graph) -> str:
    """The class of an executed unit (see the module doc)."""
    kind = unit.kind
    if kind == "conv2d":
        node = graph.node(unit.nodes[0])
        op, c_in = node.op, node.in_shapes[0][0]
        if op.groups > 1:
            return "dwconv" if op.groups == c_in else "gconv"
        return "conv1x1" if op.kernel == (1, 1) else "conv"
    if kind == "linear":
        return "linear"
    cat = unit.category
    if cat == "pool":
        return "pool"
    if cat == "eltwise":
        return "eltwise"
    if cat in ("act", "norm"):
        return "act"
    return "copy"


def padded(c: int, block: int) -> int:
    """Channels as a blocked-layout kernel computes them: rounded up to a multiple of ``block``
    (inputs with fewer channels than one block, such as an RGB stem, are read as they are)."""
    if block <= 1 or c < block:
        return c
    return -(-c // block) * block


def conv_padding_factor(node, block: int) -> float:
    """FLOPs a conv performs with its channels padded to ``block``, over its exact FLOPs."""
    if block <= 1:
        return 1.0
    op, c_in = node.op, node.in_shapes[0][0]
    c_out, g = op.out_channels, op.groups
    if g == c_in and g > 1:  # depthwise: one filter per channel
        return padded(c_in, block) / c_in
    per_in, per_out = c_in // g, c_out // g
    return (padded(per_in, block) * padded(per_out, block)) / (per_in * per_out)


def unit_features(graph, bits: int = BITS, block: int = 1,
                  unfused: Sequence[str] = ()) -> List[Tuple[str, float, int, str]]:
    """(class, flops, bytes, first node) of every executed unit, deployment view; with a channel
    ``block`` > 1, conv FLOPs are those of the channel counts padded to the block (``padded``):
    blocked-layout runtimes (onnxruntime's NCHWc: 16 channels with AVX-512, 8 with AVX2) compute
    56 channels as 64. Activations in ``unfused`` (functions the runtime cannot fuse into the op
    before them: onnxruntime runs swish as a separate QuickGelu kernel) become their own ``act``
    unit, reading and writing their tensor."""
    from .memory import plan
    from .ops import numel
    p = plan(graph)
    out = []
    for u in p.units:
        k = op_class(u, graph)
        f = u.flops
        extra = []
        for name in u.nodes[1:] if unfused else ():
            n = graph.node(name)
            if n.op.kind == "activation" and n.op.fn in unfused:
                fa = n.op.flops(n.in_shapes, n.out_shapes)
                f -= fa
                extra.append(("act", fa, 2 * numel(n.out_shapes[0]) * bits // 8, name))
        if block > 1 and u.kind == "conv2d":
            f = f * conv_padding_factor(graph.node(u.nodes[0]), block)
        out.append((k, f, u.mac * bits // 8, u.nodes[0]))
        out += extra
    return out


def _blocked(graph, u, block: int, blocked_in: bool) -> bool:
    """Whether a blocked-layout runtime (onnxruntime's NCHWc) runs unit ``u`` in the blocked layout:
    dense and depthwise convs always (channels padded), grouped convs when each group's channels
    are whole blocks, pooling, adds and stand-alone activations when their input is blocked;
    broadcast multiplies (SE gates), concat, split, shuffle, upsample and linear layers never."""
    if u.kind == "conv2d":
        node = graph.node(u.nodes[0])
        c_in, g = node.in_shapes[0][0], node.op.groups
        return g == 1 or g == c_in or ((c_in // g) % block == 0 and (node.op.out_channels // g) % block == 0)
    if u.category in ("pool", "act") or u.kind == "add":
        return blocked_in
    return False


def layout_features(graph, bits: int = BITS, block: int = 1) -> List[Tuple[str, float, int, str]]:
    """Layout conversions of a blocked-layout runtime as extra units of class ``layout``: one per
    tensor written in the blocked layout and read by an op that is not (or returned), and one per
    tensor read in the blocked layout but written in plain NCHW (the graph input included), each
    moving the tensor's bytes in and out. Each is named after the layer it is counted with: the
    first node of the unit that writes the tensor (the graph input's: of the first unit reading it).
    None when ``block`` <= 1."""
    if block <= 1:
        return []
    from .memory import plan
    p = plan(graph)
    readers: Dict[int, List[int]] = {}
    for i, u in enumerate(p.units):
        for b in u.reads:
            readers.setdefault(b, []).append(i)
    blocked_buf = {0: False}
    blocked_unit = []
    for u in p.units:
        ins = [blocked_buf.get(b, False) for b in u.reads]
        bl = _blocked(graph, u, block, bool(ins) and all(ins))
        blocked_unit.append(bl)
        for b in u.writes:
            blocked_buf[b] = bl
    out = []
    for b, buf in enumerate(p.buffers):
        rs = readers.get(b, [])
        nbytes = 2 * buf.elements * bits // 8  # read in one layout, written in the other
        unit = buf.producer if buf.producer >= 0 else (rs[0] if rs else None)
        layer = buf.name if unit is None else p.units[unit].nodes[0]
        if blocked_buf.get(b, False) and (any(not blocked_unit[i] for i in rs) or b in p.outputs):
            out.append(("layout", 0, nbytes, layer))
        if not blocked_buf.get(b, False) and any(blocked_unit[i] for i in rs):
            out.append(("layout", 0, nbytes, layer))
    return out


def class_totals(graph, bits: int = BITS, block: int = 1, unfused: Sequence[str] = ()) -> Dict[str, List[float]]:
    """Class -> [sum of flops, sum of bytes, number of units]: all a network contributes to the fit
    (with a channel ``block`` > 1, the ``layout`` conversions of ``layout_features`` too)."""
    out = {k: [0, 0, 0] for k in CLASSES}
    for k, f, m, _ in unit_features(graph, bits, block, unfused) + layout_features(graph, bits, block):
        t = out[k]
        t[0] += f
        t[1] += m
        t[2] += 1
    return out


def design_row(totals: Dict[str, Sequence[float]], spec: Sequence[Tuple]) -> np.ndarray:
    """One row of the design matrix for a column ``spec`` (see the module doc)."""
    row = np.zeros(len(spec))
    for j, (group, feat) in enumerate(spec):
        if group == "net":
            row[j] = 1.0
            continue
        i = FEATURES.index(feat)
        row[j] = sum(float(totals[k][i]) for k in group)
    return row


def fit(rows: Sequence[Dict[str, Sequence[float]]], times: Sequence[float], spec: Sequence[Tuple] = None,
        weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Non-negative least squares of ``times`` on the rows' class totals, each row weighted by
    1 / time (relative error); ``weights`` multiplies those. Columns are scaled to unit norm
    before solving (FLOPs are ~1e9, op counts ~1e2) and the solution scaled back."""
    from scipy.optimize import nnls
    spec = list(spec or FULL_SPEC)
    X = np.array([design_row(r, spec) for r in rows], dtype=float)
    y = np.asarray(times, dtype=float)
    if len(y) == 0:
        raise CostModelError("nothing to fit: no measured workloads")
    w = 1.0 / y * (np.asarray(weights, float) if weights is not None else 1.0)
    Xw, yw = X * w[:, None], y * w
    norms = np.linalg.norm(Xw, axis=0)
    norms[norms == 0] = 1.0
    coef, _ = nnls(Xw / norms, yw, maxiter=50 * X.shape[1])
    return coef / norms


def expand(coef: Sequence[float], spec: Sequence[Tuple]) -> Tuple[Dict[str, Dict[str, float]], float]:
    """Per-class coefficients (``COEF_KEYS``) and t_0 from a fitted column vector."""
    per = {k: dict.fromkeys(COEF_KEYS, 0.0) for k in CLASSES}
    t0 = 0.0
    for c, (group, feat) in zip(coef, spec):
        if group == "net":
            t0 += float(c)
            continue
        for k in group:
            per[k][COEF_KEYS[FEATURES.index(feat)]] += float(c)
    return per, t0


def predict_totals(totals: Dict[str, Sequence[float]], coefficients: Dict[str, Dict[str, float]],
                   t0: float) -> float:
    """Seconds for a network given its class totals."""
    t = t0
    for k in CLASSES:
        c = coefficients[k]
        f, m, n = totals[k]
        t += c["s_per_flop"] * f + c["s_per_byte"] * m + c["s_per_op"] * n
    return t


def unit_time(coefficients: Dict[str, Dict[str, float]], cls: str, flops: float, nbytes: float) -> float:
    c = coefficients[cls]
    return c["s_per_flop"] * flops + c["s_per_byte"] * nbytes + c["s_per_op"]


# ----------------------------------------------------------------------------- accuracy metrics
def within(pred: Sequence[float], true: Sequence[float], tol: float = 0.10) -> float:
    """Share of configurations with |pred - true| / true <= tol (nn-Meter's "+-10% accuracy")."""
    p, t = np.asarray(pred, float), np.asarray(true, float)
    return float(np.mean(np.abs(p - t) / t <= tol + 1e-12)) if len(t) else math.nan


def mape(pred: Sequence[float], true: Sequence[float]) -> float:
    """Mean absolute percentage error, as a fraction (0.05 = 5%)."""
    p, t = np.asarray(pred, float), np.asarray(true, float)
    return float(np.mean(np.abs(p - t) / t)) if len(t) else math.nan


def _ranks(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, ties get the mean of their ranks."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson correlation of the (tie-averaged) ranks."""
    if len(a) < 2:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    d = math.sqrt(float((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / d) if d else math.nan


def scores(pred: Sequence[float], true: Sequence[float]) -> Dict[str, float]:
    return {"within_10pct": within(pred, true), "mape": mape(pred, true), "spearman": spearman(pred, true)}


def proportional(xs_train: Sequence[float], t_train: Sequence[float]) -> float:
    """k minimizing sum((k x / t - 1)^2): the relative-error fit of t = k x (a baseline)."""
    r = np.asarray(xs_train, float) / np.asarray(t_train, float)
    return float(r.sum() / (r ** 2).sum()) if (r ** 2).sum() else 0.0


__all__ = ["CLASSES", "FEATURES", "COEF_KEYS", "FULL_SPEC", "op_class", "unit_features", "class_totals", "fit",
           "expand", "predict_totals", "unit_time", "within", "mape", "spearman", "scores", "proportional"]
