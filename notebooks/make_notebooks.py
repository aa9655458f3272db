"""Generate (and execute, saving the outputs) one notebook per paper, reproducing its tables and
figures with costmodel's public API: build/analyze, sweep, reproduce.run and the plots.

    python notebooks/make_notebooks.py            # write and execute every notebook
    python notebooks/make_notebooks.py --no-run   # write them without outputs

A notebook whose networks are not registered yet is skipped with a message (the zoo grows), so
running this script again after a family lands adds its notebook. tests/test_notebooks.py
executes every notebook in this folder and fails on any cell error.
"""
import argparse
import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = """\
%matplotlib inline
import pandas as pd
import costmodel
from costmodel import plot
from costmodel.reproduce import render, run
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)"""


def reproduce(paper):
    return f'print(render(run("{paper}"), "text"))'


def table(name, **kw):
    args = "".join(f", {k}={v!r}" for k, v in kw.items())
    return (f'g = costmodel.build("{name}"{args})\nrep = costmodel.analyze(g)\n'
            f'print({{k: f"{{v:,}}" for k, v in rep.totals.items()}})\n'
            f'rep.layers[["name", "op", "output_shape", "params", "madds", "flops"]].head(12)')


def figure(names, x="madds", title="", pareto=False):
    return f"plot.figure({names!r}, x={x!r}, title={title!r}, show_pareto={pareto})"


NOTEBOOKS = {
    "mobilenet_v1": {
        "title": "MobileNetV1 (Howard et al. 2017, arXiv 1704.04861)",
        "needs": ["mobilenet_v1"],
        "cells": [
            ("md", "Table 1 network at 1.0-224: per-layer costs (paper Table 1) and totals (Table 2's 569 M "
                   "Mult-Adds, 4.2 M parameters)."),
            ("code", table("mobilenet_v1", alpha=1.0, res=224)),
            ("md", "Tables 2-9 and the 16 TF-slim checkpoints, published beside computed (differences carry the "
                   "explanation recorded in `data/`)."),
            ("code", reproduce("mobilenet_v1")),
            ("md", "The 16 models of Figures 4 and 5 (alpha in {1, 0.75, 0.5, 0.25} x resolution in {224, 192, "
                   "160, 128}) in one vectorized sweep."),
            ("code", 'grid = costmodel.sweep("mobilenet_v1", [1.0, 0.75, 0.5, 0.25], [224, 192, 160, 128])\n'
                     'grid[["alpha", "resolution", "params", "madds", "flops", "mac"]]'),
            ("md", "Figure 4: ImageNet accuracy against Mult-Adds (log scale)."),
            ("code", figure(["mobilenet_v1"], "madds", "MobileNetV1 Figure 4: accuracy vs Mult-Adds")),
            ("md", "Figure 5: ImageNet accuracy against parameters (log scale); the resolution does not change "
                   "the parameter count, so each multiplier is one column."),
            ("code", figure(["mobilenet_v1"], "params", "MobileNetV1 Figure 5: accuracy vs parameters")),
        ],
    },
    "mobilenet_v2": {
        "title": "MobileNetV2 (Sandler et al. 2018, arXiv 1801.04381v4)",
        "needs": ["mobilenet_v2", "mobilenet_v1", "shufflenet_v1"],
        "cells": [
            ("md", "Table 2 network at 1.0-224 (300 M Mult-Adds, 3.4 M parameters)."),
            ("code", table("mobilenet_v2", alpha=1.0, res=224)),
            ("md", "Tables 3-7, the section 6.1 text and the 22 TF-slim checkpoints."),
            ("code", reproduce("mobilenet_v2")),
            ("md", "Section 6.1: multipliers 0.35-1.4 and resolutions 96-224 span 7 M to 585 M Mult-Adds and "
                   "1.7 M to 6.9 M parameters (as printed). A vectorized sweep over the whole range:"),
            ("code", 'grid = costmodel.sweep("mobilenet_v2", [0.35, 0.5, 0.75, 1.0, 1.3, 1.4], '
                     '[96, 128, 160, 192, 224])\n'
                     'grid.agg({"madds": ["min", "max"], "params": ["min", "max"]})'),
            ("md", "Figure 5: MobileNetV2 across multipliers and resolutions against MobileNetV1, ShuffleNet and "
                   "NASNet-A. NASNet-A is not a registry network: it is drawn at its published cost (hollow)."),
            ("code", figure(["mobilenet_v2", "mobilenet_v1", "shufflenet_v1", "NasNet-A"], "madds",
                            "MobileNetV2 Figure 5", pareto=True)),
        ],
    },
    "mobilenet_v3": {
        "title": "MobileNetV3 (Howard et al. 2019, arXiv 1905.02244v5)",
        "needs": ["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"],
        "cells": [
            ("md", "MobileNetV3-Large (Table 1) and -Small (Table 2, final version: 1024-wide head)."),
            ("code", table("mobilenet_v3_large", alpha=1.0, res=224)),
            ("code", table("mobilenet_v3_small", alpha=1.0, res=224)),
            ("md", "Table 3 and the TF-slim release rows, published beside computed."),
            ("code", reproduce("mobilenet_v3")),
            ("md", "Multipliers and resolutions of both models (vectorized sweeps)."),
            ("code", 'pd.concat([costmodel.sweep(n, [0.75, 1.0], [160, 192, 224]) for n in '
                     '("mobilenet_v3_large", "mobilenet_v3_small")])[["network", "alpha", "resolution", '
                     '"params", "madds", "mac"]]'),
            ("md", "Published top-1 against computed Mult-Adds (Table 3's comparison; MnasNet-A1 and "
                   "Proxyless at their published cost)."),
            ("code", figure(["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v3_large_minimal",
                             "mobilenet_v3_small_minimal", "mobilenet_v2", "MnasNet-A1", "Proxyless"], "madds",
                            "MobileNetV3 Table 3: accuracy vs Mult-Adds", pareto=True)),
        ],
    },
    "shufflenet": {
        "title": "ShuffleNet V1 (arXiv 1707.01083v2) and V2 (arXiv 1807.11164)",
        "needs": ["shufflenet_v1", "shufflenet_v2", "mobilenet_v1", "mobilenet_v2"],
        "cells": [
            ("md", "ShuffleNet V1 1x, g = 3 (Table 1) and ShuffleNet V2 1x (Table 5). \"FLOPs\" in both papers "
                   "are Mult-Adds (`madds`)."),
            ("code", table("shufflenet_v1", alpha=1.0, res=224, groups=3)),
            ("code", table("shufflenet_v2", alpha=1.0, res=224)),
            ("md", "Table 1's complexity across group counts (vectorized sweeps, one per g)."),
            ("code", 'pd.concat([costmodel.sweep("shufflenet_v1", [0.25, 0.5, 1.0], [224], groups=g) for g in '
                     '(1, 2, 3, 4, 8)])[["groups", "alpha", "params", "madds"]]'),
            ("md", "ShuffleNet V1 Tables 1, 2, 5/6 and V2 Tables 5, 6, 8, with the release rows."),
            ("code", reproduce("shufflenet_v1")),
            ("code", reproduce("shufflenet_v2")),
            ("md", "ShuffleNet V2 Table 8: accuracy against computed Mult-Adds, with MobileNet V1/V2 and "
                   "ShuffleNet V1."),
            ("code", figure(["shufflenet_v2", "shufflenet_v1", "mobilenet_v1", "mobilenet_v2"], "madds",
                            "ShuffleNet V2 Table 8: accuracy vs Mult-Adds", pareto=True)),
            ("md", "The same points against memory access cost (MAC, guideline G1-G4 of ShuffleNet V2)."),
            ("code", figure(["shufflenet_v2", "shufflenet_v1", "mobilenet_v2"], "mac",
                            "accuracy vs MAC (elements)")),
        ],
    },
    "squeezenet_xception_mixnet": {
        "title": "SqueezeNet (arXiv 1602.07360), Xception (arXiv 1610.02357), MixNet (arXiv 1907.09595)",
        "needs": ["squeezenet1_0", "squeezenet1_1", "xception", "mixnet_s", "mixnet_m", "mixnet_l"],
        "cells": [
            ("md", "SqueezeNet 1.0 Table 1 (per layer, at the 227x227 Caffe crop) and v1.1."),
            ("code", table("squeezenet1_0", res=227)),
            ("code", reproduce("squeezenet")),
            ("md", "Xception (299x299): Table 3's 22,855,952 parameters."),
            ("code", table("xception", res=299)),
            ("code", reproduce("xception")),
            ("md", "MixNet-S/M/L from the official block strings."),
            ("code", 'pd.concat([costmodel.sweep(n, [1.0], [224]) for n in ("mixnet_s", "mixnet_m", "mixnet_l")])'
                     '[["network", "params", "params_with_bn", "madds", "flops"]]'),
            ("code", reproduce("mixnet")),
            ("md", "MixNet against MobileNetV3 and MobileNetV2: published top-1 against computed Mult-Adds."),
            ("code", figure(["mixnet_s", "mixnet_m", "mixnet_l", "mobilenet_v3_large", "mobilenet_v2"], "madds",
                            "MixNet: accuracy vs Mult-Adds", pareto=True)),
        ],
    },
    "mcunet": {
        "title": "MCUNet (arXiv 2007.10319), MCUNetV2 (arXiv 2110.15352), TinyEngine: memory as devices plan it",
        "needs": ["mobilenet_v2", "resnet50"],
        "prelude": ("import os, sys\n"
                    "sys.path.insert(0, os.path.dirname(os.path.abspath('.')))  # this checkout's costmodel"),
        "cells": [
            ("md", "The figures of `data/mcunet.csv` reproduced (`costmodel reproduce mcunet`): each with the "
                   "counting rule that computes it and its exact value; memory sizes in the sources' 1024-byte kB "
                   "(KiB); every difference carries its explanation (docs/memory.md, \"MCUNet figures\")."),
            ("code", 'from costmodel import memory\n'
                     'from costmodel.memory_arena import memory_map_figure, plan_arena\n'
                     'from costmodel.memory_patches import patch_schedule'),
            ("code", reproduce("mcunet")),
            ("md", "MobileNetV2 1.0 @224 int8: the liveness peak is 1,505,280 B (ir2's stride-2 depthwise conv holds "
                   "its 112x112x96 input and 56x56x96 output). With TinyEngine's in-place depthwise conv the "
                   "depthwise needs max(in, out): 1,404,928 B = 1372 KiB, MCUNetV2's per-layer figure. ResNet-50 "
                   "fp32 with the residual add in place: 7,225,344 B, MCUNet's 7.2 MB."),
            ("code", 'g = costmodel.build("mobilenet_v2")\n'
                     'for opts in ("none", "dw", "dw,fused-add"):\n'
                     '    r = memory.report(g, bits=8, inplace=opts)\n'
                     '    print(f"MobileNetV2 int8, in place {opts:12s}: {r[\'peak_bytes\']:>9,d} B at "\n'
                     '          f"{r[\'peak_at\']}")\n'
                     'r50 = costmodel.build("resnet50")\n'
                     'for opts in ("none", "add", "fused-add"):\n'
                     '    r = memory.report(r50, bits=32, inplace=opts)\n'
                     '    print(f"ResNet-50 fp32, in place {opts:10s}: {r[\'peak_bytes\']:>10,d} B at "\n'
                     '          f"{r[\'peak_at\']}")'),
            ("md", "The memory map of TFLite Micro's greedy planner (first fit, largest buffers first) for "
                   "MobileNetV2 int8 with in-place depthwise convs: one rectangle per buffer, time on x, arena "
                   "offset on y. The arena meets the liveness peak (no fragmentation)."),
            ("code", 's = memory.schedule(g, inplace="dw,fused-add")\n'
                     'a = plan_arena(s, "greedy", 8)\n'
                     'print(f"arena {a.arena_bytes:,d} B, liveness peak {a.peak_bytes:,d} B, "\n'
                     '      f"fragmentation {a.fragmentation_bytes:,d} B")\n'
                     'memory_map_figure(a, "MobileNetV2 int8, in-place depthwise: TFLM greedy arena");'),
            ("md", "Greedy is not optimal: for ResNet-50 with in-place adds the blocks that alternate between two "
                   "3.2 MB slots are placed largest-first and the arena stays at 9.6 MB, 25% above the 7.2 MB "
                   "liveness peak (the linear planner, no reuse, needs the sum of all buffers)."),
            ("code", 's = memory.schedule(r50, inplace="add")\n'
                     'for planner in ("greedy", "linear"):\n'
                     '    a = plan_arena(s, planner, 32)\n'
                     '    frag = a.fragmentation_bytes / a.arena_bytes\n'
                     '    print(f"{planner}: arena {a.arena_bytes:,d} B, fragmentation {frag:.1%}")\n'
                     'memory_map_figure(plan_arena(s, "greedy", 32),\n'
                     '                  "ResNet-50 fp32, in-place add: TFLM greedy arena");'),
            ("md", "MCUNetV2's patch-based inference: the first stage runs in 4x4 patches (each carrying its "
                   "receptive-field overlap), the rest layer by layer. With a 10% Mult-Adds budget the split lands "
                   "after ir4 (75x75 input patches), the peak falls to 175,616 B = 172 KiB (MCUNetV2 Table 1), "
                   "8x below per-layer, for 9.3% more Mult-Adds. Every candidate split:"),
            ("code", 'ps = patch_schedule(g, "4x4", "auto", bits=8, inplace="dw,fused-add")\n'
                     'print(ps["split"], ps["peak_bytes"], f"overhead {ps[\'overhead\']:.1%}")\n'
                     'pd.DataFrame(ps["stages"])[["stage", "units", "peak_bytes", "peak_at", "madds"]]'),
            ("code", 'cand = pd.DataFrame(ps["candidates"])\n'
                     'ax = cand.plot(x="split", y="peak_bytes", figsize=(10, 3.5), marker="o", logy=True,\n'
                     '               legend=False,\n'
                     '               title="MobileNetV2 int8, 4x4 patches: peak by split (log scale)")\n'
                     'ax.axhline(1_404_928, color="gray", linestyle="--", label="per-layer 1,404,928 B")\n'
                     'ax.set_xticks(range(len(cand)))\n'
                     'ax.set_xticklabels(cand["split"], rotation=90, fontsize=7)\n'
                     'ax2 = ax.twinx()\n'
                     'ax2.plot(range(len(cand)), 100 * cand["overhead"], color="tab:red", marker=".")\n'
                     'ax2.set_ylabel("Mult-Adds overhead (%)", color="tab:red")\n'
                     'ax.legend(loc="lower left");'),
            ("md", "MCUNet's searched networks from the mcunet configs (data/mcunet_nets.csv): the model zoo's "
                   "MACs and parameters, MCUNet's analytic Act (inputs + outputs, the projection over the "
                   "residual) and TinyEngine's in-place count, which equals TinyEngine's measured STM32F746 peak "
                   "SRAM (tinyengine README @3e6292e)."),
            ("code", 'from costmodel import mcunet\n'
                     'rows = []\n'
                     'for net in mcunet.nets():\n'
                     '    n = mcunet.build(net)\n'
                     '    k = {"bits": "4" if "int4" in net else "8"}\n'
                     '    t = costmodel.analyze(n).totals\n'
                     '    rows.append({"network": net, "res": n.input_shape[-1],\n'
                     '                 "MACs (M)": t["madds"] / 1e6,\n'
                     '                 "params+BN (M)": t["params_with_bn"] / 1e6,\n'
                     '                 "Act (KiB)": mcunet.mcunet_analytic(n, k) / 1024,\n'
                     '                 "in-place (KiB)": mcunet.tinyengine_inplace_dw(n, k) / 1024,\n'
                     '                 "TFLM greedy arena (KiB)": mcunet.tflm_greedy_arena(n, k) / 1024,\n'
                     '                 "weights (KiB)": mcunet.weight_bytes(n, k) / 1024})\n'
                     'pd.DataFrame(rows).round(2)'),
            ("code", 'n = mcunet.build("mcunet-in2")\n'
                     'memory_map_figure(plan_arena(memory.schedule(n, inplace="dw,fused-add"), "greedy", 8),\n'
                     '                  "mcunet-in2 (256kB/1MB) int8, in-place depthwise: TFLM greedy arena");'),
        ],
    },
    "latency": {
        "title": "Latency: measured here, predicted, scored; ShuffleNet V2's guidelines run for real (issue 10)",
        "needs": ["mobilenet_v2", "mobilenet_v3_small"],
        # this checkout's costmodel first (the notebook reads the measurement files committed beside it)
        "prelude": "import os, sys\nsys.path.insert(0, os.path.abspath(\"..\"))  # this checkout's costmodel",
        "cells": [
            ("md", "The measurements are committed in `benchmarks/results/` (written by `python "
                   "benchmarks/bench_latency.py --calibrate --guidelines`), so this notebook needs no long "
                   "measurement; the last cell measures one tiny network live. ShuffleNet V2 section 2 (Tables "
                   "1-4): each guideline's good design against its bad one, as the paper measured it (GPU, ARM) and "
                   "as this machine runs it (onnxruntime, batch 1), beside the calibrated predictor's estimate."),
            ("code", "import json\nfrom costmodel.guidelines import directions, measure_stacks\n"
                     "RES = os.path.join(\"..\", \"benchmarks\", \"results\")\n"
                     "saved = json.load(open(os.path.join(RES, \"guidelines_measured.json\")))\n"
                     "measured = {(r[\"table\"], r[\"config\"], r[\"column\"], r[\"platform\"]): r[\"measured_s\"] "
                     "for r in saved[\"rows\"]}\n"
                     "machine = os.path.join(RES, \"this_machine.json\")\n"
                     "rows = measure_stacks(measured=measured, predict_device=machine)\n"
                     "print(saved[\"cpu\"], \"| threads\", saved[\"threads\"], \"| load average\", "
                     "saved[\"load_average\"])\n"
                     "pd.DataFrame(directions(rows))[[\"table\", \"platform\", \"column\", \"good\", \"bad\", "
                     "\"paper_ratio\", \"measured_ratio\", \"measured_holds\", \"predicted_holds\"]].round(2)"),
            ("md", "Speed of each configuration relative to the guideline's good design (1.0), in the ARM column "
                   "(x1 / c=64, the paper's single-threaded CPU): the paper, this machine, the predictor."),
            ("code", "from matplotlib.figure import Figure\nfrom costmodel.guidelines import TITLES\n"
                     "fig = Figure(figsize=(11, 7), dpi=100)\n"
                     "for i, t in enumerate((1, 2, 3, 4)):\n"
                     "    ax = fig.add_subplot(2, 2, i + 1)\n"
                     "    col = \"x1\" if t in (1, 2) else (\"c=64\" if t == 3 else \"c=32\")\n"
                     "    rs = [r for r in rows if r[\"table\"] == t and r[\"platform\"] == \"ARM\" "
                     "and r[\"column\"] == col]\n"
                     "    ref = {k: next(r for r in rs if r[\"config\"] == directions(rs)[0][\"good\"])[k] "
                     "for k in (\"paper_speed\", \"measured_speed\", \"predicted_speed\")}\n"
                     "    xs = range(len(rs))\n"
                     "    for j, (k, lab) in enumerate(((\"paper_speed\", \"paper (Snapdragon 810)\"), "
                     "(\"measured_speed\", \"measured here\"), (\"predicted_speed\", \"predicted here\"))):\n"
                     "        ax.bar([x + 0.27 * (j - 1) for x in xs], [r[k] / ref[k] for r in rs], 0.27, label=lab)\n"
                     "    ax.set_xticks(list(xs), [r[\"config\"] for r in rs], fontsize=7, rotation=15)\n"
                     "    ax.axhline(1.0, color=\"0.4\", lw=0.6)\n"
                     "    ax.set_title(TITLES[t], fontsize=8)\n"
                     "    ax.set_ylabel(\"speed / good design\", fontsize=8)\n"
                     "fig.axes[0].legend(fontsize=7)\nfig.tight_layout()\nfig"),
            ("md", "How good is the predictor? Scored on configurations left out of each fit (leave-one-family-out "
                   "on this machine, leave-one-out on each published Pixel table), beside the Mult-Adds and MAC "
                   "baselines and the uncalibrated roofline."),
            ("code", "from costmodel.calibrate import evaluate\nfrom costmodel.published import DEVICES\n"
                     "from costmodel.roofline import device\n"
                     "results = [evaluate(device(machine))] + [evaluate(device(n)) for n in DEVICES]\n"
                     "pd.DataFrame([{\"device\": r[\"device\"], \"configs\": r[\"n_configs\"], "
                     "\"within 10%\": r[\"within_10pct\"], \"MAPE\": r[\"mape\"], \"Spearman\": r[\"spearman\"], "
                     "\"Mult-Adds within 10%\": r[\"baselines\"][\"madds\"][\"within_10pct\"], "
                     "\"roofline MAPE\": r[\"baselines\"][\"roofline\"][\"mape\"]} for r in results]).round(3)"),
            ("code", "fig = Figure(figsize=(11, 4.5), dpi=100)\n"
                     "for i, r in enumerate(results[:2]):\n"
                     "    ax = fig.add_subplot(1, 2, i + 1)\n"
                     "    m = [x[\"measured_s\"] * 1e3 for x in r[\"rows\"]]\n"
                     "    ax.scatter(m, [x[\"predicted_s\"] * 1e3 for x in r[\"rows\"]], s=14, label=\"predictor\", "
                     "zorder=3)\n"
                     "    ax.scatter(m, [x[\"madds_s\"] * 1e3 for x in r[\"rows\"]], s=12, marker=\"x\", "
                     "label=\"Mult-Adds-proportional\")\n"
                     "    lo, hi = min(m) * 0.8, max(m) * 1.25\n"
                     "    ax.plot([lo, hi], [lo, hi], color=\"0.3\", lw=0.8)\n"
                     "    ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color=\"0.85\", "
                     "label=\"+-10%\")\n"
                     "    ax.set_xscale(\"log\"); ax.set_yscale(\"log\")\n"
                     "    ax.set_xlabel(\"measured / published (ms)\"); ax.set_ylabel(\"predicted, left out (ms)\")\n"
                     "    ax.set_title(r[\"device\"], fontsize=9); ax.legend(fontsize=7)\n"
                     "fig.tight_layout()\nfig"),
            ("md", "A tiny live measurement (a few runs; `costmodel measure` runs until the median is stable)."),
            ("code", "from costmodel.measure import measure\n"
                     "m = measure(costmodel.build(\"mobilenet_v3_small\", alpha=0.5, res=96), runs=5, warmup=2, "
                     "profile=False)\n"
                     "print(f\"median {m.median_s * 1e3:.3f} ms over {m.runs} runs, {m.backend} {m.backend_version}, "
                     "{m.cpu}\")"),
        ],
    },
}


def make(name: str, spec: dict):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [new_markdown_cell(f"# {spec['title']}\n\nGenerated by `notebooks/make_notebooks.py`; every number is "
                               f"computed by costmodel's public API, every published figure comes from `data/`."),
             new_code_cell(SETUP)]
    if spec.get("prelude"):  # runs before SETUP (e.g. to import this checkout's costmodel)
        cells.insert(1, new_code_cell(spec["prelude"]))
    for kind, src in spec["cells"]:
        cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    nb.cells = cells
    return nb


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-run", action="store_true", help="write the notebooks without executing them")
    ap.add_argument("names", nargs="*", help="only these notebooks")
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(HERE))
    import costmodel
    have = set(costmodel.networks())
    for name, spec in NOTEBOOKS.items():
        if a.names and name not in a.names:
            continue
        missing = [n for n in spec["needs"] if n not in have]
        path = os.path.join(HERE, f"{name}.ipynb")
        if missing:
            print(f"skip {name}: networks not registered yet: {', '.join(missing)}")
            continue
        nb = make(name, spec)
        if not a.no_run:
            from nbclient import NotebookClient
            NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": HERE}}).execute()
        nbformat.write(nb, path)
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
