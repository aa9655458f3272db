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

The VGG and AlexNet classifiers are trained on a fixed 7x7x512 / 6x6x256 map (224 input). At
other resolutions they are evaluated densely, as VGG section 3.2 does: the first FC becomes a
7x7 (6x6) convolution, the others 1x1 convolutions, and the class score map is averaged; the
weights, hence the parameters, are the same at every resolution, and the input must give at least
the trained map (224 for VGG16, 223 for AlexNet). ``--set classifier=adaptive`` is torchvision's
reading instead: an adaptive average pool to the trained map before the FC layers, which accepts
any input the convolutions and pools accept (from 32 for VGG16, 63 for AlexNet: ``_min_res``); at
224 the two agree.
"""
from typing import Optional

from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops import AdaptiveAvgPool, AvgPool, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool
from ..network import Knob, Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCES = {
    "vgg16": "arXiv 1409.1556 Table 1 (D); torchvision vgg.py",
    "alexnet": "Krizhevsky et al. NIPS 2012 section 3.5, Fig. 2; torchvision alexnet.py (variant torchvision)",
    "googlenet": "arXiv 1409.4842 Table 1 and section 5; Caffe bvlc_googlenet",
    "resnet50": "arXiv 1512.03385 Table 1; torchvision resnet.py (v1.5)",
}
NO_ALPHA = dict(alphas=(1.0,), alpha_help="not defined (1.0 only)")


# ----------------------------------------------------------------------------- block types
@block_type("fc_dense")
def fc_dense(g: GraphBuilder, x: str, ctx: Context, *, c: Optional[int] = None, k: int = 1,
             act: Optional[str] = None) -> str:
    """A fully connected layer of a classifier trained on a k x k map (k = 1 after the first FC),
    c outputs (default: the classes), biased. On a vector or on exactly a k x k map: flatten +
    Linear, as trained. On a larger map: the same weights applied densely as a k x k convolution
    (valid padding; VGG section 3.2 'dense evaluation'), so the parameters do not change with the
    resolution. Mult-Adds: k^2 C_in c per output position."""
    n = ctx.classes if c is None else ctx.ch(c)
    shape = g.shape(x)
    if len(shape) == 3 and shape[1:] != (k, k):
        y = g.add(Conv2d(n, k, bias=True), x, "")
    else:
        if len(shape) == 3:
            x = g.add(Flatten(), x, "flatten")
        y = g.add(Linear(n), x, "")
    return g.act(y, act)


@block_type("score_average")
def score_average(g: GraphBuilder, x: str, ctx: Context) -> str:
    """End of a densely evaluated classifier: the class score map is averaged (global average
    pool, then flatten); a vector of scores (the trained input size) passes through unchanged."""
    if len(g.shape(x)) == 1:
        return x
    return g.add(Flatten(), g.add(GlobalAvgPool(), x, "pool"), "")


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
    """GoogLeNet auxiliary classifier (paper section 5): avg pool 5x5/3 to 4x4, 1x1 conv 128 +
    ReLU, FC 1024 + ReLU, dropout 0.7, FC to the classes. The FC is trained on a 4x4x128 map, so
    the pool always yields 4x4: the paper's 5x5/3 window where that gives 4x4 (the 14x14 maps of a
    224 input), else PyTorch's adaptive average pool to 4x4 (torchvision's reading), so that the
    parameters do not change with the resolution. A side branch: returns its input, so the next
    block continues the main path; its nodes count in the totals, its logits are not a graph output."""
    paper_pool = AvgPool(5, 3, ceil_mode=True)
    if paper_pool.infer((g.shape(x),))[0][1:] == (4, 4):
        y = g.add(paper_pool, x, "pool")
    else:
        y = g.add(AdaptiveAvgPool(4), x, "pool")
    y = g.conv(y, 128, 1, bn=False, bias=True, act="relu", name="conv")
    y = g.add(Linear(1024), g.add(Flatten(), y, "flatten"), "fc")
    y = g.act(y, "relu", "fc.relu")
    y = g.add(Dropout(0.7), y, "dropout")
    g.add(Linear(ctx.classes), y, "classifier")
    return x


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


# ----------------------------------------------------------------------------- VGG16
def _vgg_conv(name, c, n):
    return blk("conv", n=n, name=name, c=c, k=3, bn=False, bias=True)


def _maxpool(name, k=3, s=2, ceil_mode=False, padding=0):
    return blk("pool", name=name, kind="max", k=k, s=s, ceil_mode=ceil_mode, padding=padding)


def _adaptive_classifier(size, hidden=4096, p=0.5):
    """torchvision's reading: AdaptiveAvgPool2d((size, size)), flatten, then the same three FC
    layers as trained, at any input resolution (the pool is an identity at the trained size)."""
    return (
        blk("adaptive_pool", name="avgpool", size=size),
        blk("fc", name="fc6", c=hidden, act="relu"), blk("dropout", name="drop6", p=p),
        blk("fc", name="fc7", c=hidden, act="relu"), blk("dropout", name="drop7", p=p),
        blk("fc", name="fc8"),
    )


CLASSIFIERS = ("dense", "adaptive")


def _with_classifier(blocks, classifier: str):
    """Swap the dense-evaluation classifier (the default) for torchvision's adaptive one."""
    if classifier == "dense":
        return blocks
    body = tuple(b for b in blocks if b.type not in ("fc_dense", "score_average", "dropout"))
    size = next(b.args["k"] for b in blocks if b.type == "fc_dense" and "k" in b.args)
    return body + _adaptive_classifier(size)


def _classifier_knob():
    return Knob("classifier", "dense", CLASSIFIERS,
                "dense = the paper's FC layers, evaluated densely on larger maps (VGG section 3.2); "
                "adaptive = torchvision's AdaptiveAvgPool2d to the trained map size, then the FC layers")


def _classifier(size, hidden=4096, p=0.5):
    """FC-hidden + ReLU, dropout, FC-hidden + ReLU, dropout, FC-classes, trained on a size x size
    map; applied densely on larger maps (see ``fc_dense``)."""
    return (
        blk("fc_dense", name="fc6", c=hidden, k=size, act="relu"), blk("dropout", name="drop6", p=p),
        blk("fc_dense", name="fc7", c=hidden, act="relu"), blk("dropout", name="drop7", p=p),
        blk("fc_dense", name="fc8"),
        blk("score_average", name="scores"),
    )


# paper Table 1, configuration D ("conv<receptive field>-<channels>"), outputs at 224x224
VGG16 = (
    _vgg_conv("conv1", 64, 2), _maxpool("pool1", 2, 2),     # conv3-64 x2   -> 112x112x64
    _vgg_conv("conv2", 128, 2), _maxpool("pool2", 2, 2),    # conv3-128 x2  -> 56x56x128
    _vgg_conv("conv3", 256, 3), _maxpool("pool3", 2, 2),    # conv3-256 x3  -> 28x28x256
    _vgg_conv("conv4", 512, 3), _maxpool("pool4", 2, 2),    # conv3-512 x3  -> 14x14x512
    _vgg_conv("conv5", 512, 3), _maxpool("pool5", 2, 2),    # conv3-512 x3  -> 7x7x512
) + _classifier(7)                                          # FC-4096, FC-4096, FC-1000


def vgg16_spec(alpha: float = 1.0, classifier: str = "dense") -> NetSpec:
    return NetSpec("vgg16", _with_classifier(VGG16, classifier), width="unscaled", source=SOURCES["vgg16"])


# ----------------------------------------------------------------------------- AlexNet
def _alex_conv(name, c, k, s=1, padding=None, groups=1):
    return blk("conv", name=name, c=c, k=k, s=s, padding=padding, groups=groups, bn=False, bias=True)


# paper section 3.5 / Fig. 2 (LRN after conv1 and conv2 omitted); outputs at 224x224
ALEXNET = {
    "paper": (
        _alex_conv("conv1", 96, 11, 4, padding=2),           # 55x55x96
        _maxpool("pool1"),                                    # 27x27x96
        _alex_conv("conv2", 256, 5, groups=2),                # 27x27x256, two groups of 128 (48 inputs each)
        _maxpool("pool2"),                                    # 13x13x256
        _alex_conv("conv3", 384, 3),                          # 13x13x384, across both GPUs
        _alex_conv("conv4", 384, 3, groups=2),                # 13x13x384, two groups of 192
        _alex_conv("conv5", 256, 3, groups=2),                # 13x13x256, two groups of 128
        _maxpool("pool5"),                                    # 6x6x256
    ) + _classifier(6),
    "torchvision": (
        _alex_conv("conv1", 64, 11, 4, padding=2),            # 55x55x64
        _maxpool("pool1"),                                    # 27x27x64
        _alex_conv("conv2", 192, 5),                          # 27x27x192
        _maxpool("pool2"),                                    # 13x13x192
        _alex_conv("conv3", 384, 3),
        _alex_conv("conv4", 256, 3),
        _alex_conv("conv5", 256, 3),
        _maxpool("pool5"),                                    # 6x6x256
    ) + _classifier(6),
}


def alexnet_spec(alpha: float = 1.0, variant: str = "paper", classifier: str = "dense") -> NetSpec:
    return NetSpec("alexnet", _with_classifier(ALEXNET[variant], classifier), width="unscaled",
                   source=SOURCES["alexnet"])


# ----------------------------------------------------------------------------- GoogLeNet
def _inc(name, c1, c3r, c3, c5r, c5, pp):
    return blk("inception", name=name, c1=c1, c3r=c3r, c3=c3, c5r=c5r, c5=c5, pp=pp)


def _gconv(name, c, k, s=1):
    return blk("conv", name=name, c=c, k=k, s=s, bn=False, bias=True)


def googlenet_spec(alpha: float = 1.0, aux_logits: bool = False) -> NetSpec:
    aux = (lambda name: (blk("inception_aux", name=name),)) if aux_logits else (lambda name: ())
    blocks = (
        # paper Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj; outputs at 224x224
        _gconv("conv1", 64, 7, 2),                            # 7x7/2        112x112x64
        _maxpool("pool1", ceil_mode=True),                    # 3x3/2        56x56x64
        _gconv("conv2_reduce", 64, 1),                        # 3x3 reduce   56x56x64
        _gconv("conv2", 192, 3),                              # 3x3/1        56x56x192
        _maxpool("pool2", ceil_mode=True),                    # 3x3/2        28x28x192
        _inc("inception3a", 64, 96, 128, 16, 32, 32),         #              28x28x256
        _inc("inception3b", 128, 128, 192, 32, 96, 64),       #              28x28x480
        _maxpool("pool3", ceil_mode=True),                    # 3x3/2        14x14x480
        _inc("inception4a", 192, 96, 208, 16, 48, 64),        #              14x14x512
    ) + aux("aux1") + (
        _inc("inception4b", 160, 112, 224, 24, 64, 64),       #              14x14x512
        _inc("inception4c", 128, 128, 256, 24, 64, 64),       #              14x14x512
        _inc("inception4d", 112, 144, 288, 32, 64, 64),       #              14x14x528
    ) + aux("aux2") + (
        _inc("inception4e", 256, 160, 320, 32, 128, 128),     #              14x14x832
        _maxpool("pool4", ceil_mode=True),                    # 3x3/2        7x7x832
        _inc("inception5a", 256, 160, 320, 32, 128, 128),     #              7x7x832
        _inc("inception5b", 384, 192, 384, 48, 128, 128),     #              7x7x1024
        blk("gap", name="avgpool"),                           # 7x7/1 at 224 1x1x1024
        blk("dropout", name="dropout", p=0.4),
        blk("fc", name="fc"),                                 # linear       1x1x1000
    )
    return NetSpec("googlenet", blocks, width="unscaled", source=SOURCES["googlenet"])


# ----------------------------------------------------------------------------- ResNet-50
def resnet50_spec(alpha: float = 1.0, variant: str = "v1.5") -> NetSpec:
    at = "3x3" if variant == "v1.5" else "1x1"
    blocks = (
        # paper Table 1, 50-layer: [1x1 c, 3x3 c, 1x1 4c] x n; outputs at 224x224
        blk("conv", name="conv1", c=64, k=7, s=2),                      # 112x112x64
        _maxpool("maxpool", padding=1),                                  # 56x56x64
        blk("bottleneck", n=3, name="layer1", c=64, s=1, stride_at=at),  # conv2_x 56x56x256
        blk("bottleneck", n=4, name="layer2", c=128, s=2, stride_at=at),  # conv3_x 28x28x512
        blk("bottleneck", n=6, name="layer3", c=256, s=2, stride_at=at),  # conv4_x 14x14x1024
        blk("bottleneck", n=3, name="layer4", c=512, s=2, stride_at=at),  # conv5_x 7x7x2048
        blk("gap", name="avgpool"),
        blk("fc", name="fc"),                                             # 2048 x classes
    )
    return NetSpec("resnet50", blocks, width="unscaled", source=SOURCES["resnet50"], depth_rule="ceil")


def _min_res(dense: int, adaptive: int):
    """The smallest input side by classifier. ``dense``: the first FC is a k x k (valid) window, so
    the last pool must give at least the trained k x k map. ``adaptive``: torchvision's
    AdaptiveAvgPool2d takes any map of at least 1 x 1 (it repeats cells when the map is smaller than
    its output), so only the layers before it bound the input: every max pool needs a window's
    worth of input (PyTorch raises 'Output size is too small' below that)."""
    return lambda knobs: adaptive if knobs.get("classifier") == "adaptive" else dense


# VGG16 (five 2x2/2 max pools, floor; the 3x3 convs keep the size): a map of floor(H / 32). Dense:
# floor(H / 32) >= 7 -> 224. Adaptive: floor(H / 32) >= 1 -> 32 (31 -> 15, 7, 3, 1, 0).
# AlexNet, both variants (conv1 11x11/4 pad 2 -> floor((H - 7) / 4) + 1; 3x3/2 pools
# floor((x - 3) / 2) + 1; conv2-5 keep the size): pool5 gives 6 from H >= 223 (dense), 1 from
# H >= 63 (adaptive: 63 -> 15, 7, 3, 1; 62 -> 14, 6, 2 and pool5 has no 3x3 window).
register(Network(
    "vgg16", "VGG", vgg16_spec, "VGG-16 (configuration D): 13 convs 3x3, FC 4096-4096", "arXiv 1409.1556",
    knobs=(_classifier_knob(),), min_res=224, min_res_for=_min_res(224, 32), **NO_ALPHA,
))
register(Network(
    "alexnet", "AlexNet", alexnet_spec, "AlexNet: the two-GPU model with grouped conv2/4/5 (LRN omitted)",
    "Krizhevsky et al. 2012 (NIPS)",
    knobs=(Knob("variant", "paper", ("paper", "torchvision"),
                "paper = 96-256-384-384-256 with two-group conv2/4/5; torchvision = single tower 64-192-384-256-256"),
           _classifier_knob()),
    min_res=223, min_res_for=_min_res(223, 63), **NO_ALPHA,
))
register(Network(
    "googlenet", "GoogLeNet", googlenet_spec, "GoogLeNet (Inception v1), Table 1, no BN (LRN omitted)",
    "arXiv 1409.4842",
    knobs=(Knob("aux_logits", False, (False, True), "add the two auxiliary classifiers (training only)"),),
    min_res=47, **NO_ALPHA,
))
register(Network(
    "resnet50", "ResNet", resnet50_spec, "ResNet-50 bottleneck network (torchvision v1.5 by default)",
    "arXiv 1512.03385",
    knobs=(Knob("variant", "v1.5", ("v1.5", "v1"),
                "v1.5 = stride in the 3x3 conv (torchvision); v1 = stride in the first 1x1 (paper, Caffe)"),),
    min_res=32, **NO_ALPHA,
))
