"""MobileNetV2 paper section 6 heads (arXiv 1801.04381v4), composable with the MobileNet backbones
(``--head ssd|ssdlite|deeplabv3``, ``--output-stride 8|16|32``, ``--aspp/--no-aspp``).

SSD / SSDLite (Tables 5, 6; TF object detection API ``ssd_mobilenet_v{1,2}_feature_extractor`` +
``multi_resolution_feature_maps`` + ``ConvolutionalBoxPredictor``; 320x320 input):

* feature maps: two backbone maps (V2: ``layer_15/expansion_output``, 576 ch at output stride 16,
  and ``layer_19``, the 1280 conv at 32; V1: ``Conv2d_11_pointwise`` 512 and ``Conv2d_13_pointwise``
  1024), then four extra layers of depth 512, 256, 256, 128: 1x1 conv to depth/2, then a 3x3/2
  conv (SSD) or depthwise 3x3/2 + 1x1 (SSDLite), each with BN + ReLU6; widths
  ``max(int(d * alpha), 16)``;
* per map a box predictor: box conv to A x 4 and class conv to A x (classes + background), both
  biased without BN; SSD: regular k x k (k = 3), SSDLite: depthwise 3x3 (BN + ReLU6) + 1x1;
  A = 3 anchors on the first map (``reduce_boxes_in_lowest_layer``) and 6 on the others (aspect
  ratios 1, 2, 1/2, 3, 1/3 and an interpolated scale);
* outputs: box encodings (anchors x 4) and class predictions (anchors x slots), each the concat
  of the flattened per-map predictions.
* class slots (``head_classes``): 81 = the paper's "80 classes" (COCO) + the background slot the
  API adds; the API's COCO configs say ``num_classes: 90`` (label-map ids), i.e. 91 slots.

Mobile DeepLabv3 (Table 7; tensorflow/models research/deeplab ``model.py``, 513x513 eval crop):

* backbone output stride 8 or 16 by TF-slim's ``output_stride`` rule (``atrous``);
* ASPP: image pooling (global average pool, 1x1 conv 256, bilinear upsample), a 1x1 conv 256 and,
  with ``--aspp``, three 3x3 atrous convs 256 at rates 6/12/18 (OS16) or 12/24/36 (OS8); concat,
  1x1 conv 256 (all with BN + ReLU), dropout; ``--no-aspp`` keeps image pooling and the 1x1 conv
  (DeepLab's MobileNetV2 setting: no ``atrous_rates``);
* logits: biased 1x1 conv to 21 classes (PASCAL VOC incl. background), bilinear upsample to the input;
* multi-scale + flip evaluation (``MF``) runs the whole network once per scale 0.5..1.75 and
  once more flipped: ``multi_scale_resolutions``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence, Tuple

from ..errors import KnobError, SpecError
from ..graph import GraphBuilder
from ..ops import Dropout, Flatten, GlobalAvgPool, Upsample
from ..network import Knob
from ..spec import Block, Context, blk, block_type, get_block_type

HEADS = ("none", "ssd", "ssdlite", "deeplabv3")
SOURCE = ("arXiv 1801.04381v4 section 6; TF object detection API ssd_mobilenet_v1/v2 feature extractors "
          "and ConvolutionalBoxPredictor; tensorflow/models research/deeplab model.py")
#: the heads' own input resolution (Table 6: 320x320; DeepLab's eval crop 513x513)
HEAD_RES = {"ssd": 320, "ssdlite": 320, "deeplabv3": 513}
#: class slots: COCO's 80 classes + background (paper Table 5), PASCAL VOC's 20 + background
HEAD_CLASSES = {"ssd": 81, "ssdlite": 81, "deeplabv3": 21}

SSD_EXTRA_DEPTHS = (512, 256, 256, 128)
SSD_ANCHORS = (3, 6, 6, 6, 6, 6)
SSD_MIN_DEPTH = 16
BOX_CODE = 4

ASPP_DEPTH = 256
ASPP_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}
#: DeepLab's multi-scale evaluation scales (``--eval_scales``), each also run flipped
EVAL_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)

HEAD_KNOBS = (
    Knob("head", "none", HEADS, "none = the classifier; ssd, ssdlite (320x320); deeplabv3 (513x513)"),
    Knob("output_stride", "auto", (8, 16, 32),
         "backbone output stride by dilation (auto: 16 with deeplabv3, else 32)"),
    Knob("aspp", "auto", (True, False), "deeplabv3's three atrous 3x3 ASPP convs (auto: on with deeplabv3)"),
    Knob("head_classes", 0, None, "head class slots incl. background (0 = 81 for SSD, 21 for DeepLab)"),
)
FEATURE_KNOB = Knob("feature", "last", ("last", "second_last"),
                    "deeplabv3 on the last map (1280) or the second last (320, the paper's MNet V2*)")


def derive(knobs: dict) -> dict:
    """Fill the head-dependent defaults (output stride, ASPP, class slots) and reject knobs
    that do not apply to the chosen head. Idempotent; the registry's ``derive`` hook."""
    k = {n: (None if v == "auto" else v) for n, v in knobs.items()}
    head = k.get("head", "none")
    if head not in HEADS:
        raise KnobError(f"--head {head!r} is not supported; accepted: {', '.join(HEADS)}")
    deeplab = head == "deeplabv3"
    if not deeplab and k.get("aspp") is not None:
        raise KnobError(f"--aspp/--no-aspp applies only to --head deeplabv3, got --head {head}")
    if not deeplab and k.get("feature", "last") != "last":
        raise KnobError(f"--set feature={k['feature']} applies only to --head deeplabv3, got --head {head}")
    if head in ("ssd", "ssdlite") and k.get("output_stride") not in (None, 32):
        raise KnobError(f"--output-stride {k['output_stride']} does not apply to --head {head} (it reads the "
                        f"backbone at output strides 16 and 32); use it with deeplabv3 or no head")
    if deeplab and k.get("output_stride") not in (None,) + tuple(ASPP_RATES):
        raise KnobError(f"--head deeplabv3 needs --output-stride 8 or 16, got {k['output_stride']}")
    hc = k.get("head_classes") or 0
    if hc < 0 or (hc and head == "none"):
        raise KnobError(f"--set head_classes={hc} needs a --head and a positive count; the classifier's "
                        f"class count is --classes")
    k["output_stride"] = k.get("output_stride") or (16 if deeplab else 32)
    k["aspp"] = (True if k.get("aspp") is None else bool(k["aspp"])) if deeplab else None
    k["head_classes"] = hc or HEAD_CLASSES.get(head)
    return k


def head_classes(knobs: dict, classes, network: str):
    """The class count of the graph these knobs (``derive``'s, defaults filled in) build, or None
    without a head: the head's class slots (``head_classes``), which replace the classifier. So
    ``classes`` (--classes, the classifier's count) is refused with a head, unless it is that
    count, None or 1000: the classifier's default, which callers that do not know of heads pass on
    (``registry.configure`` fills it in before this is asked)."""
    slots = knobs.get("head_classes") if knobs.get("head", "none") != "none" else None
    if slots is None or classes in (None, 1000, slots):
        return slots
    raise KnobError(f"{network}: --classes {classes} does not apply to --head {knobs['head']}, which replaces the "
                    f"classifier (--classes counts its classes); the head's class slots incl. background ({slots}) "
                    f"are --set head_classes=N")


def head_res(knobs: dict):
    """The registry's ``res_for`` hook: 320 for SSD heads, 513 for DeepLab, else the network's."""
    return HEAD_RES.get(knobs.get("head", "none"))


def scale_dimension(dim: int, scale: float) -> int:
    """DeepLab's ``scale_dimension``: int((dim - 1) * scale + 1) (513 -> 257, 385, ..., 897)."""
    return int((float(dim) - 1.0) * scale + 1.0)


def multi_scale_resolutions(res: int = 513, scales: Sequence[float] = EVAL_SCALES) -> Tuple[int, ...]:
    """Input sizes of DeepLab's multi-scale evaluation; with flipping each runs twice."""
    return tuple(scale_dimension(res, s) for s in scales)


def space_to_batch_madds(graph) -> int:
    """Mult-Adds with every dilated conv counted on the grid TensorFlow computes it on.

    ``tf.nn.convolution`` / ``depthwise_conv2d`` with rate r > 1 run as space_to_batch + a VALID
    conv + batch_to_space: SAME padding (k - 1) r is added, the end padded further to a multiple
    of r, and the conv evaluates P - r (k - 1) positions per axis (P the padded size) before the
    extra ones are cropped: 33 -> 36 for k = 3 at rates 6, 12 and 18. A profiler that counts the
    Conv2D ops (as DeepLab's published figures appear to) sees those positions. Other ops as
    ``madds``."""
    total = 0
    for n in graph.nodes:
        m = n.op.madds(n.in_shapes, n.out_shapes)
        op = n.op
        if op.kind == "conv2d" and op.dilation != (1, 1) and op.stride == (1, 1):
            _, h, w = n.in_shapes[0]
            _, ho, wo = n.out_shapes[0]
            grid = [-(-(size + (k - 1) * r) // r) * r - (k - 1) * r
                    for size, k, r in ((h, op.kernel[0], op.dilation[0]), (w, op.kernel[1], op.dilation[1]))]
            m = m // (ho * wo) * grid[0] * grid[1]
        total += m
    return total


# ----------------------------------------------------------------------------- spec transforms
def _dilate(b: Block, rate: int) -> Block:
    if rate == 1 or b.args.get("k", 3) == 1:  # TF-slim applies no rate to 1x1 convs
        return b
    if "dilation" not in get_block_type(b.type).params:
        raise SpecError(f"block {b.name or b.type} cannot be dilated for an output stride")
    return replace(b, args={**b.args, "dilation": rate})


def atrous(blocks: Sequence[Block], output_stride: int) -> Tuple[Block, ...]:
    """TF-slim's ``output_stride`` rule (mobilenet.py, mobilenet_v1.py, used by DeepLab): once the
    running stride equals ``output_stride``, every later stride becomes 1 and the atrous rate is
    multiplied by it; a layer's k x k convs use the rate in force before its own stride. A
    repeated block whose stride is removed is split: first repeat, then the others."""
    out, current, rate = [], 1, 1
    for b in blocks:
        s = b.args.get("s", 1)
        if current != output_stride:
            current *= s
            out.append(b)
            continue
        if s == 1:
            out.append(_dilate(b, rate))
            continue
        first = replace(b, args={**b.args, "s": 1}, repeat=1, name=b.name if b.count == 1 else None)
        out.append(_dilate(first, rate))
        rate *= s
        if b.count > 1:
            out.append(_dilate(replace(b, args={**b.args, "s": 1}, repeat=b.count - 1), rate))
    if current < output_stride:
        raise SpecError(f"output stride {output_stride} is larger than the network's {current}")
    return tuple(out)


def split_expansion(b: Block, name: str) -> Tuple[Block, ...]:
    """An inverted-residual block whose first repeat's expansion output is tapped (TF-slim
    ``layer_N/expansion_output``): an ``ir_expand`` block named ``name``, the rest of that repeat as
    an ``ir`` with t = 1 (no second expansion), then the other repeats. Same nodes and counts;
    the first repeat must have no shortcut (stride 2)."""
    if b.type != "ir" or b.args.get("s", 1) == 1 or "t" not in b.args:
        raise SpecError("split_expansion needs a strided ir block with an expansion ratio t")
    rest = {k: v for k, v in b.args.items() if k not in ("t",)}
    out = (blk("ir_expand", name=name, t=b.args["t"], act=b.args.get("act", "relu6")),
           Block("ir", {**rest, "t": 1}))
    if b.count > 1:
        out += (replace(b, args={**b.args, "s": 1}, repeat=b.count - 1),)
    return out


def ssd_block(taps: Sequence[str], knobs: dict) -> Block:
    """The SSD / SSDLite head block reading the two named backbone maps."""
    return blk("ssd_head", name="head", inputs=tuple(taps), lite=knobs["head"] == "ssdlite",
               classes=knobs["head_classes"])


def deeplab_blocks(backbone: Sequence[Block], knobs: dict) -> Tuple[Block, ...]:
    """Backbone at the chosen output stride + the DeepLabv3 head."""
    os_ = knobs["output_stride"]
    rates = ASPP_RATES[os_] if knobs["aspp"] else ()
    return atrous(backbone, os_) + (blk("deeplab_head", name="head", rates=rates, classes=knobs["head_classes"]),)


# ----------------------------------------------------------------------------- block types
@block_type("ir_expand")
def expansion(g: GraphBuilder, x: str, ctx: Context, *, t: float, act: str = "relu6") -> str:
    """Inverted-residual expansion alone: 1x1 conv to round(t x C_in) + BN + act (a tap point)."""
    return g.conv(x, int(round(g.shape(x)[0] * t)), 1, act=act, name="")


@block_type("ssd_head", multi_input=True)
def ssd_head(g: GraphBuilder, xs: Sequence[str], ctx: Context, *, lite: bool = False,
             depths: Sequence[int] = SSD_EXTRA_DEPTHS, anchors: Sequence[int] = SSD_ANCHORS, classes: int = 81,
             box_code: int = BOX_CODE, kernel: int = 3, act: str = "relu6", min_depth: int = SSD_MIN_DEPTH):
    """SSD (lite=False) or SSDLite prediction layers on the input maps: extra layers (1x1 to
    d/2, then 3x3/2 to d, or depthwise 3x3/2 + 1x1) and per map a box (A x box_code) and a class
    (A x classes) conv, biased. Returns (box encodings, class predictions), flattened and concatenated.
    Mult-Adds per SSDLite predictor conv: H W (9 C + C A n); params 9 C + C A n + A n."""
    maps = list(xs)
    if len(maps) + len(depths) != len(anchors):
        raise SpecError(f"ssd_head: {len(maps)} input maps + {len(depths)} extra layers need as many anchor "
                        f"counts, got {len(anchors)}")
    x = maps[-1]
    for i, d in enumerate(depths, 1):
        rule = f"floor_min{min_depth}"  # TF-slim: max(int(depth * alpha), min_depth)
        mid, out = ctx.ch(d / 2, rule=rule), ctx.ch(d, rule=rule)
        with g.scope(f"extra{i}"):
            y = g.conv(x, mid, 1, act=act, name="reduce")
            if lite:
                y = g.conv(y, mid, 3, 2, groups=mid, padding="same", act=act, name="dw")
                y = g.conv(y, out, 1, act=act, name="pw")
            else:
                y = g.conv(y, out, 3, 2, padding="same", act=act, name="conv")
        maps.append(y)
        x = y
    boxes, scores = [], []
    for i, (m, a) in enumerate(zip(maps, anchors)):
        c = g.shape(m)[0]
        with g.scope(f"predictor{i}"):
            for kind, n, acc in (("box", box_code, boxes), ("class", classes, scores)):
                if lite:
                    y = g.conv(m, c, 3, groups=c, padding="same", act=act, name=f"{kind}_dw")
                    y = g.conv(y, a * n, 1, bn=False, name=kind)
                else:
                    y = g.conv(m, a * n, kernel, padding="same", bn=False, name=kind)
                acc.append(g.add(Flatten(), y, f"{kind}_flat"))
    return (g.concat(boxes, "box_encodings"), g.concat(scores, "class_predictions"))


@block_type("deeplab_head")
def deeplab_head(g: GraphBuilder, x: str, ctx: Context, *, rates: Sequence[int] = ASPP_RATES[16],
                 depth: int = ASPP_DEPTH, classes: int = 21, image_pooling: bool = True, act: str = "relu") -> str:
    """DeepLabv3 ASPP + logits: [image pooling (gap, 1x1 conv, upsample)], 1x1 conv, 3x3 atrous
    convs at ``rates`` (all ``depth`` wide, BN + act), concat, 1x1 conv, dropout; logits = biased
    1x1 conv to ``classes``, bilinear upsample to the input resolution."""
    c, h, w = g.shape(x)
    branches = []
    if image_pooling:
        with g.scope("image_pooling"):
            p = g.add(GlobalAvgPool(), x, "pool")
            p = g.conv(p, depth, 1, act=act, name="conv")
            branches.append(g.add(Upsample((h, w)), p, "upsample"))
    branches.append(g.conv(x, depth, 1, act=act, name="aspp0"))
    for i, r in enumerate(rates, 1):
        branches.append(g.conv(x, depth, 3, dilation=r, padding="same", act=act, name=f"aspp{i}"))
    y = g.concat(branches, "concat") if len(branches) > 1 else branches[0]
    y = g.conv(y, depth, 1, act=act, name="concat_projection")
    y = g.add(Dropout(0.1), y, "dropout")
    y = g.conv(y, classes, 1, bn=False, name="logits")
    return g.add(Upsample(ctx.res), y, "upsample")
