"""TrackML-format events: read and write ``eventNNNNNNNNN-{hits,truth,particles}.csv`` (gzip or not).

The public TrackML challenge files (lengths in mm, momenta in GeV, 2 T solenoid):

* hits: ``hit_id,x,y,z,volume_id,layer_id,module_id``
* truth: ``hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight`` (``particle_id`` 0 = noise hit)
* particles: ``particle_id,vx,vy,vz,px,py,pz,q,nhits``

Extra columns (``particle_type``, ``cells``…) are ignored; a missing required column is an error naming the
file and the column. The truth ``weight`` column is optional: where it is absent the challenge's weights
are computed (:func:`src.metrics.trackml_score.hit_weights`). Submissions are
``eventNNNNNNNNN-submission.csv`` with ``event_id,hit_id,track_id``.

Floats are written with Python's shortest round-trip representation, so write → read is lossless.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.metrics.trackml_score import hit_weights

#: Required columns and their dtypes, per file kind.
COLUMNS: dict[str, dict[str, str]] = {
    "hits": {
        "hit_id": "int64",
        "x": "float64",
        "y": "float64",
        "z": "float64",
        "volume_id": "int64",
        "layer_id": "int64",
        "module_id": "int64",
    },
    "truth": {
        "hit_id": "int64",
        "particle_id": "int64",
        "tx": "float64",
        "ty": "float64",
        "tz": "float64",
        "tpx": "float64",
        "tpy": "float64",
        "tpz": "float64",
        "weight": "float64",
    },
    "particles": {
        "particle_id": "int64",
        "vx": "float64",
        "vy": "float64",
        "vz": "float64",
        "px": "float64",
        "py": "float64",
        "pz": "float64",
        "q": "int64",
        "nhits": "int64",
    },
    "submission": {"event_id": "int64", "hit_id": "int64", "track_id": "int64"},
}
#: Columns that may be absent (computed instead).
OPTIONAL = {"truth": frozenset({"weight"})}
PARTS = ("hits", "truth", "particles")
_EVENT_FILE = re.compile(r"^event(\d+)-(hits|truth|particles)\.csv(\.gz)?$")


def event_prefix(event_id: int) -> str:
    """``event000001000`` for event 1000 (the TrackML naming, nine digits)."""
    return f"event{int(event_id):09d}"


@dataclass(frozen=True)
class TrackMLEvent:
    """One event as the three TrackML tables (``truth``/``particles`` may be None for test events)."""

    event_id: int
    hits: pd.DataFrame
    truth: pd.DataFrame | None = None
    particles: pd.DataFrame | None = None


def find_events(directory: str | Path) -> dict[int, dict[str, Path]]:
    """Event id → {part: file} of every ``eventN-{hits,truth,particles}.csv[.gz]`` in ``directory``."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory of TrackML eventNNNNNNNNN-*.csv files")
    events: dict[int, dict[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        match = _EVENT_FILE.match(path.name)
        if match:
            parts = events.setdefault(int(match.group(1)), {})
            if match.group(2) in parts:
                raise ValueError(f"{directory}: both {parts[match.group(2)].name} and {path.name} exist")
            parts[match.group(2)] = path
    return dict(sorted(events.items()))


def read_table(path: str | Path, kind: str) -> pd.DataFrame:
    """Read one TrackML CSV (``kind`` in hits/truth/particles/submission): required columns in their
    canonical order and dtype, extra columns dropped. Raises ValueError naming the file and column."""
    path = Path(path)
    spec = COLUMNS[kind]
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a readable {kind} CSV file: {err}") from err
    optional = OPTIONAL.get(kind, frozenset())
    missing = [c for c in spec if c not in frame.columns and c not in optional]
    if missing:
        raise ValueError(
            f"{path}: required column(s) {missing} missing from the {kind} file "
            f"(found {list(frame.columns)}; a TrackML {kind} file has {','.join(spec)})"
        )
    out = {}
    for column, dtype in spec.items():
        if column not in frame.columns:
            continue
        values = frame[column]
        if values.isna().any():
            raise ValueError(
                f"{path}: column '{column}' has empty values (row {int(values.isna().argmax())})"
            )
        try:
            out[column] = values.astype(dtype)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: column '{column}' is not {dtype}: {err}") from err
        if dtype == "int64" and values.dtype.kind == "f" and not np.array_equal(out[column], values):
            raise ValueError(f"{path}: column '{column}' holds non-integer values")
    return pd.DataFrame(out)


def read_event(
    directory: str | Path, event_id: int, parts: Sequence[str] = PARTS, *, compute_weights: bool = False
) -> TrackMLEvent:
    """Read the ``parts`` of event ``event_id`` from ``directory`` and check they agree.

    Truth must hold exactly the hits' ``hit_id``s, and every non-noise particle of the truth must be in
    the particles file. The truth ``weight`` is kept as written; it is computed (normalised per event)
    where the column is absent, or everywhere with ``compute_weights``.
    """
    files = find_events(directory).get(int(event_id), {})
    missing = [p for p in parts if p not in files]
    if missing:
        prefix = Path(directory) / event_prefix(event_id)
        raise FileNotFoundError(f"{prefix}-{{{','.join(missing)}}}.csv[.gz] not found")
    tables = {p: read_table(files[p], p) for p in parts}
    hits, truth, particles = (tables.get(p) for p in PARTS)
    if hits is not None and not hits["hit_id"].is_unique:
        raise ValueError(f"{files['hits']}: duplicate hit_id values")
    if truth is not None and hits is not None:
        if len(truth) != len(hits) or not np.array_equal(
            np.sort(truth["hit_id"].to_numpy()), np.sort(hits["hit_id"].to_numpy())
        ):
            raise ValueError(f"{files['truth']}: hit_id values differ from those of {files['hits'].name}")
        truth = truth.set_index("hit_id").loc[hits["hit_id"]].reset_index()
    if truth is not None and particles is not None:
        if not particles["particle_id"].is_unique:
            raise ValueError(f"{files['particles']}: duplicate particle_id values")
        known = np.isin(truth["particle_id"], particles["particle_id"]) | (truth["particle_id"] == 0)
        if not known.all():
            unknown = truth.loc[~known, "particle_id"].iloc[0]
            raise ValueError(
                f"{files['particles']}: particle_id {unknown} of {files['truth'].name} is not listed"
            )
        if compute_weights or "weight" not in truth.columns:
            truth = truth.assign(weight=truth_weights(truth, particles))
    elif truth is not None and "weight" not in truth.columns:
        raise ValueError(f"{files['truth']}: no 'weight' column and no particles file to compute it from")
    return TrackMLEvent(int(event_id), hits, truth, particles)


def truth_weights(truth: pd.DataFrame, particles: pd.DataFrame) -> np.ndarray:
    """The challenge's per-hit weights of an event from its truth and particles tables."""
    info = particles.set_index("particle_id")
    vz = truth["particle_id"].map(info["vz"]).to_numpy(dtype=np.float64)
    pt = truth["particle_id"].map(np.hypot(info["px"], info["py"])).to_numpy(dtype=np.float64)
    return hit_weights(particle_id=truth["particle_id"].to_numpy(), tz=truth["tz"].to_numpy(), vz=vz, pt=pt)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    compression = {"method": "gzip", "mtime": 0} if path.suffix == ".gz" else None
    frame.to_csv(tmp, index=False, compression=compression)
    tmp.replace(path)
    return path


def write_event(directory: str | Path, event: TrackMLEvent, *, compress: bool = False) -> dict[str, Path]:
    """Write the event's tables as ``eventNNNNNNNNN-{part}.csv`` (``.csv.gz`` with ``compress``)."""
    directory = Path(directory)
    suffix = ".csv.gz" if compress else ".csv"
    out = {}
    for part in PARTS:
        frame = getattr(event, part)
        if frame is None:
            continue
        columns = [c for c in COLUMNS[part] if c in frame.columns]
        missing = [c for c in COLUMNS[part] if c not in frame.columns and c not in OPTIONAL.get(part, ())]
        if missing:
            raise ValueError(f"event {event.event_id}: {part} table lacks column(s) {missing}")
        out[part] = _write(frame[columns], directory / f"{event_prefix(event.event_id)}-{part}{suffix}")
    return out


def write_submission(
    directory: str | Path, event_id: int, hit_id: np.ndarray, track_id: np.ndarray, *, compress: bool = False
) -> Path:
    """Write ``eventNNNNNNNNN-submission.csv`` (event_id,hit_id,track_id) for one event."""
    hit_id, track_id = np.asarray(hit_id).reshape(-1), np.asarray(track_id).reshape(-1)
    if len(hit_id) != len(track_id):
        raise ValueError(f"event {event_id}: {len(hit_id)} hit ids but {len(track_id)} track ids")
    if (track_id < 0).any():
        raise ValueError(f"event {event_id}: track ids must be >= 0 in a TrackML submission")
    frame = pd.DataFrame(
        {"event_id": np.full(len(hit_id), int(event_id)), "hit_id": hit_id, "track_id": track_id}
    )
    suffix = ".csv.gz" if compress else ".csv"
    return _write(frame, Path(directory) / f"{event_prefix(event_id)}-submission{suffix}")


# ---------------------------------------------------------------- per-hit arrays (the hit-level event)

#: The per-hit event arrays shared by simulated and TrackML events (see :func:`event_arrays`).
HIT_ARRAYS = (
    "hit_id",
    "hit_pos",
    "volume_id",
    "layer_id",
    "module_id",
    "particle_id",
    "truth_pos",
    "truth_mom",
    "weight",
    "particle_vertex",
    "particle_mom",
    "particle_q",
    "particle_nhits",
)


def event_arrays(event: TrackMLEvent, *, b_field: float) -> dict[str, np.ndarray]:
    """The hit-level event: one row per hit (mm, GeV) with its truth and its particle's truth.

    ``hit_pos``, ``truth_pos``, ``truth_mom``, ``particle_vertex``, ``particle_mom`` are float64 [N, 3];
    ``weight`` float64 [N]; ids int64 [N]; ``particle_q``/``particle_nhits`` int64 [N] (0 for noise);
    ``event_id`` and ``b_field`` (tesla) are one-element arrays. Noise hits carry zeros as particle truth.
    """
    if event.truth is None or event.particles is None:
        raise ValueError(f"event {event.event_id}: the hit-level event needs truth and particles tables")
    hits, truth = event.hits, event.truth
    info = event.particles.set_index("particle_id")
    pid = truth["particle_id"].to_numpy()

    def per_hit(columns: list[str]) -> np.ndarray:
        values = info.reindex(pid)[columns].to_numpy(dtype=np.float64)
        return np.nan_to_num(values, nan=0.0)

    return {
        "hit_id": hits["hit_id"].to_numpy(np.int64),
        "hit_pos": hits[["x", "y", "z"]].to_numpy(np.float64),
        "volume_id": hits["volume_id"].to_numpy(np.int64),
        "layer_id": hits["layer_id"].to_numpy(np.int64),
        "module_id": hits["module_id"].to_numpy(np.int64),
        "particle_id": pid.astype(np.int64),
        "truth_pos": truth[["tx", "ty", "tz"]].to_numpy(np.float64),
        "truth_mom": truth[["tpx", "tpy", "tpz"]].to_numpy(np.float64),
        "weight": truth["weight"].to_numpy(np.float64),
        "particle_vertex": per_hit(["vx", "vy", "vz"]),
        "particle_mom": per_hit(["px", "py", "pz"]),
        "particle_q": per_hit(["q"])[:, 0].astype(np.int64),
        "particle_nhits": per_hit(["nhits"])[:, 0].astype(np.int64),
        "event_id": np.array([event.event_id], dtype=np.int64),
        "b_field": np.array([b_field], dtype=np.float64),
    }


def arrays_to_event(arrays: Mapping[str, np.ndarray]) -> TrackMLEvent:
    """The TrackML tables of a hit-level event (inverse of :func:`event_arrays`; particles are those with
    hits in the event)."""
    a = {k: np.asarray(v) for k, v in arrays.items()}
    hits = pd.DataFrame(
        {
            "hit_id": a["hit_id"].astype(np.int64),
            **dict(zip("xyz", a["hit_pos"].T.astype(np.float64), strict=True)),
            "volume_id": a["volume_id"].astype(np.int64),
            "layer_id": a["layer_id"].astype(np.int64),
            "module_id": a["module_id"].astype(np.int64),
        }
    )
    truth = pd.DataFrame(
        {
            "hit_id": a["hit_id"].astype(np.int64),
            "particle_id": a["particle_id"].astype(np.int64),
            **dict(zip(("tx", "ty", "tz"), a["truth_pos"].T.astype(np.float64), strict=True)),
            **dict(zip(("tpx", "tpy", "tpz"), a["truth_mom"].T.astype(np.float64), strict=True)),
            "weight": a["weight"].astype(np.float64),
        }
    )
    real = a["particle_id"] != 0
    _, first = np.unique(a["particle_id"][real], return_index=True)
    rows = np.flatnonzero(real)[first]
    particles = pd.DataFrame(
        {
            "particle_id": a["particle_id"][rows].astype(np.int64),
            **dict(zip(("vx", "vy", "vz"), a["particle_vertex"][rows].T.astype(np.float64), strict=True)),
            **dict(zip(("px", "py", "pz"), a["particle_mom"][rows].T.astype(np.float64), strict=True)),
            "q": a["particle_q"][rows].astype(np.int64),
            "nhits": a["particle_nhits"][rows].astype(np.int64),
        }
    )
    return TrackMLEvent(int(a["event_id"].reshape(-1)[0]), hits, truth, particles)
