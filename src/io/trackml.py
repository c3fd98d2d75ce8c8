"""TrackML-format events: read and write ``eventNNNNNNNNN-{hits,truth,particles}.csv`` (gzip or not).

The public TrackML challenge files (lengths in mm, momenta in GeV, 2 T solenoid):

* hits: ``hit_id,x,y,z,volume_id,layer_id,module_id``
* truth: ``hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight`` (``particle_id`` 0 = noise hit)
* particles: ``particle_id,vx,vy,vz,px,py,pz,q,nhits``

Extra columns (``particle_type``, ``cells``…) are ignored; a missing required column is an error naming the
file and the column. The truth ``weight`` column is optional: where it is absent the challenge's weights
are computed (:func:`src.metrics.trackml_score.hit_weights`), with a warning naming the file. Submissions
are ``eventNNNNNNNNN-submission.csv`` with ``event_id,hit_id,track_id``.

Every problem is a :class:`src.io.errors.ReaderError` naming the file, the event and the column, including
the known slips of other tools' TrackML writers: truth momenta ``tpx,tpy,tpz`` that repeat the positions
``tx,ty,tz``, and a particles file under another name (``eventN-fatras-particles.csv``). Empty cells, NaN or
inf values, an event without hits and one over ``max_event_size`` hits are bad events.

Floats are written with Python's shortest round-trip representation, so write → read is lossless.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.io.errors import CorruptFileError, LayoutError, MissingFieldError, MissingFileError, check_size
from src.io.trackml_checks import check_truth_momenta, typed_column
from src.metrics.trackml_score import hit_weights

log = logging.getLogger(__name__)

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
#: A part under a name other tools write (``event000001000-fatras-particles.csv``,
#: ``event000001000-particles_initial.csv``).
_NEAR_MISS = re.compile(r"^event(\d+)-(?:.+[-_])?(hits|truth|particles)(?:[-_].+)?\.csv(\.gz)?$")


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
    """Event id → {part: file} of every ``eventN-{hits,truth,particles}.csv[.gz]`` in ``directory``.

    A part found only under another tool's name (``eventN-fatras-particles.csv``) is an error saying how
    to rename it."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory of TrackML eventNNNNNNNNN-*.csv files")
    events: dict[int, dict[str, Path]] = {}
    near: dict[tuple[int, str], Path] = {}
    for path in sorted(directory.iterdir()):
        match = _EVENT_FILE.match(path.name)
        if match:
            parts = events.setdefault(int(match.group(1)), {})
            if match.group(2) in parts:
                raise LayoutError(
                    f"both {parts[match.group(2)].name} and {path.name} exist",
                    path=directory,
                    event=int(match.group(1)),
                    field=match.group(2),
                    fix="Keep one of the two files",
                )
            parts[match.group(2)] = path
        elif (slip := _NEAR_MISS.match(path.name)) is not None:
            near[(int(slip.group(1)), slip.group(2))] = path
    for (event_id, part), path in near.items():
        if event_id in events and part not in events[event_id]:
            raise MissingFileError(
                f"no {event_prefix(event_id)}-{part}.csv, but {path.name} (another tool's name for it)",
                path=path,
                event=event_id,
                field=part,
                fix=f"Rename it to {event_prefix(event_id)}-{part}.csv after checking it has the columns "
                f"{','.join(COLUMNS[part])}",
            )
    return dict(sorted(events.items()))


def read_table(path: str | Path, kind: str, *, event: int | None = None) -> pd.DataFrame:
    """Read one TrackML CSV (``kind`` in hits/truth/particles/submission): required columns in their
    canonical order and dtype, extra columns dropped. Raises a ReaderError naming the file and column."""
    path = Path(path)
    if event is None and (match := _EVENT_FILE.match(path.name)) is not None:
        event = int(match.group(1))
    spec = COLUMNS[kind]
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, EOFError, pd.errors.EmptyDataError) as err:
        raise CorruptFileError(
            f"not a readable {kind} CSV file ({type(err).__name__}: {err})",
            path=path,
            event=event,
            fix="Copy or write the file again (it may be cut short or not a CSV file)",
        ) from err
    except Exception as err:  # the CSV parser's own failures on damaged bytes
        raise CorruptFileError(
            f"not a readable {kind} CSV file ({type(err).__name__}: {err})", path=path, event=event
        ) from err
    optional = OPTIONAL.get(kind, frozenset())
    missing = [c for c in spec if c not in frame.columns and c not in optional]
    if missing:
        raise MissingFieldError(
            f"required column(s) {missing} missing (found {list(frame.columns)})",
            path=path,
            event=event,
            field=missing[0],
            fix=f"A TrackML {kind} file has the columns {','.join(spec)}",
        )
    out = {}
    for column, dtype in spec.items():
        if column in frame.columns:
            out[column] = typed_column(frame[column], dtype, path=path, event=event, name=column)
    return pd.DataFrame(out)


def read_event(
    directory: str | Path,
    event_id: int,
    parts: Sequence[str] = PARTS,
    *,
    compute_weights: bool = False,
    max_event_size: int | None = None,
) -> TrackMLEvent:
    """Read the ``parts`` of event ``event_id`` from ``directory`` and check they agree.

    Truth must hold exactly the hits' ``hit_id``s, and every non-noise particle of the truth must be in
    the particles file. The truth ``weight`` is kept as written; it is computed (normalised per event)
    where the column is absent, or everywhere with ``compute_weights``. An event without hits, or with
    more than ``max_event_size`` (None = no limit), is a bad event.
    """
    event_id = int(event_id)
    files = find_events(directory).get(event_id, {})
    missing = [p for p in parts if p not in files]
    if missing:
        prefix = Path(directory) / event_prefix(event_id)
        raise MissingFileError(
            f"{prefix}-{{{','.join(missing)}}}.csv[.gz] not found",
            path=directory,
            event=event_id,
            field=missing[0],
        )
    tables = {p: read_table(files[p], p, event=event_id) for p in parts}
    hits, truth, particles = (tables.get(p) for p in PARTS)
    if hits is not None:
        check_size(len(hits), max_event_size, path=files["hits"], event=event_id, field="hit_id", what="hits")
        if not hits["hit_id"].is_unique:
            raise LayoutError("duplicate hit_id values", path=files["hits"], event=event_id, field="hit_id")
    if truth is not None:
        check_truth_momenta(truth, files["truth"], event_id)
    if truth is not None and hits is not None:
        if len(truth) != len(hits) or not np.array_equal(
            np.sort(truth["hit_id"].to_numpy()), np.sort(hits["hit_id"].to_numpy())
        ):
            raise LayoutError(
                f"hit_id values differ from those of {files['hits'].name}",
                path=files["truth"],
                event=event_id,
                field="hit_id",
            )
        truth = truth.set_index("hit_id").loc[hits["hit_id"]].reset_index()
    if truth is not None and particles is not None:
        if not particles["particle_id"].is_unique:
            raise LayoutError(
                "duplicate particle_id values", path=files["particles"], event=event_id, field="particle_id"
            )
        known = np.isin(truth["particle_id"], particles["particle_id"]) | (truth["particle_id"] == 0)
        if not known.all():
            unknown = truth.loc[~known, "particle_id"].iloc[0]
            raise LayoutError(
                f"particle_id {unknown} of {files['truth'].name} is not listed",
                path=files["particles"],
                event=event_id,
                field="particle_id",
            )
        if "weight" not in truth.columns:
            log.warning(
                "%s: no 'weight' column; computing the challenge's weights from %s",
                files["truth"],
                files["particles"].name,
            )
        if compute_weights or "weight" not in truth.columns:
            truth = truth.assign(weight=truth_weights(truth, particles))
    elif truth is not None and "weight" not in truth.columns:
        raise MissingFieldError(
            "no 'weight' column and no particles file to compute it from",
            path=files["truth"],
            event=event_id,
            field="weight",
            fix="Add the event's particles file (the weights are computed from it) or the weight column",
        )
    return TrackMLEvent(event_id, hits, truth, particles)


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
