"""costmodel against the reference implementations of MobileNetV4, FBNet-C and ProxylessNAS.

Builds each reference model with random weights (nothing is downloaded), counts
``sum(p.numel() for p in model.parameters())`` and, with PyTorch's ``FlopCounterMode``, the
conv/linear FLOPs (aten.convolution, addmm, mm outside attention) and the attention matmul FLOPs
(bmm and the rest) of one forward pass at batch 1, halves the FLOPs into multiply-accumulates,
and prints them beside costmodel's ``params_with_bn``, ``madds`` and ``attn_madds``, with the
ratios. Prints, never asserts; the figures it confirms are recorded in data/mobilenet_v4.csv,
data/fbnet.csv and data/proxylessnas.csv and tested there.

References: timm (MobileNetV4, ``fbnetc_100``), with fused attention off so that the attention
products run as plain matmuls; pytorchcv's ProxylessNAS port when it is importable (optional).
Needs torch and timm, e.g. ``PYTHONPATH=. /work/venv-tv/bin/python benchmarks/bench_zoo_reference_mnv4.py``.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TIMM_FUSED_ATTN", "0")

try:
    import timm
    import torch
    from torch.utils.flop_counter import FlopCounterMode
except ImportError as e:  # pragma: no cover - the benchmark needs the reference libraries
    sys.exit(f"this benchmark needs torch and timm ({e}); run it with a Python that has both")

import costmodel as cm

#: (costmodel network, knobs, reference factory name, resolutions)
TIMM = [
    ("mobilenet_v4_conv_small", {}, "mobilenetv4_conv_small", (224, 256)),
    ("mobilenet_v4_conv_small", {"alpha": 0.5}, "mobilenetv4_conv_small_050", (224,)),
    ("mobilenet_v4_conv_small", {"alpha": 0.35}, "mobilenetv4_conv_small_035", (224,)),
    ("mobilenet_v4_conv_medium", {}, "mobilenetv4_conv_medium", (224, 256)),
    ("mobilenet_v4_conv_large", {}, "mobilenetv4_conv_large", (224, 384)),
    ("mobilenet_v4_hybrid_medium", {}, "mobilenetv4_hybrid_medium", (224, 256)),
    ("mobilenet_v4_hybrid_large", {}, "mobilenetv4_hybrid_large", (224, 384)),
    ("fbnet_c", {}, "fbnetc_100", (224,)),
]
PYTORCHCV = [(f"proxylessnas_{v}", {}, f"proxylessnas_{v}", (224,)) for v in ("mobile", "gpu", "cpu")]

CONV_LINEAR_OPS = ("convolution", "addmm")


def reference_counts(model, res):
    """(parameters, conv/linear multiply-accumulates, other matmul multiply-accumulates)."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 3, res, res))
    ops = {str(k).split(".")[-1]: v for k, v in counter.get_flop_counts()["Global"].items()}
    conv_linear = sum(v for k, v in ops.items() if k in CONV_LINEAR_OPS)
    other = counter.get_total_flops() - conv_linear
    return sum(p.numel() for p in model.parameters()), conv_linear // 2, other // 2, ops


def compare(rows, factory, lib):
    print(f"\n{lib}")
    print(f"{'network':28} {'knobs':12} {'res':>4} {'params ref':>11} {'ours':>11} {'madds ref':>12} {'ours':>12} "
          f"{'attn ref':>10} {'ours':>10}  ratios p/m/a")
    for name, knobs, ref, resolutions in rows:
        if name not in cm.networks():
            print(f"{name:28} not registered in this checkout")
            continue
        model = factory(ref)
        for res in resolutions:
            p, m, a, _ = reference_counts(model, res)
            t = cm.analyze(cm.build(name, res=res, **knobs)).totals
            ours_a = t.get("attn_madds", 0)
            ratios = "/".join(f"{x / y:.6f}" if y else "-" for x, y in
                              ((t["params_with_bn"], p), (t["madds"], m), (ours_a, a)))
            flag = "" if (t["params_with_bn"], t["madds"], ours_a) == (p, m, a) else "  <-- differs"
            kn = ";".join(f"{k}={v}" for k, v in knobs.items())
            print(f"{name:28} {kn:12} {res:>4} {p:>11} {t['params_with_bn']:>11} {m:>12} {t['madds']:>12} "
                  f"{a:>10} {ours_a:>10}  {ratios}{flag}")


def main():
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, timm {timm.__version__}; FLOPs / 2 = multiply-accumulates")
    compare(TIMM, lambda n: timm.create_model(n, pretrained=False), f"timm {timm.__version__}")
    try:
        import pytorchcv
        from pytorchcv.model_provider import get_model
    except ImportError:
        print("\npytorchcv is not importable: ProxylessNAS reference counts skipped (pip install pytorchcv)")
        return
    version = getattr(pytorchcv, "__version__", "?")
    compare(PYTORCHCV, lambda n: get_model(n, pretrained=False), f"pytorchcv {version}")


if __name__ == "__main__":
    main()
