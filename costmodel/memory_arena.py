"""Arena planning: every activation buffer of a schedule gets an offset in one arena, as TensorFlow
Lite Micro's planners assign them (docs/memory.md, "Arena planners"; the rules are paraphrased in
../shared/reference/tflm_planner.md from tflite-micro's greedy_memory_planner.cc and
linear_memory_planner.cc).

* ``greedy`` (TFLM ``GreedyMemoryPlanner``, the default planner of TFLM): buffers are taken by size,
  largest first (ties: the buffer added later first, as the current planner's stable sort over the
  reverse add order gives; ``tie="earlier"`` is the older planner's rule); each is placed at the
  lowest offset where it fits between the already placed buffers whose lifetimes intersect its own
  (closed intervals: a tensor last read at step t conflicts with one first written at step t), i.e.
  first fit by lowest offset, an exact fit accepted.
* ``linear`` (TFLM ``LinearMemoryPlanner``): no reuse; each buffer, in add order, goes after all
  previous ones; the arena is the sum of the sizes.

Lifetimes are a schedule's steps (``Schedule``): a buffer is live from the step of its producer to
its last reader's step (the input from step 0, graph outputs to the last step); a streamed unit's
slices are a scratch buffer live during its step, added after the tensors (as TFLM adds kernel
scratch buffers after the tensors). In-place kernels merge the buffer they overwrite and their
output into one *block*: one offset, the larger size, the union of both lifetimes. The arena can
never be smaller than the schedule's liveness peak (the largest sum of buffers live at one step):
the difference is the fragmentation. TFLM rounds every size up to 16 bytes before planning
(``align=16``); the default here is ``align=1`` (exact sizes).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from .errors import CostModelError

PLANNERS = ("greedy", "linear", "none")


@dataclass(frozen=True)
class Request:
    """One buffer to place (TFLM's buffer requirements): size in bytes, first and last step it is
    used (inclusive), optionally a fixed offset (an offline plan; -1 = plan it here)."""

    size: int
    first: int
    last: int
    name: str = ""
    offline: int = -1


def conflicts(a: Request, b: Request) -> bool:
    """Closed lifetimes intersect (TFLM: they do not iff one's first > the other's last)."""
    return not (a.first > b.last or b.first > a.last)


def greedy_offsets(reqs: Sequence[Request], tie: str = "later") -> List[int]:
    """Offsets of TFLM's GreedyMemoryPlanner for ``reqs`` in add order (tflm_planner.md 1.3-1.4).

    Processing order: offline buffers first (add order), then online buffers by size descending,
    equal sizes later-added first (``tie="later"``, current tflite-micro) or earlier-added first
    (``tie="earlier"``, the planner before offline planning). Each online buffer: scan the placed
    buffers in offset order, skipping those whose lifetime does not intersect its own; the candidate
    offset starts at 0 and rises to the end of each conflicting buffer passed; the buffer goes at the
    candidate as soon as the gap to the next conflicting buffer holds it (or none is left)."""
    if tie not in ("later", "earlier"):
        raise CostModelError(f"tie must be 'later' or 'earlier', got {tie!r}")
    n = len(reqs)
    offline = [i for i in range(n) if reqs[i].offline >= 0]
    online = [i for i in range(n) if reqs[i].offline < 0]
    if tie == "later":
        online = online[::-1]  # written from the back while scanning in add order
    online.sort(key=lambda i: -reqs[i].size)  # stable: equal sizes keep the pre-order
    offsets = [0] * n
    placed: List[int] = []      # buffer ids ordered by offset (equal offsets: placement order)
    keys: List[int] = []        # their offsets, for the insertion point
    for i in offline + online:
        r = reqs[i]
        if r.offline >= 0:
            off = r.offline
        else:
            off, k = 0, 0
            while True:
                while k < len(placed) and not conflicts(reqs[placed[k]], r):
                    k += 1
                if k == len(placed) or keys[k] - off >= r.size:
                    break
                j = placed[k]
                off = max(off, offsets[j] + reqs[j].size)
                k += 1
        offsets[i] = off
        pos = bisect.bisect_right(keys, off)
        keys.insert(pos, off)
        placed.insert(pos, i)
    return offsets


def linear_offsets(reqs: Sequence[Request]) -> List[int]:
    """Offsets of TFLM's LinearMemoryPlanner: the running sum of the sizes in add order."""
    out, total = [], 0
    for r in reqs:
        out.append(total)
        total += r.size
    return out


def arena_size(reqs: Sequence[Request], offsets: Sequence[int]) -> int:
    """The arena a plan needs: max over buffers of offset + size (0 without buffers)."""
    return max((o + r.size for r, o in zip(reqs, offsets)), default=0)


def overlaps(reqs: Sequence[Request], offsets: Sequence[int]) -> List[tuple]:
    """Pairs (i, j) of buffers whose lifetimes intersect and whose byte ranges overlap (a valid plan
    has none)."""
    bad = []
    for i in range(len(reqs)):
        for j in range(i + 1, len(reqs)):
            a, b = reqs[i], reqs[j]
            if a.size and b.size and conflicts(a, b) and offsets[i] < offsets[j] + b.size \
                    and offsets[j] < offsets[i] + a.size:
                bad.append((i, j))
    return bad


@dataclass
class Arena:
    """An arena plan of a schedule: one row per buffer (tensor, offset, size, first_use, last_use,
    the block it shares with in-place kernels), the arena size and the liveness lower bound."""

    planner: str
    arena_bytes: Optional[int]     #: None for planner "none"
    peak_bytes: int                #: the schedule's liveness peak: a lower bound of any arena
    buffers: List[dict] = field(default_factory=list)
    align: int = 1
    steps: List[str] = field(default_factory=list)

    @property
    def fragmentation_bytes(self) -> Optional[int]:
        return None if self.arena_bytes is None else self.arena_bytes - self.peak_bytes


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


def blocks(s, bits: int = 32, align: int = 1):
    """The requests of schedule ``s`` (``costmodel.memory_liveness.Schedule``): one per block (a
    buffer, or the buffers an in-place kernel merged), in add order (buffer ids, then the streamed
    units' slices as scratch), and per buffer (name, bytes, first, last, block index)."""
    from .memory_liveness import intervals
    p = s.plan
    n = max(len(s.order), 1)
    if s.order:
        start, end = intervals(p, s.order)
    else:
        start, end = [0] * len(p.buffers), [0] * len(p.buffers)
    parent = list(range(len(p.buffers)))

    def root(b):
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for ov in s.overwrites or []:
        if ov:
            a, b = root(ov[0]), root(ov[1])
            parent[max(a, b)] = min(a, b)
    rows = []
    for b, buf in enumerate(p.buffers):
        first, last = max(start[b], 0), min(end[b], n - 1)
        if last < first:
            continue  # never live (an input nobody reads)
        rows.append([buf.name, p.nbytes(p.sizes[b], bits), first, last, root(b)])
    for k, u in enumerate(s.order):
        unit = p.units[u]
        if unit.workspace:
            rows.append([f"{unit.name} slices (1/{unit.split})", p.nbytes(unit.workspace, bits), k, k, ("ws", k)])
    keys = list(dict.fromkeys(r[4] for r in rows))
    index = {key: i for i, key in enumerate(keys)}
    reqs = []
    for key in keys:
        mem = [r for r in rows if r[4] == key]
        reqs.append(Request(_align(max(r[1] for r in mem), align), min(r[2] for r in mem), max(r[3] for r in mem),
                            mem[0][0]))
    for r in rows:
        r[4] = index[r[4]]
    return reqs, rows


def plan_arena(s, planner: str = "greedy", bits: int = 32, align: int = 1, tie: str = "later") -> Arena:
    """Offsets of every buffer of schedule ``s`` in one arena by ``planner`` (``PLANNERS``), sizes at
    ``bits`` (or the plan's own bytes under a precision spec), each block rounded up to ``align``."""
    if planner not in PLANNERS:
        raise CostModelError(f"unknown planner {planner!r}; accepted: {', '.join(PLANNERS)}")
    if isinstance(align, bool) or not isinstance(align, int) or align < 1:
        raise CostModelError(f"align must be a positive number of bytes, got {align!r}")
    reqs, rows = blocks(s, bits, align)
    peak = s.plan.nbytes(s.peak, bits)
    offsets = None
    if planner == "greedy":
        offsets = greedy_offsets(reqs, tie)
    elif planner == "linear":
        offsets = linear_offsets(reqs)
    out = [{"tensor": r[0], "offset": None if offsets is None else offsets[r[4]], "size": r[1],
            "first_use": r[2], "last_use": r[3], "block": r[4]} for r in rows]
    size = None if offsets is None else arena_size(reqs, offsets)
    return Arena(planner, size, peak, out, align, s.step_names())


#: trailing node names dropped from a buffer's label in the memory map (the op it belongs to reads better)
_SUFFIXES = ("bn", "relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid", "act")


def _short(name: str) -> str:
    head, _, last = name.rpartition(".")
    return head if head and last in _SUFFIXES else name


def memory_map_figure(arena: Arena, title: str = ""):
    """The memory map of ``arena`` as a matplotlib Figure: time (schedule steps) on x, offset on y, one
    rectangle per buffer named after its op where the name fits, the liveness peak and the arena size."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    if arena.arena_bytes is None:
        raise CostModelError("the memory map needs offsets: choose --planner greedy or linear")
    top = max(arena.arena_bytes, 1)
    scale, unit = (1e6, "MB") if top >= 2e6 else (1e3, "kB")
    nsteps = max([b["last_use"] for b in arena.buffers], default=0) + 1
    fig, ax = plt.subplots(figsize=(12, 6))
    cmap = plt.get_cmap("tab20")
    for b in arena.buffers:
        x0, w = b["first_use"], b["last_use"] - b["first_use"] + 1
        y0, h = b["offset"] / scale, b["size"] / scale
        ax.add_patch(Rectangle((x0, y0), w, h, facecolor=cmap(b["block"] % 20), edgecolor="black", linewidth=0.5,
                               alpha=0.75))
        label = _short(b["tensor"])
        if h >= 0.03 * top / scale and w >= len(label) * nsteps / 150:
            ax.text(x0 + w / 2, y0 + h / 2, label, ha="center", va="center", fontsize=7, clip_on=True)
        elif h >= len(label) * 0.022 * top / scale and w >= nsteps / 80:
            ax.text(x0 + w / 2, y0 + h / 2, label, ha="center", va="center", fontsize=7, rotation=90, clip_on=True)
    ax.axhline(arena.peak_bytes / scale, color="tab:red", linestyle="--", linewidth=1,
               label=f"liveness peak (lower bound) {arena.peak_bytes / scale:,.1f} {unit}")
    ax.axhline(arena.arena_bytes / scale, color="black", linewidth=1,
               label=f"{arena.planner} arena {arena.arena_bytes / scale:,.1f} {unit}")
    ax.set_xlim(0, nsteps)
    ax.set_ylim(0, top / scale * 1.08)
    ax.set_xlabel("step (op in schedule order)")
    ax.set_ylabel(f"offset in the arena ({unit})")
    ax.set_title(title or f"memory map ({arena.planner} planner)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def memory_map(arena: Arena, path: str, title: str = "") -> None:
    """Draw ``memory_map_figure`` as a PNG at ``path`` (matplotlib, Agg; written atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .fileio import atomic_path
    fig = memory_map_figure(arena, title)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
