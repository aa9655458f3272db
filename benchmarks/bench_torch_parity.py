"""Parity of the PyTorch importer with PyTorch itself on the real torchvision and timm models.

For every torchvision classification model of the efficient family and the reference nets
(mobilenet_v2, mobilenet_v3_large/small, shufflenet_v2_x0_5/x1_0/x1_5/x2_0, squeezenet1_0/1_1,
mnasnet0_5/0_75/1_0/1_3, efficientnet_b0-b7, regnet_x/y_400mf, resnet50, googlenet, vgg16,
alexnet) and a few timm models (mobilenetv4_conv_small, efficientnet_lite0, ghostnet_100, when
timm has them), built without pretrained weights, ``costmodel.from_torch`` at 224x224 and at a
non-square size (320x240 by default) is checked for

* ``params_with_bn == sum(p.numel() for p in m.parameters())``, exactly;
* ``2 * madds == FlopCounterMode`` (PyTorch's own count of convolutions and matrix products, on
  the meta device), exactly;
* numerics (``--numerics``, default on, at the first size): ``costmodel.execute`` with the
  module's own weights (``from_torch(..., return_weights=True)``; random BatchNorm statistics so
  that every BatchNorm matters) against the module's output: the maximum error relative to the
  largest output, and ``allclose(rtol=1e-4, atol=1e-4 * max|y|)``;
* for the models the zoo has (mobilenet_v2, mobilenet_v3_large/small, shufflenet_v2_x*,
  squeezenet1_*, resnet50, vgg16, alexnet), the imported totals against ``costmodel.build``'s
  at 224 (params_with_bn and madds; a difference is printed, never hidden).

GoogLeNet is built with ``aux_logits=False``, its inference network: with torchvision's default
``aux_logits=True`` the auxiliary classifiers' parameters exist but the eval forward never reads
them; the importer reports them as ``meta['unused_parameters']`` (a second row shows it).

It installs nothing. On this machine (torch 2.14.1, torchvision 0.29.1, timm in /work/venv-tv):

    PYTHONPATH=/path/to/checkout /work/venv-tv/bin/python benchmarks/bench_torch_parity.py

On a fresh machine, in a separate virtual environment (torchvision pins its torch):

    python -m venv /tmp/venv-tv && /tmp/venv-tv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm
    /tmp/venv-tv/bin/pip install -e .   # or PYTHONPATH=. as above
    /tmp/venv-tv/bin/python benchmarks/bench_torch_parity.py [--models resnet50,vgg16] [--sizes 224x224]
                                                             [--no-numerics] [--trace fx|export|auto]

Prints one row per model and size and a summary; exits 1 if any count differs.
"""
import argparse
import copy
import os
import sys
import time
import warnings

TORCHVISION = (["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]
               + [f"shufflenet_v2_x{s}" for s in ("0_5", "1_0", "1_5", "2_0")]
               + ["squeezenet1_0", "squeezenet1_1"] + [f"mnasnet{s}" for s in ("0_5", "0_75", "1_0", "1_3")]
               + [f"efficientnet_b{i}" for i in range(8)]
               + ["regnet_x_400mf", "regnet_y_400mf", "resnet50", "googlenet", "vgg16", "alexnet"])
TIMM = ["mobilenetv4_conv_small", "efficientnet_lite0", "ghostnet_100"]
#: torchvision name -> (zoo name, build() arguments) for the networks the zoo has
ZOO = {"mobilenet_v2": ("mobilenet_v2", {}), "mobilenet_v3_large": ("mobilenet_v3_large", {}),
       "mobilenet_v3_small": ("mobilenet_v3_small", {}),
       "shufflenet_v2_x0_5": ("shufflenet_v2", {"alpha": 0.5, "impl": "torchvision"}),
       "shufflenet_v2_x1_0": ("shufflenet_v2", {"alpha": 1.0, "impl": "torchvision"}),
       "shufflenet_v2_x1_5": ("shufflenet_v2", {"alpha": 1.5, "impl": "torchvision"}),
       "shufflenet_v2_x2_0": ("shufflenet_v2", {"alpha": 2.0, "impl": "torchvision"}),
       "squeezenet1_0": ("squeezenet1_0", {}), "squeezenet1_1": ("squeezenet1_1", {}),
       "resnet50": ("resnet50", {"variant": "v1.5"}), "vgg16": ("vgg16", {"classifier": "adaptive"}),
       "alexnet": ("alexnet", {"variant": "torchvision", "classifier": "adaptive"})}


def factories(names, timm_names):
    """(label, source, zero-argument constructor) per model."""
    import torchvision
    out = []
    for n in names:
        kw = {"aux_logits": False, "init_weights": True} if n == "googlenet" else {}
        out.append((n, "torchvision", lambda n=n, kw=kw: torchvision.models.get_model(n, weights=None, **kw)))
        if n == "googlenet":
            out.append(("googlenet(aux_logits=True)", "torchvision",
                        lambda: torchvision.models.get_model("googlenet", weights=None, init_weights=True)))
    try:
        import timm
    except ImportError:
        print("timm is not installed: timm models skipped")
        return out
    for n in timm_names:
        if timm.is_model(n):
            out.append((n, "timm", lambda n=n: timm.create_model(n, pretrained=False)))
        else:
            print(f"timm {timm.__version__} has no {n}: skipped")
    return out


def randomize_bn(m, torch):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) and mod.running_mean is not None:
                c = mod.running_mean.shape
                mod.running_mean.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                if mod.affine:
                    mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
                    mod.bias.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="comma list (default: all)")
    ap.add_argument("--sizes", default="224x224,320x240", help="HxW list; the first is also the numerics size")
    ap.add_argument("--no-numerics", dest="numerics", action="store_false")
    ap.add_argument("--trace", default="auto", choices=("auto", "fx", "export"))
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    import costmodel
    from costmodel.torch_import import from_torch

    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in a.sizes.split(",")]
    pick = set(a.models.split(",")) if a.models else None
    tv = [n for n in TORCHVISION if pick is None or n in pick]
    tm = [n for n in TIMM if pick is None or n in pick]
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, trace={a.trace}, "
          f"{torch.get_num_threads()} threads")
    head = f"{'model':28s} {'size':>8s} {'params_with_bn':>15s} {'=params()':>9s} {'2*madds':>14s} " \
           f"{'=FlopCounter':>12s} {'import s':>8s} {'numerics (max rel err)':>24s} unused"
    print(head)
    print("-" * len(head))
    bad, zoo_rows = [], []
    for label, _source, make in factories(tv, tm):
        torch.manual_seed(0)
        m = make().eval()
        randomize_bn(m, torch)
        n_params = sum(p.numel() for p in m.parameters())
        meta_model = copy.deepcopy(m).to("meta")
        for i, (h, w) in enumerate(sizes):
            size = (3, h, w)
            t0 = time.perf_counter()
            graph, weights = from_torch(m, size, return_weights=True, trace=a.trace, name=label)
            dt = time.perf_counter() - t0
            t = costmodel.analyze(graph).totals
            with FlopCounterMode(display=False) as fc:
                meta_model(torch.empty((1,) + size, device="meta"))
            unused = graph.meta.get("unused_parameters", 0)
            p_ok = t["params_with_bn"] + unused == n_params and (unused == 0 or "aux" in label)
            f_ok = 2 * t["madds"] == fc.get_total_flops()
            num = ""
            if a.numerics and i == 0:
                x = np.random.default_rng(0).standard_normal((1,) + size).astype(np.float32)
                y = costmodel.execute(graph, x, weights=weights)
                with torch.no_grad():
                    ref = m(torch.from_numpy(x)).numpy()
                scale = float(np.abs(ref).max())
                err = float(np.abs(y - ref).max()) / scale
                close = np.allclose(y, ref, rtol=1e-4, atol=1e-4 * scale)
                num = f"{err:.1e} {'allclose' if close else 'DIFFERS'}"
                if not close:
                    bad.append(f"{label} numerics {err:.1e}")
            print(f"{label:28s} {h:>4d}x{w:<3d} {t['params_with_bn']:>15,d} {str(p_ok):>9s} {2 * t['madds']:>14,d} "
                  f"{str(f_ok):>12s} {dt:>8.2f} {num:>24s} {unused or ''}")
            if not (p_ok and f_ok):
                bad.append(f"{label} {h}x{w}: params {t['params_with_bn']} (+{unused} unused) vs {n_params}, "
                           f"2*madds {2 * t['madds']} vs FlopCounterMode {fc.get_total_flops()}")
            if label in ZOO and (h, w) == (224, 224):
                zname, kw = ZOO[label]
                z = costmodel.analyze(costmodel.build(zname, res=224, **kw)).totals
                zoo_rows.append((label, zname, kw, t, z))
        del meta_model
    print()
    print("imported torchvision model vs costmodel.build (the zoo's analytical graph), at 224x224:")
    for label, zname, kw, t, z in zoo_rows:
        args = ", ".join(f"{k}={v}" for k, v in kw.items())
        same = (t["params_with_bn"], t["madds"]) == (z["params_with_bn"], z["madds"])
        diff = "" if same else (f"  DIFFERS: params_with_bn {t['params_with_bn'] - z['params_with_bn']:+,d}, "
                                f"madds {t['madds'] - z['madds']:+,d}")
        flops = "flops equal" if t["flops"] == z["flops"] else f"flops {t['flops'] - z['flops']:+,d} (not compared)"
        print(f"  {label:20s} {zname}({args}): params_with_bn {t['params_with_bn']:,d} vs {z['params_with_bn']:,d}, "
              f"madds {t['madds']:,d} vs {z['madds']:,d} {'equal' if same else ''}{diff}; {flops}")
        if not same:
            bad.append(f"{label} vs zoo {zname}")
    print()
    print("all exact" if not bad else "differences:\n  " + "\n  ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
