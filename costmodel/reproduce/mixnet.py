"""MixNet-S/M/L (arXiv 1907.09595; the official tensorflow/tpu README): parameters and Mult-Adds
(the README's "FLOPs") at 224 x 224, 1000 classes (data/mixnet.csv).

Parameters are counted as the official Keras model does (trainable variables: weights, biases,
BN gamma and beta = ``params_with_bn``; weights + biases alone round to the same 4.1 / 5.0 / 7.3).
"""
from __future__ import annotations

from typing import List

from . import Comparison, model_rows

PAPER = "mixnet"
TITLES = {"1": "MixNet-S/M/L (official README and arXiv 1907.09595): params and Mult-Adds"}


def tables() -> List[Comparison]:
    comps = model_rows(PAPER, "mixnet.csv", TITLES)
    comps[0].notes.append("FLOPs in the MixNet README and paper are Mult-Adds (multiply-accumulates).")
    return comps
