"""ONNX import of networks with attention, written by PyTorch's exporter, against costmodel's own
counts: the check too slow (or needing timm) for the test suite.

For MobileNetV4-Hybrid-Medium and -Large:

* ``torch_bridge``: costmodel's graph as a torch module (``costmodel.torch_bridge.to_torch``),
  exported with ``torch.onnx.export`` (TorchScript exporter, BatchNorm kept) and imported back:
  every node's op, shapes, params, Mult-Adds, attention Mult-Adds and FLOPs equal the built
  graph's, row by row;
* ``timm`` (when timm is installed): timm's own ``mobilenetv4_hybrid_medium/large`` (timm's
  ``MultiQueryAttention2d``: token layout, Unsqueeze, Transpose/Reshape/permute back to a map,
  ``LayerScale2d``), exported the same way and imported: the totals (params, params_with_bn,
  madds, attn_madds, flops) equal ``costmodel.build``'s at the same resolution.

Prints one row per model and exits 1 on any difference. With torch 2.13 (the suite's) the timm
rows are skipped; the timm venv of this machine runs both:

    PYTHONPATH=/path/to/checkout /work/venv-tv/bin/python benchmarks/bench_onnx_parity.py [--res 224]

Results on this machine (torch 2.14.1, timm 1.0.31, res 256 / 384 as the models' defaults):
hybrid-medium and -large equal on every total from both sources.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

NETS = (("mobilenet_v4_hybrid_medium", "mobilenetv4_hybrid_medium"),
        ("mobilenet_v4_hybrid_large", "mobilenetv4_hybrid_large"))
KEYS = ("params", "params_with_bn", "madds", "attn_madds", "flops")


def _export(module, shape, path):
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(shape),), path, dynamo=False, opset_version=17,
                          training=torch.onnx.TrainingMode.PRESERVE)
    return path


def _rows(graph):
    from costmodel import analyze
    return [(r["op"], r["input_shapes"], r["output_shape"]) + tuple(r[k] for k in KEYS if k in r)
            for r in analyze(graph).rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=int, default=None, help="resolution (default: each network's own)")
    args = ap.parse_args(argv)
    import costmodel
    from costmodel import analyze
    from costmodel.onnx_import import load_onnx
    from costmodel.torch_bridge import to_torch
    try:
        import timm
    except ImportError:
        timm = None
        print("timm is not installed: the timm rows are skipped")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for ours, theirs in NETS:
            res = args.res or costmodel.get_network(ours).default_res
            g = costmodel.build(ours, res=res)
            want = analyze(g).totals
            t = time.perf_counter()
            path = _export(to_torch(g), (1,) + g.input_shape, os.path.join(tmp, f"{ours}.onnx"))
            back = load_onnx(path)
            same = _rows(back) == _rows(g)
            bad += not same
            print(f"{ours:28s} torch_bridge res {res}: {len(back)} nodes, rows {'equal' if same else 'DIFFER'} "
                  f"({time.perf_counter() - t:.0f} s)")
            if timm is None or not timm.is_model(theirs):
                continue
            t = time.perf_counter()
            path = _export(timm.create_model(theirs, pretrained=False), (1, 3, res, res),
                           os.path.join(tmp, f"{theirs}.onnx"))
            got = analyze(load_onnx(path)).totals
            diff = {k: (got[k], want[k]) for k in KEYS if got[k] != want[k]}
            bad += bool(diff)
            print(f"{theirs:28s} timm         res {res}: " + ", ".join(f"{k} {got[k]:,}" for k in KEYS)
                  + (f"; DIFFER (imported, built): {diff}" if diff else "; all equal to costmodel.build")
                  + f" ({time.perf_counter() - t:.0f} s)")
    print("summary: " + ("all equal" if not bad else f"{bad} differences"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
