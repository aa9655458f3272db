"""Roll-ups: layers summed into blocks and stages, the way torchinfo's ``depth`` and fvcore's module
levels group a model's modules.

Every node has a path of groups, coarsest first:

* a graph built from a spec (the zoo, spec files, block strings): the stage, the block (its scope:
  ``ir4``, ``stage2.0``), the block's sub-scopes (``ir4.se``), then the layer. A stage is a row of
  the spec (``ir`` with n = 3: one stage of three blocks), or consecutive rows named ``NAME.0``,
  ``NAME.1``, ... (tables written unit by unit, as ShuffleNet's); it is named after the row (its
  name, its one block, or ``first..last`` of its blocks: ``ir4..ir6``) and typed by its block
  type and count (``ir x3``);
* an imported model (ONNX, PyTorch): the prefixes of its dotted layer names (``features``,
  ``features.3``, ``features.3.block``, ...), as torchinfo's depth follows the module tree.

``--rollup N`` shows the groups at level N (1: stages, 2: blocks, 3: their parts, ...); a layer
whose path is shorter than N stays a row of its own. Counts are summed exactly; the input shape of
a group is its first layer's and the output its last layer's (graph order); the shares are of the
network's totals.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from .errors import KnobError

#: per-layer keys that add up over a group
SUMMED = ("params", "params_with_bn", "madds", "flops", "attn_madds", "bn_channels", "mac", "mac_bytes",
          "weight_bytes", "time_s", "time_us", "predicted_s", "predicted_us")


def _stages(graph) -> Dict[str, Tuple[str, str, str]]:
    """Block scope -> (stage key, stage name, stage type) for a graph built from a spec."""
    order: List[str] = []
    scopes: Dict[str, List[str]] = {}
    types: Dict[str, List[str]] = {}
    key_of: Dict[str, str] = {}
    for scope, (row, typ, name) in graph.blocks.items():
        key = f"stage:{name.rsplit('.', 1)[0]}" if "." in name else f"stage:{row}"
        if key not in scopes:
            order.append(key)
            scopes[key], types[key] = [], []
        scopes[key].append(scope)
        if typ not in types[key]:
            types[key].append(typ)
        key_of[scope] = key
    out = {}
    for key in order:
        ss = scopes[key]
        prefix = ss[0].rsplit(".", 1)[0]
        if len(ss) == 1:
            name = ss[0]
        elif all(s.rsplit(".", 1)[0] == prefix and s.rsplit(".", 1)[-1].isdigit() for s in ss):
            name = prefix
        else:
            name = f"{ss[0]}..{ss[-1]}"
        typ = "/".join(types[key]) + (f" x{len(ss)}" if len(ss) > 1 else "")
        for s in ss:
            out[s] = (key, name, typ)
    return out


def paths(graph) -> Dict[str, Tuple[Tuple[str, str, str], ...]]:
    """Node name -> its groups, coarsest first, each (key, name, type), ending with the layer itself
    (its type: the op's label). The key is the group's identity across two builds (``diff``)."""
    stages = _stages(graph) if graph.blocks else {}
    out = {}
    for n in graph.nodes:
        parts = n.scope.split(".") if n.scope else []
        block = next((".".join(parts[:i]) for i in range(len(parts), 0, -1)
                      if ".".join(parts[:i]) in graph.blocks), None)
        if block is not None:
            _, typ, row_name = graph.blocks[block]
            # a named row built once has the scope NAME, built n times NAME.0 ... NAME.n-1: the key of its
            # first block is NAME.0 either way, so that a depth change keeps the blocks matched (diff)
            base = f"{block}.0" if row_name and block == row_name and "." not in row_name else block

            def key(s, block=block, base=base):
                return base + s[len(block):]
            p = [stages[block], (base, block, typ)]
            p += [(key(s), s, "") for s in (".".join(parts[:i]) for i in range(block.count(".") + 2, len(parts) + 1))]
        else:
            name_parts = n.name.split(".")
            p = [(s, s, "") for s in (".".join(name_parts[:i]) for i in range(1, len(name_parts)))]

            def key(s):
                return s
        if not p or p[-1][1] != n.name:
            p.append((key(n.name), n.name, n.op.label(n.in_shapes)))
        out[n.name] = tuple(p)
    return out


def check_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise KnobError(f"--rollup takes a level 1, 2, 3, ... (1: stages, 2: blocks, 3: their parts), got {level!r}")
    return level


def rollup(graph, rows: Sequence[dict], level: int) -> List[dict]:
    """``rows`` (per-layer dicts keyed by node name, as ``analyze`` gives them) summed into the groups
    at ``level``, in graph order: ``name``, ``key`` (the group's identity: ``stage:ROW`` for a stage
    of a spec's row ROW, else the block's or layer's name), ``type`` (the block type, ``ir x3`` for a
    stage of three blocks, the op for a single layer), ``layers``, ``input_shape``, ``output_shape``, the ``SUMMED``
    keys present in the rows, ``arithmetic_intensity`` (with MAC), ``bound`` (with times: the bound
    of the layers taking most of the group's time), and ``params_pct`` / ``madds_pct`` (shares of
    the network's totals, in percent)."""
    level = check_level(level)
    ps = paths(graph)
    groups: Dict[str, dict] = {}
    bounds: Dict[str, Dict[str, float]] = {}
    for r in rows:
        p = ps[r["name"]]
        key, name, typ = p[min(level, len(p)) - 1]
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"name": name, "key": key, "type": typ, "layers": 0, "input_shape": r.get("input_shape")}
            bounds[key] = {}
        g["layers"] += 1
        g["output_shape"] = r.get("output_shape")
        for k in SUMMED:
            if r.get(k) is not None:
                g[k] = g.get(k, 0) + r[k]
        if r.get("bound"):
            bounds[key][r["bound"]] = bounds[key].get(r["bound"], 0.0) + (r.get("time_s") or 0.0)
    totals = {k: sum(r.get(k) or 0 for r in rows) for k in ("params", "madds")}
    for key, g in groups.items():
        if "mac" in g:
            g["arithmetic_intensity"] = (g.get("madds", 0) + g.get("attn_madds", 0)) / g["mac"] if g["mac"] else 0.0
        if bounds[key]:
            g["bound"] = max(bounds[key], key=bounds[key].get)
        g["params_pct"] = 100.0 * g.get("params", 0) / totals["params"] if totals["params"] else 0.0
        g["madds_pct"] = 100.0 * g.get("madds", 0) / totals["madds"] if totals["madds"] else 0.0
    return list(groups.values())


def max_level(graph) -> int:
    """The deepest level with groups (at it and beyond, every row is a layer)."""
    return max((len(p) for p in paths(graph).values()), default=1)
