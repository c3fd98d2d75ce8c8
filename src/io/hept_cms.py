"""Real CMS LST line-segment events of the HEPT-CMS study: a directory of ``graph_N.pt`` files.

Each file is a ``torch_geometric.data.Data`` (or a dict of tensors) with ``x`` float32 [N, 23] (the LS
features of :data:`src.event_model.LS_FEATURE_NAMES`) and ``particle_id`` (−1 = fake). It is loaded with
``weights_only=True`` and only PyG's data classes allowed, so no arbitrary code is unpickled. Every problem
is a :class:`src.io.errors.ReaderError` naming the file, the event (N of ``graph_N.pt``) and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from src.event_model import LS_FEATURE_NAMES, N_LS_FEATURES
from src.io.errors import CorruptFileError, LayoutError, MissingFieldError, check_finite, check_size

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


def graph_number(path: str | Path) -> int | None:
    """N of a ``graph_N.pt`` file name (None for another name)."""
    match = _GRAPH_FILE.search(Path(path).name)
    return int(match.group(1)) if match else None


def read_graph(path: str | Path, *, max_event_size: int | None = None) -> dict[str, np.ndarray]:
    """``x`` float32 [N, 23] and ``particle_id`` int64 [N] of one ``graph_N.pt`` file.

    ``max_event_size`` (LS, None = no limit): a larger event is an
    :class:`src.io.errors.EventTooLargeError`; an empty one or a NaN/inf feature is a bad event too.
    """
    path = Path(path)
    event = graph_number(path)
    data = _load_pyg_data(path, event)
    for field in ("x", "particle_id"):
        if field not in data:
            raise MissingFieldError(
                f"missing (found {sorted(data)})",
                path=path,
                event=event,
                field=field,
                fix="The file must hold x [N, 23] and particle_id [N], as the HEPT-CMS study writes them",
            )
    x = data["x"]
    if x.ndim != 2 or x.shape[1] != N_LS_FEATURES or not x.is_floating_point():
        raise LayoutError(
            f"has shape {tuple(x.shape)} and type {x.dtype}, expected float [N, {N_LS_FEATURES}]",
            path=path,
            event=event,
            field="x",
            fix="The columns are the 23 LS features of src.event_model.LS_FEATURE_NAMES",
        )
    pid = data["particle_id"].reshape(-1)
    if len(pid) != len(x) or (pid.is_floating_point() and not torch.equal(pid, pid.round())):
        raise LayoutError(
            f"has {len(pid)} entries of type {pid.dtype} for {len(x)} rows of 'x' (one integer per LS)",
            path=path,
            event=event,
            field="particle_id",
        )
    check_size(len(x), max_event_size, path=path, event=event, field="x", what="line segments")
    x = x.float().numpy()
    check_finite(x, path=path, event=event, field="x", columns=LS_FEATURE_NAMES)
    return {"x": x, "particle_id": pid.long().numpy()}


def _load_pyg_data(path: Path, event: int | None) -> dict[str, torch.Tensor]:
    """Load a saved ``torch_geometric.data.Data`` safely and return its tensors."""
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    with torch.serialization.safe_globals([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]):
        try:
            obj = torch.load(path, weights_only=True)
        except Exception as err:  # a cut zip, flipped bytes, a pickle with code: never unpickled
            raise CorruptFileError(
                f"not a torch_geometric Data file readable without unpickling code ({type(err).__name__}: "
                f"{err})",
                path=path,
                event=event,
                fix="Copy the file again (it may be cut short) or rewrite it with torch.save of a Data",
            ) from err
    if isinstance(obj, Data):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    raise LayoutError(
        f"expected a torch_geometric Data or a dict of tensors, got {type(obj).__name__}",
        path=path,
        event=event,
    )
