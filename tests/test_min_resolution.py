"""The smallest resolution follows the knobs (issue 15): VGG16's and AlexNet's adaptive classifier
(torchvision's AdaptiveAvgPool2d before the FC layers) accepts inputs the dense classifier, trained
on a fixed map, cannot take. Expected shapes and Mult-Adds are worked out by hand from PyTorch's
shape rules (conv: floor((H + 2p - k) / s) + 1; MaxPool2d floor mode)."""
import pytest

import costmodel
from costmodel import KnobError

FC = 4096 * 4096 + 4096 * 1000  # fc7 + fc8 Mult-Adds, at any resolution


def _conv(cin, cout, k, h):
    return cout * h * h * cin * k * k


# (network, knobs, smallest side, the pooled maps there, Mult-Adds there)
CASES = [
    # VGG16 at 32: 3x3 convs keep the size, five 2x2/2 pools give 16, 8, 4, 2, 1; the adaptive pool
    # spreads the 1x1x512 map to the trained 7x7x512, so fc6 is 25088 x 4096 as at 224
    ("vgg16", {"classifier": "adaptive"}, 32, [16, 8, 4, 2, 1, 7],
     _conv(3, 64, 3, 32) + _conv(64, 64, 3, 32) + _conv(64, 128, 3, 16) + _conv(128, 128, 3, 16)
     + _conv(128, 256, 3, 8) + 2 * _conv(256, 256, 3, 8) + _conv(256, 512, 3, 4) + 2 * _conv(512, 512, 3, 4)
     + 3 * _conv(512, 512, 3, 2) + 25088 * 4096 + FC),
    # AlexNet (torchvision) at 63: conv1 11x11/4 pad 2 -> 15; pool 7; conv2 (pad 2) 7; pool 3;
    # conv3-5 (pad 1) 3; pool5 1; adaptive pool to 6x6
    ("alexnet", {"variant": "torchvision", "classifier": "adaptive"}, 63, [7, 3, 1, 6],
     _conv(3, 64, 11, 15) + _conv(64, 192, 5, 7) + _conv(192, 384, 3, 3) + _conv(384, 256, 3, 3)
     + _conv(256, 256, 3, 3) + 9216 * 4096 + FC),
    # the two-tower paper model with the adaptive classifier: the same spatial rules
    ("alexnet", {"classifier": "adaptive"}, 63, [7, 3, 1, 6],
     _conv(3, 96, 11, 15) + _conv(48, 256, 5, 7) + _conv(256, 384, 3, 3) + _conv(192, 384, 3, 3)
     + _conv(192, 256, 3, 3) + 9216 * 4096 + FC),
    # the dense (paper) classifiers need the trained map: 7x7 after pool5 (VGG), 6x6 (AlexNet)
    ("vgg16", {}, 224, [112, 56, 28, 14, 7], None),
    ("alexnet", {}, 223, [27, 13, 6], None),
]


@pytest.mark.parametrize("name,knobs,smallest,pools,madds", CASES)
def test_smallest_resolution_builds_and_one_less_is_refused(name, knobs, smallest, pools, madds):
    g = costmodel.build(name, res=smallest, **knobs)
    assert [n.out_shapes[0][1] for n in g.nodes if n.op.kind in ("maxpool", "adaptive_avgpool")] == pools
    assert g.nodes[-1].out_shapes[0] == (1000,)
    if madds is not None:
        assert costmodel.analyze(g).totals["madds"] == madds
    assert costmodel.get_network(name).min_res_of(knobs) == smallest
    with pytest.raises(KnobError, match=rf"^{name}: resolution {smallest - 1} is too small; this network needs "
                                        rf"at least {smallest}$"):
        costmodel.build(name, res=smallest - 1, **knobs)


def test_adaptive_classifier_params_do_not_change_with_the_resolution():
    at = {r: costmodel.analyze(costmodel.build("vgg16", res=r, classifier="adaptive")).totals["params"]
          for r in (32, 160, 224)}
    assert set(at.values()) == {138_357_544}   # torchvision vgg16: 138,357,544 at any input size


def test_sweep_and_cli_follow_the_knobs_minimum():
    from click.testing import CliRunner

    from costmodel.cli import cli
    df = costmodel.sweep("vgg16", resolutions=[32, 160], classifier="adaptive")
    assert list(df["resolution"]) == [32, 160] and df["madds"].iloc[0] == CASES[0][4]
    r = CliRunner().invoke(cli, ["table", "vgg16", "--set", "classifier=adaptive", "--res", "160", "-f", "json"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["table", "alexnet", "--variant", "torchvision", "--set", "classifier=adaptive",
                                 "--res", "62"])
    assert isinstance(r.exception, KnobError) and "needs at least 63" in str(r.exception)  # main(): one line, 2


@pytest.mark.torch
def test_torch_shape_rules_agree_at_the_boundary():
    """torchvision's AlexNet feature stack and VGG16's pools written out in PyTorch (torchvision
    is not needed): runs at the smallest side, raises one pixel below it, as costmodel refuses."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    alex = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
        nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.Conv2d(384, 256, 3, padding=1),
        nn.Conv2d(256, 256, 3, padding=1), nn.MaxPool2d(3, 2), nn.AdaptiveAvgPool2d(6))
    vgg = nn.Sequential(*[nn.MaxPool2d(2, 2) for _ in range(5)], nn.AdaptiveAvgPool2d(7))
    for seq, c, name, knobs in ((alex, 3, "alexnet", {"variant": "torchvision", "classifier": "adaptive"}),
                                (vgg, 3, "vgg16", {"classifier": "adaptive"})):
        n = costmodel.get_network(name).min_res_of(knobs)
        with torch.no_grad():
            y = seq(torch.zeros(1, c, n, n))
        g = costmodel.build(name, res=n, **knobs)
        pooled = next(nd for nd in g.nodes if nd.op.kind == "adaptive_avgpool").out_shapes[0]
        assert tuple(y.shape[2:]) == pooled[1:]
        with pytest.raises(RuntimeError, match="too small"), torch.no_grad():
            seq(torch.zeros(1, c, n - 1, n - 1))
