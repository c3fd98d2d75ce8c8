"""Real CMS LST line-segment events of the HEPT-CMS study: a directory of ``graph_N.pt`` files.

Each file is a ``torch_geometric.data.Data`` (or a dict of tensors) with ``x`` float32 [N, 23] (the LS
features of :data:`src.event_model.LS_FEATURE_NAMES`) and ``particle_id`` (−1 = fake). It is loaded with
``weights_only=True`` and only PyG's data classes allowed, so no arbitrary code is unpickled.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from src.event_model import N_LS_FEATURES

_GRAPH_FILE = re.compile(r"graph_(\d+)\.pt$")


def find_graph_files(path: str | Path) -> list[Path]:
    """The ``graph_N.pt`` files of a directory, ordered by N."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"dataset.path={path} is not a directory of graph_N.pt files "
            "(e.g. dataset.path=../shared/data/hept-cms-lst/pu100)"
        )
    files = sorted(
        (p for p in path.iterdir() if _GRAPH_FILE.search(p.name)),
        key=lambda p: int(_GRAPH_FILE.search(p.name).group(1)),
    )
    if not files:
        raise FileNotFoundError(f"no graph_N.pt files in dataset.path={path}")
    return files


def read_graph(path: str | Path) -> dict[str, np.ndarray]:
    """``x`` float32 [N, 23] and ``particle_id`` int64 [N] of one ``graph_N.pt`` file."""
    path = Path(path)
    data = _load_pyg_data(path)
    for field in ("x", "particle_id"):
        if field not in data:
            raise KeyError(f"{path}: field '{field}' missing (found {sorted(data)})")
    x = data["x"].float()
    if x.ndim != 2 or x.shape[1] != N_LS_FEATURES:
        raise ValueError(f"{path}: field 'x' has shape {tuple(x.shape)}, expected [N, {N_LS_FEATURES}]")
    pid = data["particle_id"].long().reshape(-1)
    if len(pid) != len(x):
        raise ValueError(f"{path}: 'particle_id' has {len(pid)} entries but 'x' has {len(x)} rows")
    return {"x": x.numpy(), "particle_id": pid.numpy()}


def _load_pyg_data(path: Path) -> dict[str, torch.Tensor]:
    """Load a saved ``torch_geometric.data.Data`` safely and return its tensors."""
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    with torch.serialization.safe_globals([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]):
        try:
            obj = torch.load(path, weights_only=True)
        except Exception as err:
            raise ValueError(
                f"{path}: not a torch_geometric Data file readable without unpickling code: {err}"
            ) from err
    if isinstance(obj, Data):
        return {k: v for k, v in obj.to_dict().items() if isinstance(v, torch.Tensor)}
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    raise ValueError(
        f"{path}: expected a torch_geometric Data or a dict of tensors, got {type(obj).__name__}"
    )
