"""The data-movement ops of ``costmodel.onnx_import`` (a mixin of its importer): concatenation,
splits and channel slices, reshapes (flatten, unflatten, channel shuffle, the views of attention
blocks), padding folded into the next layer, dropout, identity.

* Concat (channel axis) -> concat; Split (channel axis; sizes from the attribute, the input or
  equal parts) -> split; Slice of a channel range (torch's chunk) -> split.
* Reshape (N, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape (N, C, H, W) ->
  channel_shuffle(g); Flatten / Reshape to (N, -1) -> flatten; Reshape of a vector to
  (N, C, H, W) -> unflatten; any other Reshape that keeps the batch dimension -> reshape (a view).
* Pad (constant, H/W only) read by one Conv or pooling -> that node's padding; Dropout ->
  dropout; Identity carries no node.
"""
from __future__ import annotations

import math
from typing import Tuple

from .errors import CostModelError
from .onnx_read import OnnxError, _attrs, _Unsupported, brief
from .ops import ChannelShuffle, Concat, Dropout, Flatten, Split, Unflatten
from .ops_attention import Reshape


class TensorForms:
    def _channel_axis(self, n, axis, x) -> bool:
        rank = len(self.g.shape(self.ref(x, n))) + 1
        return axis in (1, 1 - rank)

    def op_Concat(self, n, a):
        ins = self.data_inputs(n)
        if len(ins) != len([i for i in n.input if i]):
            raise _Unsupported("Concat with a constant input")
        if not self._channel_axis(n, int(a.get("axis", 1)), ins[0]):
            raise _Unsupported(f"Concat on axis {a.get('axis')} (only the channel axis 1 is modelled)")
        if len(ins) == 1:
            return self.alias(n, ins[0])
        self.emit(n, Concat(), ins)

    def op_Split(self, n, a):
        x = self.first_data(n)
        if not self._channel_axis(n, int(a.get("axis", 0)), x):
            raise _Unsupported(f"Split on axis {a.get('axis', 0)} (only the channel axis 1 is modelled)")
        c = self.g.shape(self.ref(x, n))[0]
        outs = [o for o in n.output]
        if "split" in a:
            sizes = list(a["split"])
        elif len(n.input) > 1 and n.input[1]:
            sizes = [int(v) for v in self.value(n.input[1], n)]
        else:
            k = int(a.get("num_outputs", len(outs)))
            if k < 1:
                raise OnnxError(f"{self.where(n)}: num_outputs={k} must be a positive integer")
            if c % k and "num_outputs" not in a:
                raise OnnxError(f"{self.where(n)}: {c} channels cannot be split into {k} equal parts")
            part = -(-c // k)
            sizes = [part] * (k - 1) + [c - part * (k - 1)]
        if len(sizes) != len(outs):
            raise OnnxError(f"{self.where(n)}: {len(sizes)} split sizes {brief(sizes)} for {len(outs)} outputs")
        self.emit(n, Split(tuple(sizes)), [x])

    def op_Slice(self, n, a):
        x = n.input[0]
        if self.opset >= 10:
            starts, ends = self.value(n.input[1], n), self.value(n.input[2], n)
            axes = self.value(n.input[3], n) if len(n.input) > 3 and n.input[3] else list(range(len(starts)))
            steps = self.value(n.input[4], n) if len(n.input) > 4 and n.input[4] else [1] * len(starts)
        else:
            starts, ends = list(a.get("starts", [])), list(a.get("ends", []))
            axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
        if 0 in steps or not len(starts) == len(ends) == len(axes) == len(steps):
            raise OnnxError(f"{self.where(n)}: starts {brief(starts)}, ends {brief(ends)}, axes {brief(axes)} and "
                            f"steps {brief(steps)} must have one entry per sliced axis, steps non-zero")
        if len(starts) != 1 or steps[0] != 1 or not self._channel_axis(n, int(axes[0]), x):
            raise _Unsupported(f"Slice starts={brief(starts)} ends={brief(ends)} axes={brief(axes)} "
                               f"steps={brief(steps)} (only a contiguous channel range is modelled, as a split)")
        c = self.g.shape(self.ref(x, n))[0]
        lo, hi, _ = slice(int(starts[0]), int(max(min(ends[0], 2 ** 62), -2 ** 62))).indices(c)
        if hi <= lo:
            raise _Unsupported(f"empty channel slice [{starts[0]}:{ends[0]}] of {c} channels")
        if (lo, hi) == (0, c):
            return self.alias(n, x)
        parts = [(p, q) for p, q in ((0, lo), (lo, hi), (hi, c)) if q > p]
        ref = self.g.add(Split(tuple(q - p for p, q in parts)), [self.ref(x, n)], self.node_names[id(n)])
        self.refs[n.output[0]] = self.g.outputs_of(ref)[parts.index((lo, hi))]

    def _target(self, n, in_full, allowzero: bool = False) -> Tuple[int, ...]:
        """ONNX Reshape target with 0 (copy) and -1 (infer) resolved."""
        shape = self.const_list(n.input[1], n)
        if allowzero and 0 in shape:
            raise _Unsupported(f"Reshape to {brief(shape)} with allowzero=1 (an empty tensor)")
        out = [in_full[i] if v == 0 and i < len(in_full) else v for i, v in enumerate(shape)]
        if out.count(-1) > 1 or any(v < -1 for v in out) or 0 in out:
            raise OnnxError(f"{self.where(n)}: Reshape target {brief(shape)} is not a valid shape of its "
                            f"{list(in_full)} input (accepted: positive sizes, 0 to copy an input dimension, one -1 "
                            f"to infer)")
        total = math.prod(in_full)
        known = math.prod(v for v in out if v != -1)
        if -1 in out:
            if known == 0 or total % known:
                raise OnnxError(f"{self.where(n)}: cannot reshape {list(in_full)} to {brief(shape)}")
            out[out.index(-1)] = total // known
        if math.prod(out) != total:
            raise OnnxError(f"{self.where(n)}: cannot reshape {list(in_full)} ({total} elements) to "
                            f"{brief(shape)}")
        return tuple(out)

    def _shuffle(self, n, in_full, target):
        """(transpose, reshape) nodes completing a channel shuffle started by reshape ``n``."""
        if len(in_full) != 4 or len(target) != 5 or target[0] != in_full[0] or target[3:] != in_full[2:]:
            return None
        if target[1] * target[2] != in_full[1]:
            return None
        t = self.only_consumer(n.output[0])
        if t is None or t.op_type != "Transpose" or list(_attrs(t).get("perm", [])) != [0, 2, 1, 3, 4]:
            return None
        r = self.only_consumer(t.output[0])
        if r is None or r.op_type != "Reshape" or r.input[0] != t.output[0]:
            return None
        try:
            back = self.const_list(r.input[1], r)
        except (_Unsupported, CostModelError, TypeError, ValueError):
            return None
        full5 = (target[0], target[2], target[1]) + target[3:]
        back = [full5[i] if v == 0 and i < 5 else v for i, v in enumerate(back)]
        if -1 in back:
            known = math.prod(v for v in back if v != -1)
            back[back.index(-1)] = math.prod(in_full) // known if known else -1
        if tuple(back) != in_full:
            return None
        return t, r

    def op_Reshape(self, n, a):
        x = n.input[0]
        if self.is_static(x):
            raise _Unsupported("Reshape of a constant")
        in_full = self.full_shape(x, n)
        target = self._target(n, in_full, bool(a.get("allowzero", 0)))
        hit = self._shuffle(n, in_full, target)
        if hit is not None:
            ref = self.emit(n, ChannelShuffle(target[1]), [x])
            for m in hit:
                self.fused.add(id(m))
                self.refs[m.output[0]] = ref
            return
        if target == in_full:
            return self.alias(n, x)
        if len(target) == 2 and target[0] == in_full[0]:
            if len(in_full) == 2:
                return self.alias(n, x)
            return self.emit(n, Flatten(), [x])
        if target[0] != in_full[0]:
            raise _Unsupported(f"Reshape {list(in_full)} -> {list(target)} merges or splits the batch dimension "
                               f"(modelled: reshapes that keep it)")
        if len(in_full) == 2 and len(target) == 4:
            return self.emit(n, Unflatten(target[1:]), [x])
        self.emit(n, Reshape(target[1:]), [x])  # a view: attention's regrouping into heads and back

    def op_Unsqueeze(self, n, a):
        """Unsqueeze of a tensor -> reshape (a view with axes of size 1 inserted, after the batch);
        of a folded MatMul operand -> ``onnx_attention.fold_unsqueeze``."""
        x = self.first_data(n)
        if x in self.virtual:
            if self.fold_unsqueeze(n, x):
                return
            raise _Unsupported("Unsqueeze of a transposed or scaled MatMul operand at one of its last two axes")
        full = self.full_shape(x, n)
        axes = self.unsqueeze_axes(n, len(full))
        if axes is None:
            raise OnnxError(f"{self.where(n)}: axes must be distinct integers in [{-len(full) - 1}, {len(full)}] "
                            f"(attribute before opset 13, constant input from 13)")
        if axes[0] == 0:
            raise _Unsupported("Unsqueeze at axis 0, before the batch axis")
        shape = list(full)
        for ax in axes:
            shape.insert(ax, 1)
        self.emit(n, Reshape(tuple(shape[1:])), [x])

    def op_Squeeze(self, n, a):
        """Squeeze of axes of size 1 after the batch -> reshape (a view)."""
        x = self.first_data(n)
        full = self.full_shape(x, n)
        axes = a.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            axes = self.const_list(n.input[1], n)
        axes = [i for i, d in enumerate(full) if d == 1 and i] if axes is None else axes
        if not all(-len(full) <= int(v) < len(full) for v in axes):
            raise OnnxError(f"{self.where(n)}: axes {brief(axes)} must be in [{-len(full)}, {len(full) - 1}]")
        axes = sorted({int(v) % len(full) for v in axes})
        if 0 in axes or any(full[i] != 1 for i in axes):
            raise _Unsupported(f"Squeeze of axes {axes} of shape {list(full)} (modelled: axes of size 1 after the "
                               f"batch axis)")
        self.emit(n, Reshape(tuple(d for i, d in enumerate(full) if i and i not in axes) or (1,)), [x])

    def op_Pad(self, n, a):
        x = n.input[0]
        if a.get("mode", "constant") != "constant":
            raise _Unsupported(f"mode {a.get('mode')!r} (only constant padding is modelled)")
        pads = list(a.get("pads", [])) if self.opset < 11 else (
            self.value(n.input[1], n) if len(n.input) > 1 and n.input[1] else [])
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 3 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            raise _Unsupported(f"pads {brief(pads)} (only non-negative H/W padding of a (N, C, H, W) map is "
                               f"modelled)")
        user = self.only_consumer(n.output[0])
        if (user is None or user.op_type not in ("Conv", "MaxPool", "AveragePool") or user.input[0] != n.output[0]
                or (_attrs(user).get("auto_pad", "NOTSET") or "NOTSET") not in ("NOTSET", "VALID")):
            raise _Unsupported("a Pad is modelled only as extra padding of the one Conv or pooling that reads it")
        self.extra_pads[id(user)] = (int(pads[2]), int(pads[6]), int(pads[3]), int(pads[7]))
        self.alias(n, x)

    def op_Flatten(self, n, a):
        x = self.first_data(n)
        if int(a.get("axis", 1)) != 1:
            raise _Unsupported(f"Flatten axis={a.get('axis')} (only axis 1 is modelled)")
        if len(self.g.shape(self.ref(x, n))) == 1:
            return self.alias(n, x)
        self.emit(n, Flatten(), [x])

    def op_Dropout(self, n, a):
        x = n.input[0]
        if len(n.output) > 1 and n.output[1] and self.consumers.get(n.output[1]):
            raise _Unsupported("the mask output is used")
        p = a.get("ratio", 0.5)
        if len(n.input) > 1 and n.input[1] and self.is_static(n.input[1]):
            p = self.value(n.input[1], n)[0]
        ref = self.g.add(Dropout(float(p)), [self.ref(x, n)], self.node_names[id(n)])
        self.refs[n.output[0]] = ref

    def op_Identity(self, n, a):
        src = n.input[0]
        if self.is_static(src):
            self.consts[n.output[0]] = self.static(src)
        else:
            self.alias(n, src)


