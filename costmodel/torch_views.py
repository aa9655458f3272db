"""Exact element order of PyTorch view chains, for the PyTorch importer.

A chain of ``view``/``reshape``/``flatten``/``unflatten``/``squeeze``/``unsqueeze`` (reshapes of
the logical row-major order) and ``transpose``/``permute`` (reorders of the axes), with
``contiguous()`` copies in between, is followed symbolically, without data: the logical tensor is
described as a view of its contiguous base, each logical axis a run of *atoms* (size, stride) in
the base's flat index space, row-major within the axis. A reshape regroups the atoms, splitting
one where an axis boundary falls inside it (possible exactly when the sizes divide; otherwise the
element order is not a strided view of the base and the chain is reported as unsupported), a
permute reorders the axes. ``classify`` then compares the result with the patterns the IR has:
the same order (identity, flatten, unflatten) or ShuffleNet's channel shuffle
(``view(N, g, C/g, H, W) -> transpose(1, 2) -> view(N, C, H, W)``, ShuffleNet V1 section 3.1,
torchvision's ``channel_shuffle``). Exact for any size: no index array is materialized.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

Atom = Tuple[int, int]


def _merged(atoms) -> Tuple[Atom, ...]:
    """Atoms without size-1 entries, adjacent atoms merged where the outer one's stride is the
    inner one's extent (size * stride): the canonical form of an element order."""
    out = []
    for s, st in atoms:
        if s == 1:
            continue
        if out and out[-1][1] == s * st:
            out[-1] = (out[-1][0] * s, st)
        else:
            out.append((s, st))
    return tuple(out)


class Layout:
    """A logical tensor of shape ``shape`` as a strided view of a contiguous base."""

    __slots__ = ("dims",)

    def __init__(self, dims):
        self.dims = tuple(tuple(d) for d in dims)

    @classmethod
    def contiguous(cls, shape: Sequence[int]) -> Layout:
        dims, stride = [], 1
        for s in reversed(tuple(shape)):
            dims.append(((s, stride),))
            stride *= s
        return cls(reversed(dims))

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(math.prod(s for s, _ in d) for d in self.dims)

    def atoms(self) -> Tuple[Atom, ...]:
        return _merged(a for d in self.dims for a in d)

    def reshape(self, shape: Sequence[int]) -> Optional[Layout]:
        """The same elements in row-major order regrouped into ``shape`` (sizes already resolved),
        or None when an axis would not be a strided run of the base."""
        atoms = list(self.atoms())
        if math.prod(shape) != math.prod(self.shape):
            return None
        dims, i = [], 0
        for d in shape:
            run, need = [], d
            while need > 1:
                s, st = atoms[i]
                if s <= need:
                    if need % s:
                        return None
                    run.append((s, st))
                    need //= s
                    i += 1
                else:
                    if s % need:
                        return None
                    run.append((need, st * (s // need)))
                    atoms[i] = (s // need, st)
                    need = 1
            dims.append(tuple(run))
        return Layout(dims)

    def permute(self, perm: Sequence[int]) -> Layout:
        return Layout([self.dims[p] for p in perm])


def resolve_shape(shape: Sequence[int], numel: int) -> Optional[Tuple[int, ...]]:
    """A view target with at most one -1 resolved against ``numel`` elements (None if impossible)."""
    shape = [int(s) for s in shape]
    if shape.count(-1) > 1 or any(s < -1 for s in shape):
        return None
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            return None
        shape[shape.index(-1)] = numel // known
    return tuple(shape) if math.prod(shape) == numel else None


def shuffle_groups(base: Sequence[int], layout: Layout) -> Optional[int]:
    """g when ``layout`` (of shape ``base`` = (N, C, H, W)) is the channel shuffle with g groups
    of its contiguous base, else None."""
    base = tuple(base)
    if len(base) != 4 or layout.shape != base:
        return None
    atoms = layout.atoms()
    if len(atoms) < 2:
        return None
    g = atoms[1][0]
    n, c, h, w = base
    if g < 2 or c % g:
        return None
    ref = Layout.contiguous(base).reshape((n, g, c // g, h, w))
    ref = ref.permute((0, 2, 1, 3, 4)).reshape(base) if ref is not None else None
    return g if ref is not None and ref.atoms() == atoms else None


def same_order(layout: Layout) -> bool:
    """Whether the logical elements are in the base's own (row-major) order."""
    return len(layout.atoms()) <= 1 and all(st == 1 for _, st in layout.atoms())
