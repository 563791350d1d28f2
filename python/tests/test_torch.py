"""pann.torch: the modules' values and gradients, convert's rules, and the bundled ResNet-20 against `pann eval`."""
import json
import math
import os
import warnings

import numpy as np
import pytest

from conftest import MODEL, cifar10_test, load_safetensors, require, require_torch

torch = require_torch()
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import pann  # noqa: E402
import pann.torch as pt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def test_poly_relu_values_stats_and_gradient():
    m = pt.PolyReLU(9, 4.0)
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    y = m(x)
    np.testing.assert_array_equal(y.numpy(), pann.relu(x.numpy(), 9, 4.0))
    assert m.overflows == int((x.abs() > 4).sum()) and m.max_abs == 6.0 and m.elements == 1001
    # Gradient of the custom autograd function against finite differences (float64).
    xs = torch.linspace(-3.9, 3.9, 64, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: pt.PolyReLU(9, 4.0)(v), (xs,), eps=1e-6, atol=1e-4)
    # float32 in a graph: the backward runs and matches the tensor-op derivative.
    x32 = torch.randn(2, 3, 4, 4, requires_grad=True)
    pt.PolyReLU(9, 4.0)(x32).sum().backward()
    x64 = x32.detach().double().requires_grad_()
    t = x64 / 4.0
    (x64 * (1 + pt._sign_torch(t, pann.approx(9))) / 2).sum().backward()
    np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), atol=1e-4)
    with pytest.raises(pann.PannError, match="positive finite"):
        pt.PolyReLU(9, -1.0)


def test_poly_max_pool_kernel_and_tensor_paths_agree():
    m = pt.PolyMaxPool2d(10, 3.0, kernel_size=2)
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64) * 6 - 3
    with torch.no_grad():
        fast = m(x)
    assert m.overflows == 0 and m.max_abs <= 3.0
    xg = x.clone().requires_grad_()
    slow = m(xg)
    np.testing.assert_allclose(fast.numpy(), slow.detach().numpy(), atol=1e-12)
    slow.sum().backward()
    assert xg.grad is not None and torch.isfinite(xg.grad).all()
    exact = F.max_pool2d(x, 2)
    levels = 2
    err = sum(2 * 3.0 * (1 + 2.0 ** -9) ** l for l in range(levels)) * 2.0 ** -10
    assert (fast - exact).abs().max() <= err


class Small(nn.Module):
    """Every ReLU form convert must find: a module, F.relu, torch.relu, the method; and a max-pool."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(4 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)
        self.scale = scale

    def forward(self, x):
        x = self.pool(self.act(self.conv(x) * self.scale))
        x = F.relu(self.fc1(x.flatten(1)))
        x = torch.relu(x) + x.relu()
        return self.fc2(x)


def loader(n=64, batch=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g)
    return [(x[i:i + batch], torch.zeros(batch, dtype=torch.long)) for i in range(0, n, batch)]


def test_convert_replaces_every_site_and_counts_depth():
    torch.manual_seed(0)
    net = Small().eval()
    data = loader()
    p = pt.convert(net, 8, calibration=data, rule=7.5)
    kinds = [type(m).__name__ for m in p.modules() if isinstance(m, (pt.PolyReLU, pt.PolyMaxPool2d))]
    assert kinds.count("PolyReLU") == 4 and kinds.count("PolyMaxPool2d") == 1
    assert not any(isinstance(m, (nn.ReLU, nn.MaxPool2d)) for m in p.modules())
    rep = p.pann
    assert [s.kind for s in rep.sites] == ["relu", "maxpool", "relu", "relu", "relu"]
    assert all(s.bound == 7.5 for s in rep.sites) and rep.calibration_images == 64
    a = pann.approx(8)
    # conv, ReLU, pool (2 levels of maxima), fc1, ReLU, then two ReLUs side by side (max, not sum), fc2.
    want = 1 + a.relu_depth + 2 * (a.depth + 1) + 1 + a.relu_depth + a.relu_depth + 1
    assert rep.network_depth == want
    # The original model is untouched, and at α = 14 the PANN follows it closely (every site errs by B·2^-14).
    assert any(isinstance(m, nn.ReLU) for m in net.modules())
    x = data[0][0]
    fine = pt.convert(net, 14, rule=7.5)
    with torch.no_grad():
        assert (fine(x) - net(x)).abs().max() < 0.01


def test_calibrate_rule_and_leak_correction():
    torch.manual_seed(1)
    net = Small().eval()
    data = loader()
    p = pt.convert(net, 6, calibration=data, rule="calibrate")
    # Calibrated bounds: 1.1 × the exact network's largest input at each site.
    seen = {}
    hooks = []
    names = ["act", "pool"]
    for n in names:
        hooks.append(getattr(net, n).register_forward_hook(
            lambda mod, inp, out, n=n: seen.__setitem__(n, max(seen.get(n, 0), float(inp[0].abs().max())))))
    with torch.no_grad():
        for x, _ in data:
            net(x)
    for h in hooks:
        h.remove()
    assert math.isclose(p.pann.sites[0].bound, 1.1 * seen["act"], rel_tol=1e-6)
    assert math.isclose(p.pann.sites[1].bound, 1.1 * seen["pool"], rel_tol=1e-6)
    assert p.pann.overflows == 0

    # Leak correction: the first ReLU's per-channel mean error on the exact inputs becomes zero.
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()).eval()
    def mean_err(model):
        with torch.no_grad():
            errs = [(model(x) - conv(x)).double().mean(dim=(0, 2, 3)) for x, _ in data]
        return torch.stack(errs).mean(0)
    plain = pt.convert(conv, 5, calibration=data, rule=6.0)
    fixed = pt.convert(conv, 5, calibration=data, rule=6.0, leak_correction=True)
    assert mean_err(plain).abs().max() > 1e-3
    assert mean_err(fixed).abs().max() < 1e-5
    assert fixed.pann.leak_correction and "leak" in str(fixed.pann)


def test_lee_rule_raises_the_bound_until_nothing_overflows():
    torch.manual_seed(2)
    net = Small(scale=40.0).eval()  # first-site inputs beyond 50
    data = loader()
    p = pt.convert(net, 9, calibration=data, rule="lee")
    b = p.pann.sites[0].bound
    assert b > 50 and (b - 50) % 5 == 0 and p.pann.tries == (b - 50) / 5 + 1
    assert p.pann.overflows == 0
    # One step less overflows somewhere: the rule's bound is the least one on its lattice.
    q = pt.convert(net, 9, calibration=data, rule=b - 5)
    assert q.pann.overflows > 0


def test_untraceable_model_falls_back_to_modules_with_a_warning():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU()

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
                return self.act(self.fc(x))
            return self.act(-self.fc(x))

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = pt.convert(Branchy(), 7, rule=2.0)
    assert any("could not trace" in str(x.message) for x in w)
    assert isinstance(p.act, pt.PolyReLU) and p.pann.network_depth is None
    with pytest.raises(ValueError, match="needs calibration"):
        pt.convert(Branchy(), 7, rule="lee")


@pytest.mark.parametrize("alpha", [9, 12])
def test_convert_resnet20_matches_pann_eval(alpha):
    """The bundled ResNet-20 (akamaster's code, F.relu and option-A lambda shortcuts) at α = 9 and 12 with Lee's
    rule on the first 1,000 CIFAR-10 test images: the accuracy, bound and depth `pann eval` reports (the committed
    output of `scripts/pann eval --alpha 9,12 --range lee --images 1000 --json`, see data/README.md)."""
    from resnet20 import resnet20

    ref = json.load(open(os.path.join(HERE, "data", "pann-eval-resnet20-lee-1000.json")))
    row = next(r for r in ref["rows"] if r["alpha"] == alpha)
    torch.set_num_threads(os.cpu_count() or 1)
    net = resnet20(load_safetensors(require(MODEL)))
    x, y = cifar10_test(1000)
    data = [(torch.from_numpy(x[i:i + 500]), torch.from_numpy(y[i:i + 500])) for i in range(0, 1000, 500)]
    assert abs(pt.accuracy(net, data) - ref["exact"]["accuracy"]) <= 0.001
    p = pt.convert(net, alpha, calibration=data, rule="lee")
    acc = pt.accuracy(p, data)
    print(f"α = {alpha}: pann.torch {acc:.3f}, pann eval {row['accuracy']:.3f}; {p.pann}")
    assert abs(acc - row["accuracy"]) <= 0.001
    assert p.pann.bounds() == [row["B"]] * 19 and p.pann.overflows == row["overflows"] == 0
    assert p.pann.network_depth == row["network_depth"] and p.pann.relu_depth == row["relu_depth"]
    assert p.pann.degrees == row["degrees"]
