"""ProxylessNAS (Cai et al. 2019, arXiv 1812.00332): the networks specialized for the mobile
phone (Pixel 1), the GPU (V100) and the CPU (Xeon), as released.

The official code (mit-han-lab/proxylessnas ``proxyless_nas/model_zoo.py``) downloads each
network's ``net.config`` JSON at run time; the files are not in the repository. The per-layer
choices below are those configs as osmr's pytorchcv port transcribes them
(``pytorchcv/models/proxylessnas.py``: channels, kernel sizes, expansion ratios and the searched
zero layers, decoded from ``proxyless_{mobile,gpu,cpu}.config``); its asserted parameter counts
(4,080,512 / 7,119,848 / 4,361,648) are the official training logs' "Total training params"
(4.08M, 7.12M, 4.36M; ``logs/imagenet_*_log.txt``) to their precision.

Network (``ProxylessNASNets``): conv 3x3 / 2 + BN + ReLU6, one MBConv (k3, expansion 1, no
shortcut), then the searched stages, each a list of units: an MBConv (1x1 expansion to
round(C_in x e) + BN + ReLU6, omitted at e = 1; depthwise k x k / s + BN + ReLU6; 1x1 projection +
BN; identity shortcut except in a stage's first unit) or the zero op (the unit is skipped; its
shortcut passes the input on). Stride 2 in the first unit of the 32/24, 40/56/48, 80/112/88 and
192/256/216 stages. Then the 1x1 feature-mix conv + BN + ReLU6, global pool, dropout, classifier.

Every unit is written out (a zero unit as ``None``): each is one searched layer, so ProxylessNAS
has no depth multiplier, and only the released widths (alpha = 1) are defined.
"""
from ..network import Network, register
from ..spec import NetSpec, blk

SOURCE = ("arXiv 1812.00332; mit-han-lab/proxylessnas model_zoo.py (net configs); "
          "osmr pytorchcv proxylessnas.py (the configs transcribed)")

# (width, stride of the first unit, [(kernel, expansion) or None (zero op) per unit]); dropout: the
# official training runs' classifier dropout (README: mobile 0.1, GPU 0.3, CPU 0.2; none at inference)
MOBILE = {"stem": 32, "last": 1280, "dropout": 0.1, "stages": (
    (16, 1, [(3, 1)]),
    (32, 2, [(5, 3), (3, 3), None, None]),
    (40, 2, [(7, 3), (3, 3), (5, 3), (5, 3)]),
    (80, 2, [(7, 6), (5, 3), (5, 3), (5, 3)]),
    (96, 1, [(5, 6), (5, 3), (5, 3), (5, 3)]),
    (192, 2, [(7, 6), (7, 6), (7, 3), (7, 3)]),
    (320, 1, [(7, 6)]),
)}
GPU = {"stem": 40, "last": 1728, "dropout": 0.3, "stages": (
    (24, 1, [(3, 1)]),
    (32, 2, [(5, 3), None, None, None]),
    (56, 2, [(7, 3), None, None, (3, 3)]),
    (112, 2, [(7, 6), None, None, (5, 3)]),
    (128, 1, [(5, 6), None, (3, 3), (5, 3)]),
    (256, 2, [(7, 6), (7, 6), (7, 6), (5, 6)]),
    (432, 1, [(7, 6)]),
)}
CPU = {"stem": 40, "last": 1432, "dropout": 0.2, "stages": (
    (24, 1, [(3, 1)]),
    (32, 2, [(3, 6), (3, 3), (3, 3), (3, 3)]),
    (48, 2, [(3, 6), (3, 3), (3, 3), (5, 3)]),
    (88, 2, [(3, 6), None, None, (3, 3)]),
    (104, 1, [(5, 6), (3, 3), (3, 3), (3, 3)]),
    (216, 2, [(5, 6), (5, 3), (5, 3), (3, 3)]),
    (360, 1, [(5, 6)]),
)}


def blocks_of(cfg) -> tuple:
    """The spec rows of one ProxylessNAS config: zero units are left out (they compute nothing)."""
    rows = [blk("conv", c=cfg["stem"], k=3, s=2, act="relu6")]
    for c, stride, units in cfg["stages"]:
        first = True
        for unit in units:
            if unit is not None:
                k, e = unit
                rows.append(blk("ir", c=c, t=e, k=k, s=stride if first else 1, act="relu6"))
            first = False
    return tuple(rows) + (blk("conv", c=cfg["last"], k=1, act="relu6"), blk("gap"), blk("dropout", p=cfg["dropout"]),
                          blk("fc"))


def _register(name, cfg, description):
    def spec(alpha: float = 1.0) -> NetSpec:
        return NetSpec(name, blocks_of(cfg), width="divisible8", source=SOURCE)

    register(Network(name, "ProxylessNAS", spec, description, "arXiv 1812.00332", alphas=(1.0,),
                     alpha_help="the released width only"))


_register("proxylessnas_mobile", MOBILE, "ProxylessNAS specialized for the mobile phone (Pixel 1)")
_register("proxylessnas_gpu", GPU, "ProxylessNAS specialized for the GPU (V100)")
_register("proxylessnas_cpu", CPU, "ProxylessNAS specialized for the CPU (Xeon)")
