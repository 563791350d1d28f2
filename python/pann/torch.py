"""pann.torch: PANNs in PyTorch — polynomial ReLU and max-pool modules, and ``convert`` for whole models.

    import pann.torch
    pnet = pann.torch.convert(net, alpha=9, calibration=loader, rule="lee")
    print(pnet.pann)          # per-site bounds, overflows, network depth under CKKS

``PolyReLU`` and ``PolyMaxPool2d`` evaluate with pann's fused kernels on CPU tensors (float64 arithmetic, the
values ``pann eval`` computes) and are differentiable: ``PolyReLU``'s backward uses the polynomial's derivative,
``PolyMaxPool2d`` switches to tensor ops when a gradient is needed. The range rules follow ``pann eval --range``:

- ``"lee"``: Lee et al.'s global bound B = 50, 55, ... until no input of any polynomial site of the *approximate*
  network leaves its bound on the calibration data (a ReLU input beyond B, a max-pool difference beyond its
  divisor, or a NaN);
- ``"calibrate"``: per-site bounds, the exact network's largest |x| at each site on the calibration data x 1.1;
- a number: that bound everywhere;
- ``leak_correction=True``: per-channel mean error of each polynomial ReLU on the exact network's inputs,
  subtracted from its output (for ``"lee"``, measured anew at every bound tried).
"""
import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import pann

__all__ = ["PolyReLU", "PolyMaxPool2d", "convert", "accuracy", "Conversion", "Site"]

_LEE_START, _LEE_STEP, _LEE_CAP = 50.0, 5.0, 5000.0


def _resolve(alpha, degrees=None):
    if isinstance(alpha, pann.Approx):
        return alpha
    return pann.approx(alpha, degrees)


def _odd_horner(t, coeffs):
    """p(t) for odd power-basis coefficients, in tensor ops (the differentiable and non-CPU path)."""
    odd = coeffs[1::2]
    t2 = t * t
    acc = torch.full_like(t, odd[-1])
    for a in reversed(odd[:-1]):
        acc = acc * t2 + a
    return acc * t


def _sign_torch(t, approx):
    for c in approx.coefficients:
        t = _odd_horner(t, c)
    return t


def _kernel_ok(x):
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


class _PolyReluFn(torch.autograd.Function):
    """Forward by pann's kernel, backward by the polynomial's derivative (pann.relu_grad)."""

    @staticmethod
    def forward(ctx, x, module):
        xc = x.detach().contiguous()
        y, st = pann.relu(xc.numpy(), module.approx, module.bound, return_stats=True)
        module._record(st["overflows"], st["max_abs"], st["elements"])
        ctx.save_for_backward(x)
        ctx.module = module
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        m = ctx.module
        slope = torch.from_numpy(pann.relu_grad(x.detach().contiguous().numpy(), m.approx, m.bound))
        return grad * slope, None


class PolyReLU(nn.Module):
    """ReLU(x) ~ x*(1 + p(x/B))/2 with p pann's certified composite sign of precision ``alpha`` (error <= B*2^-alpha
    for |x| <= B). Counts inputs beyond B (``overflows``) and records the largest |x| (``max_abs``) until
    ``reset_stats()``. ``offsets`` (per channel, dimension 1) are subtracted from the output (mean-leak correction).
    """

    def __init__(self, alpha, bound, degrees=None, offsets=None):
        super().__init__()
        self.approx = _resolve(alpha, degrees)
        self.bound = float(bound)
        pann.relu(np.zeros(1), self.approx, self.bound)  # checks the bound with the Rust message
        self.register_buffer("offsets", None if offsets is None else torch.as_tensor(offsets, dtype=torch.float64))
        self.exact = False  # calibration: run the exact ReLU and record max |x|
        self._leak = None  # (sums, counts) while measuring the mean leak
        self.reset_stats()

    def reset_stats(self):
        self.overflows, self.max_abs, self.elements = 0, 0.0, 0

    def _record(self, overflows, max_abs, elements):
        self.overflows += int(overflows)
        self.max_abs = max(self.max_abs, float(max_abs))
        self.elements += int(elements)

    def _poly(self, x):
        if _kernel_ok(x):
            return _PolyReluFn.apply(x, self)
        t = x.double() / self.bound
        over = int(((t.abs() > 1) | t.isnan()).sum())
        self._record(over, float(x.detach().abs().nan_to_num(0).max()) if x.numel() else 0.0, x.numel())
        return (x.double() * (1 + _sign_torch(t, self.approx)) * 0.5).to(x.dtype)

    def forward(self, x):
        if self.exact:
            if x.numel():
                self._record(0, float(x.detach().abs().nan_to_num(0).max()), x.numel())
            if self._leak is not None:
                self._measure_leak(x)
            return F.relu(x)
        y = self._poly(x)
        if self.offsets is not None:
            shape = [1] * y.dim()
            shape[1 if y.dim() > 1 else 0] = -1
            y = y - self.offsets.to(y.dtype).view(shape)
        return y

    def _measure_leak(self, x):
        with torch.no_grad():
            xd = x.detach().contiguous()
            y = torch.from_numpy(pann.relu(xd.cpu().numpy(), self.approx, self.bound, return_stats=True)[0])
            err = (y.double() - F.relu(xd.cpu()).double())
            dims = [d for d in range(err.dim()) if d != (1 if err.dim() > 1 else 0)]
            sums = err.sum(dim=dims) if dims else err
            count = err.numel() // sums.numel()
            s, n = self._leak
            self._leak = (sums if s is None else s + sums, n + count)

    def extra_repr(self):
        return f"alpha={self.approx.alpha}, degrees={self.approx.degrees}, bound={self.bound:g}" + (
            ", leak-corrected" if self.offsets is not None else "")


class PolyMaxPool2d(nn.Module):
    """k x k max-pool (stride k) as a tree of polynomial maxima max(a, b) ~ ((a+b) + (a-b)*p((a-b)/D_l))/2 with
    pann's range-safe divisors D_l = 2B(1 + 2^(1-alpha))^l: inputs in [-B, B] keep every argument in [-1, 1].
    ``overflows`` counts pairwise arguments beyond 1, ``max_abs`` the largest input.
    """

    def __init__(self, alpha, bound, kernel_size=2, degrees=None):
        super().__init__()
        self.approx = _resolve(alpha, degrees)
        self.bound = float(bound)
        self.kernel_size = int(kernel_size)
        pann.relu(np.zeros(1), self.approx, self.bound)
        self.exact = False
        self.reset_stats()

    reset_stats = PolyReLU.reset_stats
    _record = PolyReLU._record

    def divisors(self):
        levels = math.ceil(math.log2(self.kernel_size ** 2))
        grow = 1.0 + 2.0 ** (1 - self.approx.alpha)
        return [2.0 * self.bound * grow ** l for l in range(levels)]

    def forward(self, x):
        k = self.kernel_size
        if self.exact:
            if x.numel():
                self._record(0, float(x.detach().abs().nan_to_num(0).max()), x.numel())
            return F.max_pool2d(x, k, k)
        if _kernel_ok(x) and not (torch.is_grad_enabled() and x.requires_grad):
            y, st = pann.max_pool(x.detach().contiguous().numpy(), self.approx, self.bound, k, return_stats=True)
            self._record(st["overflows"], st["max_abs"], st["elements"])
            return torch.from_numpy(y)
        return self._tensor_ops(x)

    def _tensor_ops(self, x):
        """The same tree in differentiable tensor ops (float64)."""
        k = self.kernel_size
        h, w = x.shape[-2] // k * k, x.shape[-1] // k * k
        v = x[..., :h, :w].double()
        v = v.reshape(*v.shape[:-2], h // k, k, w // k, k).movedim(-3, -2)
        vals = [v[..., i, j] for i in range(k) for j in range(k)]
        over, level = 0, 0
        divs = self.divisors()
        while len(vals) > 1:
            d = divs[level]
            nxt = []
            for i in range(0, len(vals) - 1, 2):
                a, b = vals[i], vals[i + 1]
                t = (a - b) / d
                over += int(((t.detach().abs() > 1) | t.detach().isnan()).sum())
                nxt.append(((a + b) + (a - b) * _sign_torch(t, self.approx)) * 0.5)
            if len(vals) % 2:
                nxt.append(vals[-1])
            vals, level = nxt, level + 1
        self._record(over, float(x.detach().abs().nan_to_num(0).max()) if x.numel() else 0.0, x.numel())
        return vals[0].to(x.dtype)

    def extra_repr(self):
        return f"alpha={self.approx.alpha}, bound={self.bound:g}, kernel_size={self.kernel_size}"


@dataclass
class Site:
    """One polynomial site of a converted model."""
    name: str
    kind: str  # "relu" or "maxpool"
    bound: float
    overflows: Optional[int]
    max_abs: Optional[float]


@dataclass
class Conversion:
    """What ``convert`` did: the approximation, the rule, each site's bound and overflows on the calibration data,
    and the network's multiplicative depth under CKKS (convolutions and linear layers one level each, batch norm
    and 1/B folded into them, each ReLU its polynomial's depth, each max-pool ceil(log2 k^2) maxima)."""
    alpha: int
    degrees: List[int]
    rule: str
    leak_correction: bool
    sites: List[Site] = field(default_factory=list)
    relu_depth: int = 0
    network_depth: Optional[int] = None
    tries: int = 1
    calibration_images: int = 0

    @property
    def overflows(self):
        if any(s.overflows is None for s in self.sites):
            return None
        return sum(s.overflows for s in self.sites)

    def bounds(self):
        return [s.bound for s in self.sites]

    def __str__(self):
        bs = sorted({round(s.bound, 6) for s in self.sites})
        bound = f"B = {bs[0]:g}" if len(bs) == 1 else f"B = {bs[0]:.3g}..{bs[-1]:.3g} per site"
        seen = (f"overflows {self.overflows} on {self.calibration_images} calibration images, "
                if self.overflows is not None else "")
        head = (f"PANN α = {self.alpha} {self.degrees}, rule {self.rule}"
                f"{' + leak correction' if self.leak_correction else ''}: {len(self.sites)} sites, {bound}, "
                f"{seen}ReLU depth {self.relu_depth}, network depth {self.network_depth}")
        if self.rule == "lee":
            head += f", {self.tries} bound{'s' if self.tries > 1 else ''} tried"
        return head

    def table(self):
        rows = [f"{'site':<28} {'kind':<8} {'B':>9} {'max |x|':>9} {'overflows':>9}"]
        for s in self.sites:
            mx = "-" if s.max_abs is None else f"{s.max_abs:.2f}"
            rows.append(f"{s.name:<28} {s.kind:<8} {s.bound:>9.3f} {mx:>9} {str(s.overflows):>9}")
        return "\n".join(rows)


_RELU_FUNCTIONS = {F.relu, torch.relu, torch.relu_, F.relu_}
_RELU_METHODS = {"relu", "relu_"}


def _is_relu(gm, node):
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), nn.ReLU)
    if node.op == "call_function":
        return node.target in _RELU_FUNCTIONS
    if node.op == "call_method":
        return node.target in _RELU_METHODS
    return False


def _check_pool(m):
    """Only what pann's polynomial max-pool computes: k x k windows, stride k, no padding or dilation."""
    k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
    ks = (m.kernel_size,) * 2 if isinstance(m.kernel_size, int) else tuple(m.kernel_size)
    stride = m.stride if m.stride is not None else m.kernel_size
    st = (stride,) * 2 if isinstance(stride, int) else tuple(stride)
    pad = (m.padding,) * 2 if isinstance(m.padding, int) else tuple(m.padding)
    dil = (m.dilation,) * 2 if isinstance(m.dilation, int) else tuple(m.dilation)
    if ks[0] != ks[1] or st != ks or pad != (0, 0) or dil != (1, 1) or m.ceil_mode or m.return_indices:
        raise pann.PannError(f"{m}: pann's polynomial max-pool takes square k x k windows with stride k, no "
                             "padding, dilation, ceil_mode or indices")
    return k


def _trace_replace(model, approx):
    """A torch.fx copy of ``model`` with every ReLU (module, F.relu, torch.relu, .relu()) and nn.MaxPool2d replaced
    by polynomial modules, in execution order."""
    gm = torch.fx.symbolic_trace(copy.deepcopy(model))
    sites = []
    for node in list(gm.graph.nodes):
        if _is_relu(gm, node):
            kind, mod = "relu", PolyReLU(approx, _LEE_START)
        elif node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.MaxPool2d):
            kind, mod = "maxpool", PolyMaxPool2d(approx, _LEE_START, _check_pool(gm.get_submodule(node.target)))
        else:
            continue
        name = f"pann_{kind}{sum(1 for s in sites if s[1] == kind)}"
        gm.add_submodule(name, mod)
        with gm.graph.inserting_after(node):
            new = gm.graph.call_module(name, args=(node.args[0],))
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
        sites.append((name, kind, mod))
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm, sites


def _module_replace(model, approx):
    """Without torch.fx: nn.ReLU and nn.MaxPool2d modules only (functional ReLUs stay exact)."""
    pnet = copy.deepcopy(model)
    sites = []
    for parent_name, parent in list(pnet.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if isinstance(child, nn.ReLU):
                mod, kind = PolyReLU(approx, _LEE_START), "relu"
            elif isinstance(child, nn.MaxPool2d):
                mod, kind = PolyMaxPool2d(approx, _LEE_START, _check_pool(child)), "maxpool"
            else:
                continue
            setattr(parent, child_name, mod)
            sites.append((full, kind, mod))
    return pnet, sites


_LINEAR_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.ConvTranspose2d)
_LINEAR_FUNCTIONS = {F.conv1d, F.conv2d, F.conv3d, F.linear, torch.matmul, torch.mm, torch.bmm}


def _network_depth(gm, approx):
    """Longest multiplicative path of the traced graph (see ``Conversion``); products of two tensors cost one."""
    depth = {}
    relu_d = approx.relu_depth
    for node in gm.graph.nodes:
        ins = [depth.get(a, 0) for a in node.all_input_nodes]
        d = max(ins, default=0)
        if node.op == "call_module":
            m = gm.get_submodule(node.target)
            if isinstance(m, _LINEAR_MODULES):
                d += 1
            elif isinstance(m, PolyReLU):
                d += relu_d
            elif isinstance(m, PolyMaxPool2d):
                d += math.ceil(math.log2(m.kernel_size ** 2)) * (approx.depth + 1)
        elif node.op in ("call_function", "call_method"):
            name = getattr(node.target, "__name__", node.target)
            if node.target in _LINEAR_FUNCTIONS or name in ("matmul", "mm", "bmm"):
                d += 1
            elif name in ("mul", "mul_") and len(node.all_input_nodes) >= 2:
                d += 1
        depth[node] = d
    out = [n for n in gm.graph.nodes if n.op == "output"]
    return depth[out[0]] if out else None


def _device(model):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _run(pnet, batches, device, stop_on_overflow=False, order=None, polys=()):
    """One pass over the list ``batches`` (in ``order``, a list of batch indices, if given); with
    ``stop_on_overflow``, stops after the first batch in which a site overflowed and returns its index and the
    images run."""
    it = ((i, batches[i]) for i in order) if order is not None else enumerate(batches)
    images = 0
    with torch.no_grad():
        for i, b in it:
            x = (b[0] if isinstance(b, (tuple, list)) else b).to(device)
            pnet(x)
            images += len(x)
            if stop_on_overflow and any(m.overflows for m in polys):
                return i, images
    return None, images


def convert(model, alpha, calibration=None, rule="lee", leak_correction=False, degrees=None, margin=1.1):
    """A PANN copy of ``model``: every ReLU (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``.relu()``) and
    ``nn.MaxPool2d`` replaced by pann's polynomial at precision ``alpha`` (or a ``pann.Approx``), with bounds by
    ``rule`` ("lee", "calibrate" or a number) on the ``calibration`` batches (an iterable of tensors or
    ``(inputs, labels)``; needed unless ``rule`` is a number). The copy is a ``torch.fx.GraphModule`` (or a module
    copy when the model cannot be traced: then functional ReLUs stay exact, with a warning) with the report in
    ``.pann`` (a ``Conversion``).
    """
    approx = _resolve(alpha, degrees)
    if not (isinstance(rule, (int, float)) or rule in ("lee", "calibrate")):
        raise ValueError(f"rule must be 'lee', 'calibrate' or a number, not {rule!r}")
    if (not isinstance(rule, (int, float)) or leak_correction) and calibration is None:
        raise ValueError(f"rule {rule!r}{' with leak_correction' if leak_correction else ''} needs calibration data")
    try:
        pnet, sites = _trace_replace(model, approx)
        traced = True
    except Exception as e:  # torch.fx cannot trace data-dependent control flow
        warnings.warn(f"pann.torch.convert: torch.fx could not trace the model ({e}); replacing nn.ReLU and "
                      "nn.MaxPool2d modules only, functional ReLUs stay exact")
        pnet, sites = _module_replace(model, approx)
        traced = False
    mods = [m for _, _, m in sites]
    relus = [m for _, k, m in sites if k == "relu"]
    device = _device(model)
    was_training = pnet.training
    pnet.eval()
    if calibration is not None:
        calibration = list(calibration)  # several passes; the batches are kept (hard ones first for Lee's rule)
    n_images = 0
    tries = 1

    def set_bounds(bs):
        for m, b in zip(mods, bs):
            m.bound = float(b)

    def reset():
        for m in mods:
            m.reset_stats()

    def measure_leak():
        for m in relus:
            m.offsets = None
            m._leak = (None, 0)
        for m in mods:
            m.exact = True
        _run(pnet, calibration, device)
        for m in mods:
            m.exact = False
        for m in relus:
            s, n = m._leak
            m.offsets = None if s is None else s / max(n, 1)
            m._leak = None

    if isinstance(rule, (int, float)):
        set_bounds([float(rule)] * len(mods))
        if leak_correction:
            measure_leak()
        reset()
        if calibration is not None:
            _, n_images = _run(pnet, calibration, device)
    elif rule == "calibrate":
        for m in mods:
            m.exact = True
        reset()
        _run(pnet, calibration, device)
        for m in mods:
            m.exact = False
            m.bound = m.max_abs * margin if m.max_abs > 0 else 1.0
        if leak_correction:
            measure_leak()
        reset()
        _, n_images = _run(pnet, calibration, device)
    else:  # Lee et al.: global B from 50 in steps of 5, the first with no overflow on the data
        hard = []
        bound = _LEE_START
        while True:
            set_bounds([bound] * len(mods))
            if leak_correction:
                measure_leak()
            reset()
            order = hard + [i for i in range(len(calibration)) if i not in hard]
            failed, n_images = _run(pnet, calibration, device, stop_on_overflow=True, order=order, polys=mods)
            if failed is None:
                break
            if failed not in hard:
                hard.append(failed)
            bound += _LEE_STEP
            tries += 1
            if bound > _LEE_CAP:
                raise pann.PannError(f"α = {approx.alpha}: Lee's range search diverged (B > {_LEE_CAP:g}): "
                                     "the approximate network's inputs keep growing")
    report = Conversion(
        alpha=approx.alpha, degrees=list(approx.degrees), rule=str(rule), leak_correction=leak_correction,
        relu_depth=approx.relu_depth, tries=tries, calibration_images=n_images,
        network_depth=_network_depth(pnet, approx) if traced else None)
    for name, kind, m in sites:
        counted = calibration is not None
        report.sites.append(Site(name, kind, m.bound, m.overflows if counted else None,
                                 m.max_abs if counted else None))
    pnet.train(was_training)
    pnet.pann = report
    return pnet


def accuracy(model, loader):
    """Top-1 accuracy of ``model`` over ``(inputs, labels)`` batches, in eval mode without gradients."""
    device = _device(model)
    was = model.training
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x.to(device)).argmax(1).cpu()
            correct += int((pred == y).sum())
            total += len(y)
    model.train(was)
    return correct / max(total, 1)
