"""Xception (arXiv 1610.02357): Table 3's 22,855,952 parameters, which are Keras's trainable
parameters (weights, FC bias, BN gamma and beta), and Keras's model.summary() counts. The paper
publishes no FLOPs; the exact Mult-Adds at 299 are given as a note. Data: data/xception.csv.
"""
TITLES = {
    "3": "Xception Table 3: parameters",
    "Keras": "Xception in Keras: model.summary() (299x299)",
}


def notes(tables: dict) -> None:
    from .rules import Target
    t = Target("xception", ()).counts()
    tables["3"].notes.append(f"computed at 299 (no published figure): {t['madds']:,} Mult-Adds, {t['flops']:,} FLOPs; "
                             f"conv/FC weights and biases {t['params']:,}, BN channels {t['bn_channels']:,}")
