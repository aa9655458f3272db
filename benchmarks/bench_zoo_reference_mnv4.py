"""costmodel against the reference implementations of MobileNetV4, FBNet-C and ProxylessNAS.

Builds each reference model with random weights (nothing is downloaded), counts
``sum(p.numel() for p in model.parameters())`` and, with PyTorch's ``FlopCounterMode``, the
conv/linear FLOPs (aten.convolution, and addmm: the biased classifier) and the other FLOPs (the
attention's matmuls) of one forward pass at batch 1, halves the FLOPs into multiply-accumulates,
and prints them beside costmodel's ``params_with_bn``, ``madds`` and ``attn_madds``, with the
ratios, and how far costmodel's torch translation of the graph, carrying the reference model's own
weights (copied in declaration order), is from the reference model's output on one random input
(the layer order, head channel order, transposes, scale and activations all have to agree for
float32 agreement). Prints, never asserts; the figures it confirms are recorded in data/mobilenet_v4.csv,
data/fbnet.csv and data/proxylessnas.csv and tested there.

References: timm (MobileNetV4, ``fbnetc_100``), with fused attention off so that the attention
products run as plain matmuls; pytorchcv's ProxylessNAS port when it is importable (optional).
Needs torch and timm (pytorchcv optional): ``PYTHONPATH=. python benchmarks/bench_zoo_reference_mnv4.py``
with a Python that has them (CI's torch-only environment does not).
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
#: pytorchcv's port ends its first and last conv with ReLU where the official configs say ReLU6 (its
#: counts are the official ones): outputs differ wherever those activations exceed 6
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


def same_outputs(name, knobs, model, res):
    """Copy the reference model's weights into costmodel's graph in order (the declaration order of
    both), run both in eval mode on one random input and return max |ours - theirs| / max |theirs|."""
    from costmodel.executor import weight_shapes
    from costmodel.torch_bridge import to_torch
    g = cm.build(name, res=res, **knobs)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # every weight random and of order one (timm starts layer scale at 1e-5, BN at 0/1)
        for k, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if t.dim() >= 2:
                t.copy_(torch.randn(t.shape, generator=gen) / t[0].numel() ** 0.5)
            elif k.endswith(("running_var", "gamma", "weight")):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            else:
                t.copy_(0.4 * torch.rand(t.shape, generator=gen) - 0.2)
    theirs = [t for k, t in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    ours = [(layer, key, shape) for layer, d in weight_shapes(g).items() for key, shape in d.items()]
    if len(ours) != len(theirs) or any(tuple(t.shape) != s for (_, _, s), t in zip(ours, theirs)):
        return float("nan")
    w = {}
    for (layer, key, _), t in zip(ours, theirs):
        w.setdefault(layer, {})[key] = t.detach().numpy()
    x = torch.randn(2, 3, res, res)
    with torch.no_grad():
        a, b = to_torch(g, w)(x), model.eval()(x)
    return float((a - b).abs().max() / b.abs().max())


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
            if res == resolutions[0]:
                flag += f"  outputs rel. diff {same_outputs(name, knobs, model, res):.1e}"
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
