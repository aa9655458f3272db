"""Measured latency on this machine: run a graph with onnxruntime (through ``onnx_export``) or
PyTorch (through ``torch_bridge``) and report the distribution of wall-clock times per forward pass.

Protocol (``measure``):

1. Build the runtime session once (onnxruntime: graph optimizations on, ``intra_op_num_threads =
   threads``, ``inter_op_num_threads = 1``, sequential execution, no thread spinning; torch:
   ``torch.set_num_threads(threads)``, ``inference_mode``, eval mode). The input is a fixed random
   float32 tensor of shape (batch, C, H, W).
2. Warm-up: ``warmup`` untimed runs (default 10; allocations, caches and onnxruntime's kernel
   selection settle).
3. Timed runs, one ``time.perf_counter`` pair around each forward pass (Python call included:
   the latency a user of the runtime's Python API sees). With ``runs`` given, exactly that many.
   Otherwise the **stop rule**: stop after run n when n >= ``MIN_RUNS`` (20) and the 95%
   confidence interval of the median, from order statistics (ranks n/2 -+ 0.98 sqrt(n), the
   binomial distribution-free interval), has a half-width below ``REL_CI`` (1%) of the median; or
   at ``MAX_RUNS`` (2000) runs or ``max_time`` seconds (default 30), whichever comes first
   (``stop`` says which).
4. Reported: median, p10, p90 (linear interpolation), the CI half-width relative to the median
   (``ci_rel``), the spread (p90 - p10) / median, the 1-minute load average before and after (a
   busy machine is visible in the numbers), the backend and its version, threads, the CPU model.
   With one thread the runtime computes on the calling thread, and ``cpu_median_s`` is the
   median of that thread's CPU time per run (``time.thread_time``): what the run costs when
   other processes take turns on the core (they stretch the wall time, not the CPU time; cache
   and memory-bandwidth interference remain). ``calibrate`` and ``guidelines --measure`` fit it.
5. Per layer (``profile=True``): a separate profiled session (onnxruntime's profiler; for torch,
   a perf_counter pair around each node's module call) runs ``PROFILE_RUNS`` times;
   each kernel's time is attributed to the costmodel node it came from (onnxruntime names a fused
   kernel after the last node it absorbed, e.g. ``b1.expand.relu6_nchwc``), summed per executed
   unit of ``memory.plan`` (conv with its folded BN and fused activation), and the median over the
   profiled runs is shown on the unit's first row, beside its params, Mult-Adds and MAC. Kernels
   the runtime adds (layout reorders) are rows named ``(runtime) <op>``. Profiling has its own
   overhead: the per-layer sum is shown beside the end-to-end median, never used for it.

``pip install '.[measure]'`` provides onnxruntime and onnx; the torch backend needs PyTorch.
"""
from __future__ import annotations

import math
import os
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from .errors import CostModelError
from .graph import Graph, require_graph

BACKENDS = ("onnxruntime", "torch")
MIN_RUNS = 20
MAX_RUNS = 2000
REL_CI = 0.01
MAX_TIME = 30.0
WARMUP = 10
PROFILE_RUNS = 10


class MeasureError(CostModelError):
    """A measurement that cannot be made (missing backend, bad settings)."""


def need_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise MeasureError("this needs onnxruntime and onnx: pip install '.[measure]'") from None
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise MeasureError("this needs onnx: pip install '.[measure]'") from None
    return onnxruntime


def need_torch():
    try:
        import torch
    except ImportError:
        raise MeasureError("the torch backend needs PyTorch: pip install torch (CPU wheel)") from None
    return torch


def cpu_model() -> str:
    """'AMD EPYC (2 logical CPUs)' from /proc/cpuinfo, else platform.processor()."""
    import platform
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} ({os.cpu_count()} logical CPUs)"


def load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


# ----------------------------------------------------------------------------- statistics
def quantile(sorted_xs: List[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    return float(np.quantile(np.asarray(sorted_xs), q))


def median_ci(sorted_xs: List[float]):
    """Distribution-free 95% interval of the median: order statistics at ranks
    n/2 -+ 0.98 sqrt(n) (normal approximation of Binomial(n, 1/2))."""
    n = len(sorted_xs)
    if n < 3:
        return sorted_xs[0], sorted_xs[-1]
    lo = max(0, int(math.floor(n / 2 - 0.98 * math.sqrt(n))))
    hi = min(n - 1, int(math.ceil(n / 2 + 0.98 * math.sqrt(n))))
    return sorted_xs[lo], sorted_xs[hi]


def ci_rel(times: List[float]) -> float:
    s = sorted(times)
    lo, hi = median_ci(s)
    med = quantile(s, 0.5)
    return (hi - lo) / 2 / med if med > 0 else math.inf


# ----------------------------------------------------------------------------- result
@dataclass
class Measurement:
    network: str
    alpha: Optional[float]
    resolution: int
    batch: int
    backend: str
    backend_version: str
    threads: int
    cpu: str
    runs: int
    median_s: float
    p10_s: float
    p90_s: float
    min_s: float = 0.0             #: fastest run: the least disturbed by other processes
    cpu_median_s: Optional[float] = None  #: median CPU time of the calling thread per run (threads == 1)
    warmup: int = 0
    ci_rel: float = 0.0            #: 95% CI half-width of the median / median
    spread_rel: float = 0.0        #: (p90 - p10) / median
    stop: str = ""                 #: why the timed runs stopped
    load_before: Optional[float] = None
    load_after: Optional[float] = None
    times_s: List[float] = field(default_factory=list)
    layers: List[dict] = field(default_factory=list)   #: name, op, params, madds, mac, measured_s
    layers_total_s: Optional[float] = None              #: sum of the profiled per-layer medians
    stop_rule: str = ""

    def to_dict(self, with_times: bool = False) -> dict:
        d = asdict(self)
        if not with_times:
            d.pop("times_s")
        return d


# ----------------------------------------------------------------------------- backends
class _Ort:
    name = "onnxruntime"

    def __init__(self, graph: Graph, threads: int, batch: int, weights=None, model_bytes: Optional[bytes] = None):
        self.ort = need_onnxruntime()
        from .onnx_export import onnx_bytes
        self.graph, self.threads = graph, threads
        self.model = model_bytes if model_bytes is not None else onnx_bytes(graph, weights=weights, batch=batch)
        self.session = self._session(profile=False)
        self.feed = {self.session.get_inputs()[0].name: _input(graph, batch)}

    @property
    def version(self) -> str:
        return self.ort.__version__

    def _session(self, profile: bool, prefix: str = ""):
        so = self.ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        if profile:
            so.enable_profiling = True
            so.profile_file_prefix = prefix
        try:
            return self.ort.InferenceSession(self.model, so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            raise MeasureError(f"onnxruntime cannot load the model: {' '.join(str(e).split())[:300]}") from None

    def run(self):
        self.session.run(None, self.feed)

    def profile(self, runs: int) -> List[Dict[str, float]]:
        """Per run: kernel name -> seconds (onnxruntime's profiler events)."""
        import json
        import tempfile
        with tempfile.TemporaryDirectory(prefix="costmodel-prof-") as d:
            s = self._session(profile=True, prefix=os.path.join(d, "ort"))
            feed = {s.get_inputs()[0].name: next(iter(self.feed.values()))}
            for _ in range(3):
                s.run(None, feed)
            n_warm = 3
            for _ in range(runs):
                s.run(None, feed)
            path = s.end_profiling()
            with open(path, encoding="utf-8") as f:
                events = json.load(f)
        # model_run events close a run: kernels precede their run's event
        runs_kernels: List[Dict[str, float]] = []
        cur: Dict = {}
        for e in events:
            if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time"):
                key = (e["name"][: -len("_kernel_time")], e.get("args", {}).get("op_name", ""))
                cur[key] = cur.get(key, 0.0) + e["dur"] * 1e-6
            elif e.get("cat") == "Session" and e.get("name") == "model_run":
                runs_kernels.append(cur)
                cur = {}
        return runs_kernels[n_warm:]


class _Torch:
    name = "torch"

    def __init__(self, graph: Graph, threads: int, batch: int, weights=None):
        self.torch = need_torch()
        from .torch_bridge import to_torch
        self.graph = graph
        self.prev_threads = self.torch.get_num_threads()
        self.torch.set_num_threads(threads)
        self.module = to_torch(graph, weights)
        self.x = self.torch.from_numpy(_input(graph, batch))

    @property
    def version(self) -> str:
        return self.torch.__version__

    def run(self):
        with self.torch.inference_mode():
            self.module(self.x)

    def profile(self, runs: int) -> List[Dict[str, float]]:
        """Per run: node -> seconds, a perf_counter pair around each node's module call (torch on
        CPU is synchronous, so this is the node's time; torch.profiler's events agree but its
        Kineto backend prints to the terminal)."""
        from .graph import INPUT
        m, g, clock = self.module, self.graph, time.perf_counter
        out = []
        with self.torch.inference_mode():
            for i in range(runs + 2):
                env, d = {INPUT: self.x}, {}
                for n, layer in zip(g.nodes, m.layers):
                    t0 = clock()
                    outs = layer(*(env[r] for r in n.inputs))
                    d[(n.name, "")] = clock() - t0
                    if isinstance(outs, self.torch.Tensor):
                        outs = (outs,)
                    env.update(zip(n.outputs, outs))
                if i >= 2:
                    out.append(d)
        return out

    def close(self):
        self.torch.set_num_threads(self.prev_threads)


def _input(graph: Graph, batch: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch,) + tuple(graph.input_shape), dtype=np.float32)


# ----------------------------------------------------------------------------- per-layer attribution
_SUFFIX = re.compile(r"(_nchwc|_token_\d+|_fused\w*|/.*)+$")


def attribute(graph: Graph, runs: List[Dict[str, float]], bits: int = 32) -> (List[dict], float):
    """Analytical rows of ``graph`` with the profiled kernel times (median over runs) on each
    executed unit's first row; runtime-added kernels as extra ``(runtime) <op>`` rows."""
    from .analysis import analyze
    from .memory import plan
    rep = analyze(graph, bits=bits)
    p = plan(graph)
    unit_head = {}
    for u in p.units:
        for name in u.nodes:
            unit_head[name] = u.nodes[0]
    names = {n.name for n in graph.nodes}

    def owner(kernel: str):
        k = kernel
        for _ in range(4):
            if k in names:
                return unit_head.get(k, k)
            k2 = _SUFFIX.sub("", k)
            if k2 == k:
                break
            k = k2
        return None

    per_row: Dict[str, List[float]] = {}
    extra: Dict[str, List[float]] = {}
    for run in runs:
        acc: Dict[str, float] = {}
        ext: Dict[str, float] = {}
        for (kernel, op_name), t in run.items():
            o = owner(kernel)
            if o is None:
                key = f"(runtime) {op_name or kernel}"
                ext[key] = ext.get(key, 0.0) + t
            else:
                acc[o] = acc.get(o, 0.0) + t
        for k, v in acc.items():
            per_row.setdefault(k, []).append(v)
        for k, v in ext.items():
            extra.setdefault(k, []).append(v)
    n = max(1, len(runs))

    def med(vs):  # a kernel absent from some runs counts 0 there
        return float(np.median(list(vs) + [0.0] * (n - len(vs))))

    rows = []
    for r in rep.rows:
        rows.append({"name": r["name"], "op": r["op"], "params": r["params"], "madds": r["madds"],
                     "mac": r.get("mac", 0), "measured_s": med(per_row[r["name"]]) if r["name"] in per_row else 0.0})
    for k, vs in extra.items():
        rows.append({"name": k, "op": k.split(" ", 1)[1], "params": 0, "madds": 0, "mac": 0, "measured_s": med(vs)})
    return rows, float(sum(r["measured_s"] for r in rows))


# ----------------------------------------------------------------------------- main
#: the most intra-op threads a measurement may ask for
MAX_THREADS = 1024


#: what ``check_settings`` calls each setting by default: ``measure``'s parameters
PARAMETERS = {"threads": "threads", "runs": "runs", "warmup": "warmup", "batch": "batch", "max_time": "max_time"}
#: the same settings as the command line names them (``check_settings(..., names=CLI_FLAGS)``)
CLI_FLAGS = {"threads": "--threads", "runs": "--runs", "warmup": "--warmup", "batch": "--batch",
             "max_time": "--max-time"}


def _check_int(v, what, lo=1):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise MeasureError(f"{what} must be an integer >= {lo}, got {v!r}")
    return v


def check_settings(threads=1, runs: Optional[int] = None, warmup=WARMUP, batch=1, max_time=MAX_TIME,
                   names: Optional[Dict[str, str]] = None) -> None:
    """The settings of ``measure`` (threads, runs, warmup, batch, max_time), checked in one line each
    (``MeasureError``) that calls a setting by ``names`` (default ``PARAMETERS``; the commands pass
    ``CLI_FLAGS``, and call it before any work). ``runs`` may be None (the stop rule)."""
    n = {**PARAMETERS, **(names or {})}
    if threads is None:
        raise MeasureError(f"{n['threads']} must be an integer >= 1, got None")
    _check_int(threads, n["threads"])
    if threads > MAX_THREADS:  # a runtime takes a C int, and more threads than this measure nothing useful
        raise MeasureError(f"{n['threads']} must be an integer from 1 to {MAX_THREADS}, got {threads}")
    if isinstance(max_time, bool) or not isinstance(max_time, (int, float)) or not max_time > 0:
        raise MeasureError(f"{n['max_time']} must be a positive number of seconds, got {max_time!r}")
    _check_int(runs, n["runs"])
    _check_int(warmup, n["warmup"], 0)
    _check_int(batch, n["batch"])


def measure(graph: Graph, backend: str = "onnxruntime", threads: int = 1, runs: Optional[int] = None,
            warmup: int = WARMUP, batch: int = 1, profile: bool = True, max_time: float = MAX_TIME,
            rel_ci: float = REL_CI, weights=None, progress: Optional[Callable[[int, int], None]] = None,
            model_bytes: Optional[bytes] = None, min_runs: int = 3) -> Measurement:
    """Latency of one forward pass of ``graph`` on this machine (see the module doc for the
    protocol and the stop rule). ``model_bytes``: run this ONNX file instead of writing one."""
    require_graph(graph, "measure")
    if backend not in BACKENDS:
        raise MeasureError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    check_settings(threads, runs, warmup, batch, max_time)
    if backend == "torch":
        if model_bytes is not None:
            raise MeasureError("an ONNX model is measured with --backend onnxruntime (torch runs costmodel graphs)")
        be = _Torch(graph, threads, batch, weights)
    else:
        be = _Ort(graph, threads, batch, weights, model_bytes)
    load_before = load_average()
    try:
        for _ in range(warmup):
            be.run()
        times: List[float] = []
        cpu_times: List[float] = []
        thread_clock = time.thread_time
        limit = runs or MAX_RUNS
        start = time.perf_counter()
        stop = f"{runs} runs requested" if runs else ""
        clock = time.perf_counter
        while len(times) < limit:
            t0, c0 = clock(), thread_clock()
            be.run()
            times.append(clock() - t0)
            cpu_times.append(thread_clock() - c0)
            if progress:
                progress(len(times), limit)
            if runs:
                continue
            n = len(times)
            if n >= MIN_RUNS and (n % 5 == 0) and rel_ci > 0 and ci_rel(times) <= rel_ci:
                stop = f"converged: 95% CI of the median within +-{rel_ci:.0%} after {n} runs"
                break
            if clock() - start > max_time and n >= min_runs:
                stop = f"time limit {max_time:g} s reached after {n} runs (CI +-{ci_rel(times):.1%})"
                break
        else:
            if not runs:
                stop = f"run limit {limit} reached (CI +-{ci_rel(times):.1%})"
        layers, layers_total = ([], None)
        if profile:
            layers, layers_total = attribute(graph, be.profile(PROFILE_RUNS))
    finally:
        if hasattr(be, "close"):
            be.close()
    s = sorted(times)
    med = quantile(s, 0.5)
    meta = graph.meta
    return Measurement(
        network=str(meta.get("network", graph.name)), alpha=meta.get("alpha"),
        resolution=int(meta.get("resolution", graph.input_shape[1] if len(graph.input_shape) == 3 else 0)),
        batch=batch, backend=be.name, backend_version=be.version, threads=threads, cpu=cpu_model(), runs=len(times),
        median_s=med, p10_s=quantile(s, 0.1), p90_s=quantile(s, 0.9), min_s=s[0],
        cpu_median_s=quantile(sorted(cpu_times), 0.5) if threads == 1 else None, warmup=warmup, ci_rel=ci_rel(times),
        spread_rel=(quantile(s, 0.9) - quantile(s, 0.1)) / med if med else 0.0, stop=stop,
        load_before=load_before, load_after=load_average(), times_s=times, layers=layers,
        layers_total_s=layers_total,
        stop_rule=(f"exactly {runs} timed runs" if runs else
                   f"stop when the 95% CI of the median is within +-{rel_ci:.0%} (at least {MIN_RUNS} runs), "
                   f"or after {MAX_RUNS} runs or {max_time:g} s"))


def time_graph(graph: Graph, backend: str = "onnxruntime", threads: int = 1, **kw) -> float:
    """Median seconds of one forward pass (no per-layer profile): ``measure(...).median_s``."""
    return measure(graph, backend, threads, profile=False, **kw).median_s


__all__ = ["measure", "time_graph", "check_settings", "Measurement", "MeasureError", "attribute", "median_ci",
           "cpu_model", "BACKENDS", "CLI_FLAGS", "need_onnxruntime"]
