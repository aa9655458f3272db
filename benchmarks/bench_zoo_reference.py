"""Compare costmodel's EfficientNet, EfficientNet-Lite, MnasNet and GhostNet with the reference
implementations themselves (torchvision, timm), exactly.

    PYTHONPATH=. /work/venv-tv/bin/python benchmarks/bench_zoo_reference.py [--only NAME] [--csv FILE]

Needs torchvision and timm (a separate environment: they do not install beside the CI's torch).
Each reference model is built with random weights (no download) on PyTorch's meta device (shapes
only), and counted independently of costmodel: ``sum(p.numel() for p in model.parameters())`` and
PyTorch's FlopCounterMode conv/linear FLOPs / 2 (= Mult-Adds) on a 1 x 3 x H x W input, and the
residual connections (tensor + tensor adds on feature maps, counted by a dispatch mode). Those are
compared with costmodel's ``params_with_bn``, ``madds`` and ``add`` nodes for the same
configuration; the table prints both, their ratio and whether they are equal. Nothing is asserted
(benchmarks print): the confirmed figures are recorded in data/efficientnet.csv, data/mnasnet.csv
and data/ghostnet.csv (``--csv FILE`` writes them in that figures format), and the tests check
against those integers.

Reference models: torchvision for EfficientNet-B0..B7 and MnasNet-B1 (torchvision's MNASNet; its
version 1 checkpoints' fixed stem by the same patch torchvision applies when it loads one), timm
for EfficientNet-Lite, MnasNet-A1 (timm's semnasnet), MnasNet-small, GhostNet and other widths.
"""
import argparse
import csv
import io
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _tv():
    import torchvision
    from torchvision.models import efficientnet as tv_eff
    from torchvision.models import mnasnet as tv_mn
    return torchvision, tv_eff, tv_mn


def tv_efficientnet(width, depth, dropout=0.2):
    """torchvision EfficientNet with any width/depth multiplier (its own _efficientnet_conf)."""
    _, tv_eff, _ = _tv()
    setting, last = tv_eff._efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    return tv_eff.EfficientNet(setting, dropout, last_channel=last)


def tv_mnasnet(alpha, v1=False):
    """torchvision MNASNet (B1); ``v1``: patched as torchvision does when it loads a version 1
    checkpoint (stem 32 and first block 16 whatever alpha)."""
    _, _, tv_mn = _tv()
    import warnings
    m = tv_mn.MNASNet(alpha)
    if v1:
        with warnings.catch_warnings():  # "Your checkpoint was saved using the previous version"
            warnings.simplefilter("ignore", UserWarning)
            m._load_from_state_dict({}, "", {"version": 1}, False, [], [], [])
    return m


def timm_gen(fn_name, variant, **kw):
    from timm.models import efficientnet as te
    return getattr(te, fn_name)(variant, **kw)


def timm_model(name):
    import timm
    return timm.create_model(name, pretrained=False)


def timm_ghostnet(width):
    from timm.models import ghostnet
    return ghostnet._create_ghostnet("ghostnet_100", width=width)


#: known differences in residual adds (reference minus costmodel) and why; parameters and Mult-Adds never differ
ADDS_DIFF = {("mnasnet_small", ()): (1, "timm adds the first block's skip (its real 8 == 8 channels); the official "
                                       "code compares round_filters(16) with round_filters(8) and does not")}


def configs():
    """(costmodel network, knobs, reference label, reference constructor, resolutions)."""
    _, tv_eff, _ = _tv()
    import torchvision.models as tvm

    from costmodel.zoo.efficientnet import LITE_PARAMS, PARAMS
    out = []
    tv_res = {n: tv_eff.__dict__[f"EfficientNet_{n[-2:].upper()}_Weights"].IMAGENET1K_V1.transforms().crop_size[0]
              for n in PARAMS}
    for name, (w, d, res, p) in PARAMS.items():
        out.append((name, {}, f"torchvision {name}", lambda n=name: getattr(tvm, n)(weights=None),
                    sorted({224, res, tv_res[name]})))
    out.append(("efficientnet_b0", {"alpha": 1.03, "depth": 1.3, "impl": "torchvision"},
                "torchvision EfficientNet(width_mult=1.03, depth_mult=1.3)", lambda: tv_efficientnet(1.03, 1.3),
                [224]))
    out.append(("efficientnet_b0", {"alpha": 1.03, "depth": 1.3}, "timm _gen_efficientnet(1.03, 1.3)",
                lambda: timm_gen("_gen_efficientnet", "efficientnet_b0", channel_multiplier=1.03,
                                 depth_multiplier=1.3), [224]))
    out.append(("efficientnet_b3", {"alpha": 0.5, "depth": 0.5}, "timm _gen_efficientnet(0.5, 0.5)",
                lambda: timm_gen("_gen_efficientnet", "efficientnet_b3", channel_multiplier=0.5,
                                 depth_multiplier=0.5), [192]))
    for name, (w, d, res, p) in LITE_PARAMS.items():
        out.append((name, {}, f"timm {name}", lambda n=name: timm_model(n), sorted({224, res})))
    out.append(("efficientnet_lite0", {"alpha": 1.3, "depth": 2.0}, "timm _gen_efficientnet_lite(1.3, 2.0)",
                lambda: timm_gen("_gen_efficientnet_lite", "efficientnet_lite0", channel_multiplier=1.3,
                                 depth_multiplier=2.0), [224]))
    for a, tag in ((0.5, "0_5"), (0.75, "0_75"), (1.0, "1_0"), (1.3, "1_3")):
        out.append(("mnasnet_b1", {"alpha": a}, f"torchvision mnasnet{tag}",
                    lambda t=tag: getattr(tvm, f"mnasnet{t}")(weights=None), [224] if a != 1.0 else [160, 224]))
    for a in (0.5, 0.75, 1.3):
        out.append(("mnasnet_b1", {"alpha": a, "impl": "torchvision_v1"}, f"torchvision MNASNet({a}) version 1",
                    lambda a=a: tv_mnasnet(a, v1=True), [224]))
    for a, tag in ((0.5, "050"), (0.75, "075"), (1.0, "100"), (1.4, "140")):
        out.append(("mnasnet_a1", {"alpha": a}, f"timm semnasnet_{tag}", lambda t=tag: timm_model(f"semnasnet_{t}"),
                    [224] if a != 1.0 else [192, 224]))
    out.append(("mnasnet_a1", {"alpha": 0.35}, "timm _gen_mnasnet_a1(0.35)",
                lambda: timm_gen("_gen_mnasnet_a1", "semnasnet_050", channel_multiplier=0.35), [96, 224]))
    out.append(("mnasnet_b1", {"alpha": 1.4}, "timm mnasnet_140", lambda: timm_model("mnasnet_140"), [224]))
    out.append(("mnasnet_small", {}, "timm mnasnet_small", lambda: timm_model("mnasnet_small"), [224]))
    out.append(("mnasnet_small", {"alpha": 0.5}, "timm _gen_mnasnet_small(0.5)",
                lambda: timm_gen("_gen_mnasnet_small", "mnasnet_small", channel_multiplier=0.5), [224]))
    for a, tag in ((0.5, "050"), (1.0, "100"), (1.3, "130")):
        out.append(("ghostnet", {"alpha": a}, f"timm ghostnet_{tag}", lambda t=tag: timm_model(f"ghostnet_{t}"),
                    [224, 256]))
    out.append(("ghostnet", {"alpha": 0.7}, "timm GhostNet(width=0.7)", lambda: timm_ghostnet(0.7), [224]))
    return out


def _add_counter():
    """A dispatch mode counting tensor + tensor adds on feature maps (N, C, H, W with H W > 1): the
    residual connections (an SE gate's 1 x 1 hard-sigmoid arithmetic is not counted)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class AddCounter(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if (func.overloadpacket in (torch.ops.aten.add, torch.ops.aten.add_) and len(args) >= 2
                    and all(isinstance(a, torch.Tensor) for a in args[:2]) and out.dim() == 4
                    and out.shape[2] * out.shape[3] > 1):
                self.n += 1
            return out

    return AddCounter()


def reference_counts(make, res):
    """(parameters, conv/linear Mult-Adds, residual adds) of a reference model, on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device("meta"):
        model = make().eval()
        params = sum(p.numel() for p in model.parameters())
        x = torch.empty(1, 3, res, res)
    counter, adds = FlopCounterMode(display=False), _add_counter()
    with counter, adds, torch.no_grad():
        model(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return params, flops // 2, adds.n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="only configurations of this costmodel network")
    ap.add_argument("--csv", help="write the confirmed figures in data/'s figures format to this file")
    args = ap.parse_args(argv)
    import timm
    import torch

    import costmodel
    from costmodel.analysis import count_totals
    torchvision, _, _ = _tv()
    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}"
    print(f"# {versions}; reference counted on the meta device (random weights, no download)")
    header = ("network", "knobs", "res", "reference", "params ours", "params ref", "madds ours", "madds ref",
              "ratio", "adds ours", "adds ref", "equal")
    print(" | ".join(header))
    rows, n_equal, n = [], 0, 0
    for net, knobs, label, make, resolutions in configs():
        if args.only and net != args.only:
            continue
        for res in resolutions:
            start = time.perf_counter()
            p_ref, m_ref, a_ref = reference_counts(make, res)
            g = costmodel.build(net, res=res, **knobs)
            t = count_totals(g)
            adds = sum(1 for n in g.nodes if n.op.kind == "add")
            known, why = ADDS_DIFF.get((net, tuple(sorted(knobs.items()))), (0, ""))
            equal = (t["params_with_bn"], t["madds"], adds + known) == (p_ref, m_ref, a_ref)
            n_equal += equal
            n += 1
            ktext = ";".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in knobs.items())
            print(" | ".join(map(str, (net, ktext or "-", res, label, t["params_with_bn"], p_ref, t["madds"], m_ref,
                                       f"{t['madds'] / m_ref:.6f}", adds, a_ref, "yes" if equal else "NO")))
                  + (f" ({why})" if known else "") + f"   ({time.perf_counter() - start:.1f} s)", flush=True)
            if equal:
                lib = label.split()[0]
                ver = torchvision.__version__ if lib == "torchvision" else timm.__version__
                full = ";".join(filter(None, [ktext, f"res={res}"]))
                src = f"{lib} {ver.split('+')[0]} {' '.join(label.split()[1:])}"
                rows.append([src, "reference", label, net, full, "params", "params_with_bn", str(p_ref), "", "",
                             str(p_ref), ""])
                rows.append([src, "reference", label, net, full, "madds", "madds", str(m_ref), "", "", str(m_ref), ""])
    print(f"# {n_equal} of {n} configurations equal in parameters, Mult-Adds and residual adds "
          f"(ratio {n_equal / max(n, 1):.3f})")
    if args.csv:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        with open(args.csv, "w", encoding="utf-8") as f:
            f.write(buf.getvalue())
        print(f"# wrote {len(rows)} figures rows to {args.csv}")


if __name__ == "__main__":
    main()
