"""ShuffleNet V2 (arXiv 1807.11164) Tables 5 and 8 and the megvii release (data/shufflenet_v2.csv,
conventions as in ``shufflenet_v1``).

The paper's and the release's MFLOPs follow the official megvii unit (``impl=megvii``: Stage2's
downsampling unit keeps 24 channels on its left branch and outputs C_out - 24 on the right);
torchvision's unit (both branches C_out / 2) costs 0.9 / 3.2 / 7.5 M fewer Mult-Adds at 1x / 1.5x /
2x, shown in the notes. Table 6 (ResNet-50) and the accuracy and speed columns are data only.
"""
from __future__ import annotations

from .rules import Target, freeze

WIDTHS = (0.5, 1.0, 1.5, 2.0)
TITLES = {
    "Table 5": "ShuffleNet V2 Table 5: widths, MFLOPs and parameters",
    "Table 8": "ShuffleNet V2 Table 8: MFLOPs of ShuffleNet V2, V1 and MobileNet V1/V2",
    "release": "ShuffleNet V2 official release (megvii-model/ShuffleNet-Series)",
}


def notes(tables: dict) -> None:
    tv = {a: Target("shufflenet_v2", freeze(dict(alpha=a))).counts() for a in WIDTHS}
    mg = {a: Target("shufflenet_v2", freeze(dict(alpha=a, impl="megvii"))).counts() for a in WIDTHS}
    tables["Table 5"].notes.append(
        "torchvision's unit (impl=torchvision, the default): Mult-Adds "
        + " / ".join(f"{tv[a]['madds'] / 1e6:.2f}" for a in WIDTHS) + " M, params_with_bn "
        + " / ".join(f"{tv[a]['params_with_bn']:,}" for a in WIDTHS)
        + " (torchvision's parameters()); the official megvii unit: "
        + " / ".join(f"{mg[a]['madds'] / 1e6:.2f}" for a in WIDTHS) + " M, "
        + " / ".join(f"{mg[a]['params_with_bn']:,}" for a in WIDTHS) + " (FC without bias)")
