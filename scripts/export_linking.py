"""Export a trained trackster linker for C++ inference: TorchScript (``.pt``) and ONNX (``.onnx``), both
checked against the Python model (onnxruntime for ONNX) on a test event of the checkpoint's dataset.

Inputs of the exported model, for one event: ``x`` [N, 29] raw node features (src.event_model.
TRACKSTER_FEATURE_NAMES), ``edge_attr`` [E, 7] raw edge features (LINK_FEATURE_NAMES), ``edge_index``
[2, E] int64 (inner, outer trackster); output ``score`` [E], the link probability (the scaling fitted on
training events is inside). The checkpoint's working point is printed (its ``edge_threshold``).

    python scripts/export_linking.py <best.ckpt> [--out exported/linker] [--atol 1e-5]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from omegaconf import OmegaConf

from src.compose import build_datamodule
from src.evaluate import load_checkpoint
from src.tasks.export import export_linking
from src.tasks.linking import LinkingTask

log = logging.getLogger("export_linking")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "ckpt", type=Path, help="checkpoint written by src.train (task=linking model=gnn_linker)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="path without suffix (default: the run's export/linker)"
    )
    parser.add_argument("--atol", type=float, default=1e-5, help="largest allowed score difference")
    parser.add_argument(
        "--set", nargs="*", default=[], help="config overrides of the dataset of the example event"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    task, meta = load_checkpoint(args.ckpt)
    if not isinstance(task, LinkingTask):
        raise SystemExit(f"{args.ckpt}: not a linking checkpoint (task=linking)")
    cfg = OmegaConf.merge(OmegaConf.create(meta["config"]), OmegaConf.from_dotlist(args.set))
    datamodule = build_datamodule(cfg, task.view)
    datamodule.prepare_data()
    datamodule.setup("test")
    test = datamodule.datasets["test"]
    data = max((test[i] for i in range(min(len(test), 10))), key=lambda d: d.edge_index.shape[1])
    out = args.out or args.ckpt.resolve().parents[1] / "export" / "linker"
    diffs = export_linking(task, out, (data.x, data.edge_attr, data.edge_index), atol=args.atol)
    print(
        json.dumps(
            {
                "max_abs_diff": diffs,
                "edge_threshold": float(task.edge_threshold),
                "files": [str(out.with_suffix(s)) for s in (".pt", ".onnx")],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
