"""MobileNetV2 (arXiv 1801.04381v4) section 6: Tables 5 (SSD vs SSDLite prediction layers),
6 (COCO detectors at 320x320) and 7 (Mobile DeepLabv3 at 513x513); rows in data/mobilenet_v2.csv.

Table 5's "prediction layers" are the nodes of the head block (``params@head``, ``madds@head``).
Rules registered here:

- ``madds_mf``: DeepLab's multi-scale + flip evaluation: the whole network at every input size of
  ``heads.multi_scale_resolutions`` (scales 0.5..1.75 of the row's ``res``), twice each (flipped),
  Mult-Adds summed;
- ``madds_tf`` / ``madds_tf_mf``: the same with dilated convs counted on TensorFlow's
  space-to-batch grid (``heads.space_to_batch_madds``), the reading DeepLab's published Mult-Adds
  follow.
"""
from __future__ import annotations

from .rules import Target, counts, register_rule

S2B = "Mult-Adds with dilated convs on TensorFlow's space-to-batch grid"


def _scales(t: Target):
    from ..zoo.heads import multi_scale_resolutions
    return multi_scale_resolutions(int(dict(t.knobs)["res"]))


def _tf(t: Target, **changes) -> int:
    from ..zoo.heads import space_to_batch_madds
    return space_to_batch_madds(t.graph(**changes))


register_rule("madds_mf", "Mult-Adds summed over the multi-scale + flip evaluation",
              lambda t: sum(2 * t.counts(res=r)["madds"] for r in _scales(t)))
register_rule("madds_tf", S2B, _tf)
register_rule("madds_tf_mf", S2B + ", summed over the multi-scale + flip evaluation",
              lambda t: sum(2 * _tf(t, res=r) for r in _scales(t)))


def notes(tables: dict) -> None:
    """Table 5: the heads with the TF OD API's 91 class slots; Table 7: the MF passes."""
    from ..registry import build
    if "5" in tables:
        alt = {h: counts(build("mobilenet_v2", head=h, head_classes=91), "head") for h in ("ssd", "ssdlite")}
        tables["5"].notes.append(
            "Class slots: 81 = 80 COCO classes + background (the paper's '80 classes'); the TF OD API COCO "
            "configs' num_classes 90 gives 91 slots (--set head_classes=91): "
            + ", ".join(f"{'SSD' if h == 'ssd' else 'SSDLite'} {t['params'] / 1e6:.2f} M / {t['madds'] / 1e9:.3f} B"
                        for h, t in alt.items()) + ".")
    if "7" in tables:
        tables["7"].notes.append(
            "MF rows: DeepLab's multi-scale + flip evaluation runs the network at 257, 385, 513, 641, 769 and "
            "897 px (scale_dimension(513, s)), each twice; the Mult-Adds are summed over those 12 passes.")
