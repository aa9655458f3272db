"""PyTorch import of hand-written copies of torchvision's blocks (CI cannot install torchvision):
MobileNetV3's inverted residual with SE, ShuffleNetV2's unit with its view/transpose channel
shuffle, SqueezeNet's fire module, EfficientNet's MBConv with stochastic depth, GoogLeNet's
inception module, a RegNet group-conv + SE bottleneck and ResNet's bottleneck (one ReLU module
called three times, ``out += identity``). Each network: parameters = ``parameters()``,
2 x madds = FlopCounterMode, module output shapes = PyTorch's, executor output = the module's,
at a square and a non-square input. benchmarks/bench_torch_parity.py checks the real
torchvision and timm models."""
from functools import partial

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from costmodel import analyze, build  # noqa: E402
from costmodel.torch_import import from_torch  # noqa: E402

from test_torch_import import check_exact, randomize  # noqa: E402  (tests/ is on sys.path)

pytestmark = pytest.mark.torch


def make_divisible(v, divisor=8, min_value=None):
    """torchvision's _make_divisible."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvBNAct(nn.Sequential):
    """torchvision's Conv2dNormActivation."""

    def __init__(self, cin, cout, k=3, s=1, groups=1, act=nn.ReLU, norm=nn.BatchNorm2d, d=1):
        layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2 * d, d, groups, bias=False), norm(cout)]
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish) else act())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, c, squeeze, act=nn.ReLU, scale=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.activation, self.scale_activation = act(), scale()

    def forward(self, x):
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


class V3Block(nn.Module):
    """MobileNetV3's InvertedResidual (torchvision.models.mobilenetv3)."""

    def __init__(self, cin, k, exp, cout, se, act, s):
        super().__init__()
        self.use_res = s == 1 and cin == cout
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers = [ConvBNAct(cin, exp, 1, norm=norm, act=act)] if exp != cin else []
        layers.append(ConvBNAct(exp, exp, k, s, groups=exp, norm=norm, act=act))
        if se:
            layers.append(SqueezeExcitation(exp, make_divisible(exp // 4, 8), scale=nn.Hardsigmoid))
        layers.append(ConvBNAct(exp, cout, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res else y


def channel_shuffle(x, groups: int):
    """torchvision.models.shufflenetv2.channel_shuffle."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's InvertedResidual (torchvision.models.shufflenetv2)."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        bf = oup // 2

        def dw(c, s):
            return nn.Sequential(nn.Conv2d(c, c, 3, s, 1, bias=False, groups=c), nn.BatchNorm2d(c))

        if stride > 1:
            self.branch1 = nn.Sequential(*dw(inp, stride), nn.Conv2d(inp, bf, 1, bias=False), nn.BatchNorm2d(bf),
                                         nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False), nn.BatchNorm2d(bf),
                                     nn.ReLU(inplace=True), *dw(bf, stride), nn.Conv2d(bf, bf, 1, bias=False),
                                     nn.BatchNorm2d(bf), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class Fire(nn.Module):
    """SqueezeNet's fire module (torchvision.models.squeezenet)."""

    def __init__(self, inplanes, squeeze, e1, e3):
        super().__init__()
        self.squeeze, self.squeeze_activation = nn.Conv2d(inplanes, squeeze, 1), nn.ReLU(inplace=True)
        self.expand1x1, self.expand1x1_activation = nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True)
        self.expand3x3, self.expand3x3_activation = nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth ('row'): the identity at inference."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty([x.shape[0], 1, 1, 1]).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MBConv(nn.Module):
    """EfficientNet's MBConv (torchvision.models.efficientnet)."""

    def __init__(self, cin, cout, k, s, e, sd_prob):
        super().__init__()
        self.use_res = s == 1 and cin == cout
        exp = make_divisible(cin * e, 8)
        layers = [ConvBNAct(cin, exp, 1, act=nn.SiLU)] if exp != cin else []
        layers += [ConvBNAct(exp, exp, k, s, groups=exp, act=nn.SiLU),
                   SqueezeExcitation(exp, max(1, cin // 4), act=partial(nn.SiLU, inplace=True)),
                   ConvBNAct(exp, cout, 1, act=None)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x):
        y = self.block(x)
        if self.use_res:
            y = self.stochastic_depth(y)
            y += x
        return y


class BasicConv2d(nn.Module):
    """GoogLeNet's conv + BN (eps 0.001) + in-place F.relu."""

    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, bias=False, **kw), nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """GoogLeNet's inception module (torchvision.models.googlenet)."""

    def __init__(self, cin, ch1, ch3r, ch3, ch5r, ch5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, ch3r, kernel_size=1), BasicConv2d(ch3r, ch3, kernel_size=3,
                                                                                         padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, ch5r, kernel_size=1), BasicConv2d(ch5r, ch5, kernel_size=3,
                                                                                         padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class RegNetBlock(nn.Module):
    """RegNet-Y's ResBottleneckBlock: group conv (group width w) + SE, projection shortcut."""

    def __init__(self, cin, cout, stride, group_width=8, se_ratio=0.25):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) \
            if cin != cout or stride != 1 else None
        self.f = nn.Sequential(ConvBNAct(cin, cout, 1), ConvBNAct(cout, cout, 3, stride, groups=cout // group_width),
                               SqueezeExcitation(cout, int(round(se_ratio * cin))), ConvBNAct(cout, cout, 1, act=None))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = (self.proj(x) if self.proj is not None else x) + self.f(x)
        return self.activation(x)


class Bottleneck(nn.Module):
    """ResNet's bottleneck (torchvision.models.resnet): one ReLU module called three times."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        w = planes
        self.conv1, self.bn1 = nn.Conv2d(inplanes, w, 1, bias=False), nn.BatchNorm2d(w)
        self.conv2, self.bn2 = nn.Conv2d(w, w, 3, stride, 1, bias=False), nn.BatchNorm2d(w)
        self.conv3, self.bn3 = nn.Conv2d(w, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                        nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def net(*blocks, c=16, classes=10, stem=16):
    """stem conv -> blocks -> adaptive pool -> flatten -> dropout -> linear (c: last block's width)."""
    return nn.Sequential(ConvBNAct(3, stem, 3, 2), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(c, classes))


BLOCKS = {
    "mobilenet_v3_se": lambda: net(V3Block(16, 3, 16, 16, True, nn.ReLU, 2), V3Block(16, 5, 72, 24, False, nn.ReLU, 1),
                                   V3Block(24, 5, 96, 24, True, nn.Hardswish, 1), c=24, stem=16),
    "shufflenet_v2": lambda: net(ShuffleUnit(24, 48, 2), ShuffleUnit(48, 48, 1), c=48, stem=24),
    "squeezenet_fire": lambda: net(nn.MaxPool2d(3, 2, ceil_mode=True), Fire(16, 8, 16, 16), Fire(32, 8, 16, 16),
                                   c=32),
    "efficientnet_mbconv": lambda: net(MBConv(16, 24, 3, 2, 6, 0.0), MBConv(24, 24, 5, 1, 6, 0.1), c=24),
    "googlenet_inception": lambda: net(Inception(16, 8, 8, 12, 4, 6, 6), c=32),
    "regnet_y_block": lambda: net(RegNetBlock(16, 32, 2), RegNetBlock(32, 32, 1), c=32),
    "resnet_bottleneck": lambda: net(Bottleneck(16, 8, 2), c=32),
}


@pytest.mark.parametrize("size", [(3, 32, 32), (3, 48, 36)])
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_torchvision_block_exact(name, size):
    torch.manual_seed(0)
    m = randomize(BLOCKS[name]())
    g, _ = check_exact(m, size)
    assert not [n for n in g if n.op.kind == "unsupported"]


def test_block_structure_maps_to_the_ir_ops():
    kinds = {name: [n.op.kind for n in from_torch(BLOCKS[name](), (3, 32, 32))] for name in BLOCKS}
    assert kinds["shufflenet_v2"].count("channel_shuffle") == 2 and kinds["shufflenet_v2"].count("split") == 1
    assert kinds["efficientnet_mbconv"].count("dropout") == 1  # StochasticDepth is the identity: no node
    assert kinds["mobilenet_v3_se"].count("multiply") == 2 and kinds["regnet_y_block"].count("multiply") == 2
    assert kinds["squeezenet_fire"].count("concat") == 2 and kinds["googlenet_inception"].count("concat") == 1
    g = from_torch(BLOCKS["resnet_bottleneck"](), (3, 32, 32))
    assert [n.name for n in g if n.op.kind == "activation"][-3:] == ["1.relu", "1.relu_2", "1.relu_3"]
    assert {n.scope for n in g if n.name.startswith("1.")} == {"1"}  # the block column: the bottleneck


# ----------------------------------------------------------------------------- the zoo, analytically
class MobileNetV2(nn.Module):
    """torchvision.models.MobileNetV2, written out."""

    def __init__(self, width_mult=1.0, num_classes=1000):
        super().__init__()
        cfg = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
               [6, 320, 1, 1]]
        c = make_divisible(32 * width_mult)
        self.last = make_divisible(1280 * max(1.0, width_mult))
        features = [ConvBNAct(3, c, 3, 2, act=nn.ReLU6)]
        for t, ch, n, s in cfg:
            out = make_divisible(ch * width_mult)
            for i in range(n):
                features.append(_V2Block(c, out, s if i == 0 else 1, t))
                c = out
        features.append(ConvBNAct(c, self.last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class _V2Block(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = int(round(inp * t))
        self.use_res = stride == 1 and inp == oup
        layers = [ConvBNAct(inp, hidden, 1, act=nn.ReLU6)] if t != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class ShuffleNetV2(nn.Module):
    """torchvision.models.ShuffleNetV2, written out (stage widths of x1.0)."""

    def __init__(self, repeats=(4, 8, 4), widths=(24, 116, 232, 464, 1024), num_classes=1000):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = widths[0]
        for i, (r, out) in enumerate(zip(repeats, widths[1:4])):
            setattr(self, f"stage{i + 2}", nn.Sequential(ShuffleUnit(c, out, 2),
                                                         *[ShuffleUnit(out, out, 1) for _ in range(r - 1)]))
            c = out
        self.conv5 = nn.Sequential(nn.Conv2d(c, widths[-1], 1, bias=False), nn.BatchNorm2d(widths[-1]),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


@pytest.mark.parametrize("res", [224, 160])
def test_import_equals_the_zoo(res):
    """The zoo's analytical graphs equal the import of the reference implementation."""
    for module, zoo in ((MobileNetV2(), build("mobilenet_v2", res=res)),
                        (MobileNetV2(0.75), build("mobilenet_v2", alpha=0.75, res=res)),
                        (ShuffleNetV2(), build("shufflenet_v2", res=res, impl="torchvision"))):
        t = analyze(from_torch(module, (3, res, res))).totals
        z = analyze(zoo).totals
        assert (t["params_with_bn"], t["madds"]) == (z["params_with_bn"], z["madds"])
        assert t["params_with_bn"] == sum(p.numel() for p in module.parameters())
