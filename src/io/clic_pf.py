"""The MLPF CLIC PF dataset layout: one parquet file holds one record whose fields are lists over events,
``X_track`` [n, 16], ``X_cluster`` [m, 17], ``ytarget_*``/``ycand_*`` [·, ≥ 7] (one particle row per
element), ``genjet`` [k, 4], ``genmet`` (a number per event) — the fields of
``src.event_model.CLIC_PF_FIELDS`` — and, in files we write, ``gen_visible`` [k, 5] (visible generator
particles: PDG id, px, py, pz, E).

:func:`write_clic_pf` writes such a file from per-event dicts of numpy arrays; :func:`read_clic_pf` reads one
back, checking every field's presence and width (a wrong file names itself, the event, the field and what
was expected). Files written by the CLIC postprocessing read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np

from src.event_model import (
    CLIC_PF_FIELDS,
    PF_CLUSTER_FEATURES,
    PF_PARTICLE_FEATURES,
    PF_PARTICLE_KINEMATICS,
    PF_TRACK_FEATURES,
)

#: Width of each matrix field: an exact width, or (minimum, maximum) for particle rows.
WIDTHS: dict[str, int | tuple[int, int]] = {
    "X_track": len(PF_TRACK_FEATURES),
    "X_cluster": len(PF_CLUSTER_FEATURES),
    "ytarget_track": (PF_PARTICLE_KINEMATICS, len(PF_PARTICLE_FEATURES)),
    "ytarget_cluster": (PF_PARTICLE_KINEMATICS, len(PF_PARTICLE_FEATURES)),
    "ycand_track": (PF_PARTICLE_KINEMATICS, len(PF_PARTICLE_FEATURES)),
    "ycand_cluster": (PF_PARTICLE_KINEMATICS, len(PF_PARTICLE_FEATURES)),
    "genjet": 4,
    "gen_visible": 5,
}
#: Fields every file must have (``gen_visible`` is optional).
REQUIRED = tuple(CLIC_PF_FIELDS)
#: Element fields and the particle fields that must have one row per element.
_ROWS_OF = {"ytarget_track": "X_track", "ycand_track": "X_track", "ytarget_cluster": "X_cluster",
            "ycand_cluster": "X_cluster"}  # fmt: skip


def _allowed(name: str) -> tuple[int, int]:
    expected = WIDTHS[name]
    return (expected, expected) if isinstance(expected, int) else expected


def _check_width(path: Path, name: str, widths: Sequence[int], where: str) -> None:
    lo, hi = _allowed(name)
    if len(set(widths)) > 1 or any(not lo <= w <= hi for w in widths):
        raise ValueError(
            f"{path}: field {name} has rows of width {sorted(set(widths))} ({where}); the CLIC PF layout "
            f"needs {lo if lo == hi else f'{lo} to {hi}'} columns in every row"
        )


def _jagged(rows: Sequence[np.ndarray], width: int) -> ak.Array:
    """Events of [n_i, width] matrices as one ``events * var * var * float64`` array."""
    flat = np.concatenate([np.asarray(r, dtype=np.float64).reshape(-1, width) for r in rows])
    inner = ak.unflatten(flat.ravel(), np.full(len(flat), width, dtype=np.int64))
    return ak.unflatten(
        inner, np.array([len(np.asarray(r).reshape(-1, width)) for r in rows], dtype=np.int64)
    )


def write_clic_pf(path: str | Path, events: Sequence[Mapping[str, np.ndarray]]) -> Path:
    """Write PF events (dicts with the CLIC fields, ``gen_visible`` optional) as one parquet file."""
    path = Path(path)
    if not events:
        raise ValueError(f"{path}: no events to write")
    fields = [f for f in (*REQUIRED, "gen_visible") if f in events[0]]
    missing = [f for f in REQUIRED if f not in events[0]]
    if missing:
        raise KeyError(f"{path}: the events lack the CLIC PF field(s) {missing}")
    record = {}
    for name in fields:
        if name == "genmet":
            record[name] = ak.Array(np.array([float(e[name]) for e in events]))
            continue
        shapes = [np.shape(e[name]) for e in events]
        if any(len(shape) != 2 for shape in shapes):
            raise ValueError(
                f"{path}: field {name} must be a [rows, columns] matrix in every event, got {shapes[:4]}"
            )
        widths = [shape[1] for shape in shapes if shape[0]] or [_allowed(name)[1]]
        _check_width(path, name, widths, "writing")
        record[name] = _jagged([e[name] for e in events], widths[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    ak.to_parquet(ak.Record(record), path)
    return path


def _field(data: ak.Array, path: Path, name: str) -> list[np.ndarray]:
    """Every event's matrix of field ``name`` as float32 [n_i, width], the width checked."""
    values = data[name]
    counts = np.asarray(ak.num(values, axis=1), dtype=np.int64)
    widths = np.unique(np.asarray(ak.num(ak.flatten(values, axis=1), axis=1))).tolist()
    _check_width(path, name, widths, f"first event with rows: {int(np.argmax(counts > 0))}")
    width = int(widths[0]) if widths else _allowed(name)[1]
    flat = np.asarray(ak.to_numpy(ak.flatten(values, axis=None)), dtype=np.float32).reshape(-1, width)
    return np.split(flat, np.cumsum(counts)[:-1])


def read_clic_pf(path: str | Path) -> list[dict[str, np.ndarray]]:
    """Every event of a CLIC-layout parquet file as a dict of numpy arrays."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset.path: {path} is not a file (expected a CLIC PF .parquet file)")
    data = ak.from_parquet(path)
    fields = set(data.fields)
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise KeyError(
            f"{path}: no field(s) {missing} (it has {sorted(fields)}); a CLIC PF file needs {list(REQUIRED)}"
        )
    columns = {name: _field(data, path, name) for name in (*WIDTHS,) if name in fields}
    genmet = np.asarray(ak.to_numpy(data["genmet"]), dtype=np.float32)
    events = []
    for i in range(len(genmet)):
        event = {name: rows[i] for name, rows in columns.items()}
        for name, elements in _ROWS_OF.items():
            if len(event[name]) != len(event[elements]):
                raise ValueError(
                    f"{path}: event {i}, field {name} has {len(event[name])} rows but {elements} has "
                    f"{len(event[elements])}; every element needs one (all-zero) particle row"
                )
        event["genmet"] = genmet[i]
        events.append(event)
    return events
