"""The ONNX forms ``costmodel.onnx_export`` writes that exporters rarely emit, read back by
``onnx_import`` (a mixin of its importer, kept apart so that module stays small):

* Sum of n tensors -> add (n inputs);
* Resize with constant ``sizes`` -> upsample (linear + pytorch_half_pixel / half_pixel: torch's
  bilinear with align_corners=False; nearest + asymmetric + floor: torch's nearest);
* MatMul(x, A_w^T) followed by MatMul(A_h, .) with PyTorch's adaptive averaging matrices (the
  writer's form of an adaptive_avgpool whose windows differ in size) -> adaptive_avgpool.
"""
from __future__ import annotations

from .onnx_read import _Unsupported
from .ops import AdaptiveAvgPool, Add, Upsample


class WriterForms:
    def op_Sum(self, n, a):
        ins = self.data_inputs(n)
        if len(ins) != len([i for i in n.input if i]):
            raise _Unsupported("Sum with a constant input")
        if len(ins) == 1:
            return self.alias(n, ins[0])
        self.emit(n, Add(), ins)

    def op_Resize(self, n, a):
        x = self.first_data(n)
        shape = self.g.shape(self.ref(x, n))
        sizes = self.const_list(n.input[3], n) if len(n.input) > 3 and n.input[3] else []
        mode, ctm = a.get("mode", "nearest"), a.get("coordinate_transformation_mode", "half_pixel")
        if mode == "linear" and ctm in ("pytorch_half_pixel", "half_pixel"):
            kind = "bilinear"
        elif mode == "nearest" and ctm == "asymmetric" and a.get("nearest_mode", "round_prefer_floor") == "floor":
            kind = "nearest"
        else:
            raise _Unsupported(f"mode={mode} coordinate_transformation_mode={ctm} (only torch's bilinear "
                               f"(align_corners=False) and nearest are modelled)")
        if len(shape) != 3 or len(sizes) != 4 or tuple(sizes[1:2]) != shape[:1]:
            raise _Unsupported(f"Resize to sizes {sizes} (only H, W of a (N, C, H, W) map, given as sizes)")
        self.emit(n, Upsample(tuple(sizes[2:]), kind), [x])

    def _adaptive_pool(self, n) -> bool:
        """MatMul(x, A_w^T) then MatMul(A_h, .) with PyTorch's adaptive averaging matrices (the
        writer's form of a non-uniform adaptive_avgpool) -> adaptive_avgpool."""
        import numpy as np
        x, w = n.input[0], n.input[1]
        if self.is_static(x) or not self.is_static(w) or len(self.g.shape(self.ref(x, n))) != 3:
            return False
        nxt = self.only_consumer(n.output[0])
        if nxt is None or nxt.op_type != "MatMul" or nxt.input[1] != n.output[0] or not self.is_static(nxt.input[0]):
            return False
        from .onnx_export import adaptive_matrix
        _, h, wd = self.g.shape(self.ref(x, n))
        aw, ah = self.array(w), self.array(nxt.input[0])
        if aw.ndim != 2 or ah.ndim != 2 or aw.shape[0] != wd or ah.shape[1] != h:
            return False
        if not (np.allclose(aw, adaptive_matrix(wd, aw.shape[1]).T)
                and np.allclose(ah, adaptive_matrix(h, ah.shape[0]))):
            return False
        ref = self.g.add(AdaptiveAvgPool((ah.shape[0], aw.shape[1])), [self.ref(x, n)], self.node_names[id(nxt)])
        self.fused.add(id(nxt))
        self.refs[n.output[0]] = ref
        self.refs[nxt.output[0]] = ref
        return True
