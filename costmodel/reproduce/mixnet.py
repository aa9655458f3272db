"""MixNet-S/M/L (arXiv 1907.09595; the official tensorflow/tpu README): parameters and Mult-Adds
(the README's "FLOPs") at 224 x 224, 1000 classes (data/mixnet.csv).

Parameters are counted as the official Keras model does (trainable variables: weights, biases,
BN gamma and beta = ``params_with_bn``; weights + biases alone round to the same 4.1 / 5.0 / 7.3).
"""
TITLES = {"1": "MixNet-S/M/L (official README and arXiv 1907.09595): params and Mult-Adds"}


def notes(tables: dict) -> None:
    tables["1"].notes.append("FLOPs in the MixNet README and paper are Mult-Adds (multiply-accumulates).")
