"""Spec files out: a ``NetSpec`` as YAML or JSON data that ``costmodel.specfile`` reads back into
the same network (``costmodel show``)."""
from __future__ import annotations

import json
import numbers
from typing import Optional

import yaml

from . import validate
from .errors import SpecError
from .spec import NetSpec


def spec_to_data(spec: NetSpec, alpha: Optional[float] = None, res=None, classes: Optional[int] = None,
                 depth: Optional[float] = None) -> dict:
    """The spec file contents for a ``NetSpec`` (tuples as lists); None: the spec's own default."""
    def plain(v):
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            return int(v)
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return float(v)
        if v is None or isinstance(v, (bool, str)):
            return v
        raise SpecError(f"{spec.name}: block argument value {v!r:.60} ({type(v).__name__}) cannot be written to a "
                        f"spec file")

    blocks = []
    for b in spec.blocks:
        d = b.to_dict()
        d.update((k, plain(v)) for k, v in b.args.items())
        blocks.append(d)
    out = {"name": spec.name}
    if spec.source:
        out["source"] = spec.source
    hw = validate.resolution(spec.default_res if res is None else res, spec.name)
    out.update({"width": spec.width, "alpha": float(spec.default_alpha if alpha is None else alpha)})
    if spec.depth_rule:
        out.update({"depth": float(spec.default_depth if depth is None else depth), "depth_rule": spec.depth_rule})
    out.update({"classes": int(spec.default_classes if classes is None else classes),
                "input": {"in_channels": spec.in_channels, "resolution": validate.res_value(hw)}})
    if spec.precision:
        out["precision"] = dict(spec.precision)
    out["blocks"] = blocks
    return out


def dump_spec(data: dict, fmt: str = "yaml", header: str = "") -> str:
    """Spec data as YAML (one flow mapping per block, like the papers' table rows) or JSON."""
    if fmt == "json":
        head = {k: v for k, v in data.items() if k != "blocks"}
        body = json.dumps(head, indent=2)[:-2]
        rows = ",\n".join("    " + json.dumps(b) for b in data["blocks"])
        return f"{body},\n  \"blocks\": [\n{rows}\n  ]\n}}\n"
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    for key, v in data.items():
        if key == "blocks":
            continue
        if isinstance(v, dict):
            lines.append(f"{key}: " + yaml.safe_dump(v, default_flow_style=True, width=1 << 30).strip())
        else:
            lines.append(yaml.safe_dump({key: v}, default_flow_style=False, width=1 << 30).strip())
    lines.append("blocks:")
    for b in data["blocks"]:
        lines.append("  - " + yaml.safe_dump(b, default_flow_style=True, sort_keys=False, width=1 << 30).strip())
    return "\n".join(lines) + "\n"
