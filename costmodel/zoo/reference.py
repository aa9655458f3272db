"""The reference networks the efficient-CNN papers compare against, each from its own paper.

- ``vgg16``: Simonyan & Zisserman 2014 (arXiv 1409.1556) Table 1 configuration D: 13 convs 3x3
  (pad 1, biased, ReLU, no BN), five 2x2/2 max pools, FC 4096-4096-classes (biased). Equals
  torchvision ``vgg16`` (138,357,544 parameters).
- ``alexnet``: Krizhevsky et al. 2012 section 3.5 / Fig. 2: 96-256-384-384-256 channels, conv2,
  conv4 and conv5 in two groups (the two-GPU model; conv3 and the FCs connect across both),
  overlapping 3x3/2 max pools after conv1, conv2 and conv5, FC 4096-4096-classes, biased layers,
  no BN. LRN is omitted (it has no parameters; its arithmetic is not counted). Input: 224 with 2
  pixels of padding in conv1 (as torchvision), which gives the paper's 55x55 and exactly the
  counts of Caffe's 227 crop without padding. ``--variant torchvision`` is torchvision's single-
  tower model (64-192-384-256-256, no groups; 61,100,840 parameters), which is not the paper's.
- ``googlenet``: Szegedy et al. 2014 (arXiv 1409.4842) Table 1: Inception v1 without BN (biased
  convs, ReLU), 7x7/2 stem, 3x3/2 max pools with ceil rounding (Caffe), the 5x5 branches as 5x5,
  LRN omitted, global average pool (the paper's 7x7/1 at 224), dropout 0.4, FC to the classes.
  ``--set aux_logits=true`` adds the two auxiliary classifiers of section 5 (training only).
  torchvision's ``googlenet`` (BN, 3x3 in the '5x5' branches) is a different model.
- ``resnet50``: He et al. 2015 (arXiv 1512.03385) Table 1, 50-layer, as torchvision builds it
  (25,557,032 parameters). ``--variant v1.5`` (default, torchvision) puts the stride in the 3x3 conv
  of the bottleneck, ``v1`` (the paper and Caffe) in its first 1x1 conv; parameters are equal,
  Mult-Adds differ (4.09 G versus 3.86 G at 224).

The VGG and AlexNet classifiers read a fixed 7x7x512 / 6x6x256 map, as in their papers (224 input).
torchvision puts an adaptive average pool in front; where the final map is a multiple k of that
size it is exactly a k x k average pool and is modeled as one; other resolutions are an error.
"""
from typing import Optional

from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops import AvgPool, Linear, MaxPool
from ..registry import Knob, Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCES = {
    "vgg16": "arXiv 1409.1556 Table 1 (D); torchvision vgg.py",
    "alexnet": "Krizhevsky et al. NIPS 2012 section 3.5, Fig. 2; torchvision alexnet.py (variant torchvision)",
    "googlenet": "arXiv 1409.4842 Table 1 and section 5; Caffe bvlc_googlenet",
    "resnet50": "arXiv 1512.03385 Table 1; torchvision resnet.py (v1.5)",
}
NO_ALPHA = dict(alphas=(1.0,), alpha_help="not defined (1.0 only)")


# ----------------------------------------------------------------------------- block types
@block_type("fixed_map")
def fixed_map(g: GraphBuilder, x: str, ctx: Context, *, size: int) -> str:
    """Bring the final map to size x size for a classifier trained on it: nothing when it already
    is; a k x k / k average pool when it is k times larger (torchvision's adaptive average pool is
    exactly that there); anything else is an error naming the resolutions that work."""
    c, h, w = g.shape(x)
    if (h, w) == (size, size):
        return x
    if h == w and h % size == 0:
        return g.add(AvgPool(h // size, h // size), x, "")
    raise SpecError(f"the classifier needs a {size}x{size} map (or a multiple), got {h}x{w} at resolution "
                    f"{ctx.res}; use a resolution such as {ctx.res * size // h} or {2 * ctx.res * size // h}")


@block_type("inception")
def inception(g: GraphBuilder, x: str, ctx: Context, *, c1: int, c3r: int, c3: int, c5r: int, c5: int,
              pp: int) -> str:
    """GoogLeNet Inception module (paper Fig. 2b, Table 1 columns): 1x1 (c1); 1x1 reduce (c3r) ->
    3x3 (c3); 1x1 reduce (c5r) -> 5x5 (c5); 3x3/1 max pool -> 1x1 pool proj (pp); each conv biased
    + ReLU; concatenated to c1 + c3 + c5 + pp channels."""
    def conv(y, c, k, name):
        return g.conv(y, ctx.ch(c), k, bn=False, bias=True, act="relu", name=name)

    b1 = conv(x, c1, 1, "1x1")
    b3 = conv(conv(x, c3r, 1, "3x3_reduce"), c3, 3, "3x3")
    b5 = conv(conv(x, c5r, 1, "5x5_reduce"), c5, 5, "5x5")
    bp = conv(g.add(MaxPool(3, 1, 1), x, "pool"), pp, 1, "pool_proj")
    return g.concat([b1, b3, b5, bp], "output")


@block_type("inception_aux")
def inception_aux(g: GraphBuilder, x: str, ctx: Context) -> str:
    """GoogLeNet auxiliary classifier (paper section 5): avg pool 5x5/3, 1x1 conv 128 + ReLU,
    FC 1024 + ReLU, dropout 0.7, FC to the classes. A side branch: returns its input, so the
    next block continues the main path."""
    y = g.add(AvgPool(5, 3, ceil_mode=True), x, "pool")
    y = g.conv(y, 128, 1, bn=False, bias=True, act="relu", name="conv")
    y = g.add(Linear(1024), g.add_flatten(y) if hasattr(g, "add_flatten") else _flatten(g, y), "fc")
    y = g.act(y, "relu", "fc.relu")
    g.add(Linear(ctx.classes), y, "classifier")
    return x


def _flatten(g: GraphBuilder, y: str) -> str:
    from ..ops import Flatten
    return g.add(Flatten(), y, "flatten")


@block_type("bottleneck")
def bottleneck(g: GraphBuilder, x: str, ctx: Context, *, c: int, s=1, expansion: int = 4,
               stride_at: str = "3x3") -> str:
    """ResNet bottleneck (paper Fig. 5 right): 1x1 c, 3x3 c, 1x1 expansion*c, BN after each,
    ReLU after the first two and after the sum; projection shortcut 1x1/s + BN where the stride or
    width changes. ``stride_at``: '3x3' (v1.5, torchvision) or '1x1' (v1, the paper / Caffe)."""
    if stride_at not in ("1x1", "3x3"):
        raise SpecError(f"bottleneck stride_at must be '1x1' or '3x3', got {stride_at!r}")
    c_in = g.shape(x)[0]
    width, c_out = ctx.ch(c), ctx.ch(c) * expansion
    s1, s3 = (s, 1) if stride_at == "1x1" else (1, s)
    y = g.conv(x, width, 1, s1, act="relu", name="conv1")
    y = g.conv(y, width, 3, s3, act="relu", name="conv2")
    y = g.conv(y, c_out, 1, act=None, name="conv3")
    short = x
    if s != 1 or c_in != c_out:
        short = g.conv(x, c_out, 1, s, act=None, name="downsample")
    return g.act(g.add_tensors([y, short], "add"), "relu", "relu")
