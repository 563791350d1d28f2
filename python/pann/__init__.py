"""pann: polynomial approximations of neural networks (PANN), from pann's Rust crates.

- ``pann.approx(alpha)`` / ``pann.approx(degrees=[15, 15])``: a certified composite approximation of sign(x);
- ``pann.relu(x, alpha, bound)``, ``pann.sign``, ``pann.max_pool``: its fused kernels on NumPy arrays
  (float32/float64, any shape, the GIL released);
- ``pann.he``: RNS-CKKS (pann-he): contexts, keys, encryption, operations, bootstrapping, encrypted ReLU;
- ``pann.torch`` (``import pann.torch``, needs PyTorch): ``PolyReLU``, ``PolyMaxPool2d``, ``convert``.

Errors from the Rust side are ``pann.PannError`` (a ``ValueError``) carrying the Rust message.
"""
import numpy as _np

from . import _pann
from ._pann import ALPHA_MAX, ALPHA_MIN, Approx, PannError, approx
from . import he

__all__ = ["approx", "Approx", "relu", "sign", "max_pool", "relu_grad", "PannError", "he", "ALPHA_MIN", "ALPHA_MAX"]


def _array(x):
    """float32/float64 arrays pass through untouched (no copy); anything else becomes float64."""
    if isinstance(x, _np.ndarray) and x.dtype in (_np.float32, _np.float64):
        return x
    return _np.asarray(x, dtype=_np.float64)


def relu(x, alpha, bound, *, out=None, return_stats=False):
    """The PANN ReLU x*(1 + p(x/B))/2 elementwise, p the composite sign of precision `alpha` (or a pann.Approx).

    Valid for |x| <= bound; inputs beyond it are still evaluated and counted (``return_stats=True`` returns
    ``(y, {"elements", "overflows", "max_abs"})``). ``out`` may be ``x`` itself (in place). Same dtype as x.
    """
    return _pann.relu(_array(x), alpha, bound, out=out, return_stats=return_stats)


def sign(x, alpha, bound=1.0, *, out=None, return_stats=False):
    """The composite sign approximation p(x/B) elementwise."""
    return _pann.sign(_array(x), alpha, bound, out=out, return_stats=return_stats)


def max_pool(x, alpha, bound, kernel_size=2, *, return_stats=False):
    """Polynomial k x k max-pool (stride k) over the last two axes of x, inputs bounded by `bound`."""
    return _pann.max_pool(_array(x), alpha, bound, kernel_size, return_stats=return_stats)


def relu_grad(x, alpha, bound):
    """d/dx of pann.relu(x, alpha, bound)."""
    return _pann.relu_grad(_array(x), alpha, bound)
