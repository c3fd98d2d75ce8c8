"""TrackML CSV files round-trip losslessly (gzip or not), mini1 reads as real, and every bad input (a cut or
non-CSV file, a missing column, NaN/inf or empty cells, an empty or oversized event, the known slips of other
writers) is an error naming the file, the event and the column."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from src.data.hits import SubsetSpec, TrackMLSource, with_weights
from src.data.sim_hits import SimulatedHitSource, sim_hit_arrays
from src.io.errors import (
    CorruptFileError,
    EmptyEventError,
    EventTooLargeError,
    LayoutError,
    MissingFieldError,
    MissingFileError,
    NonFiniteError,
)
from src.io.trackml import (
    COLUMNS,
    TrackMLEvent,
    arrays_to_event,
    event_arrays,
    find_events,
    read_event,
    read_table,
    write_event,
    write_submission,
)
from src.metrics.trackml_score import ORDER_WEIGHTS, pt_weight
from src.sim.tracker.config import TrackerSimConfig
from src.sim.tracker.simulate import simulate_event

MINI1_EVENT = 1000


def _toy_event(event_id: int = 7, seed: int = 0) -> TrackMLEvent:
    """A small random event with awkward floats, noise hits and an extra column per table."""
    rng = np.random.default_rng(seed)
    n, p = 40, 5
    pid = np.r_[rng.integers(1, p + 1, n - 6), np.zeros(6, dtype=np.int64)] * 4503599627370497
    hit_id = rng.permutation(n) + 1
    hits = pd.DataFrame(
        {
            "hit_id": hit_id,
            "x": rng.normal(0, 300, n),
            "y": rng.normal(0, 300, n) / 3.0,
            "z": rng.normal(0, 1000, n) * np.pi,
            "volume_id": rng.integers(7, 19, n),
            "layer_id": 2 * rng.integers(1, 8, n),
            "module_id": rng.integers(1, 3000, n),
            "cells": rng.integers(1, 9, n),  # extra
        }
    )
    truth = pd.DataFrame(
        {
            "hit_id": hit_id,
            "particle_id": pid,
            **{c: rng.normal(0, 100, n) for c in ("tx", "ty", "tz")},
            **{c: rng.normal(0, 1, n) for c in ("tpx", "tpy", "tpz")},
            "weight": rng.random(n) / n,
        }
    )
    ids = np.arange(1, p + 1) * 4503599627370497
    particles = pd.DataFrame(
        {
            "particle_id": ids,
            **{c: rng.normal(0, 0.1, p) for c in ("vx", "vy", "vz")},
            **{c: rng.normal(0, 1, p) for c in ("px", "py", "pz")},
            "q": rng.choice([-1, 1], p),
            "nhits": rng.integers(4, 15, p),
            "particle_type": rng.integers(0, 300, p),  # extra
        }
    )
    return TrackMLEvent(event_id, hits, truth, particles)


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_is_lossless_and_drops_extra_columns(tmp_path, compress: bool) -> None:
    event = _toy_event()
    paths = write_event(tmp_path, event, compress=compress)
    assert all(p.name.endswith(".csv.gz" if compress else ".csv") for p in paths.values())
    assert paths["hits"].name == f"event000000007-hits.csv{'.gz' if compress else ''}"
    back = read_event(tmp_path, 7)
    for part in ("hits", "truth", "particles"):
        expected = getattr(event, part)[list(COLUMNS[part])]
        pd.testing.assert_frame_equal(getattr(back, part), expected, check_exact=True)
    # hit-level arrays and back: the same tables
    again = arrays_to_event(event_arrays(back, b_field=2.0))
    pd.testing.assert_frame_equal(again.hits, back.hits, check_exact=True)
    pd.testing.assert_frame_equal(again.truth, back.truth, check_exact=True)
    used = back.particles[back.particles["particle_id"].isin(back.truth["particle_id"])].reset_index(
        drop=True
    )
    pd.testing.assert_frame_equal(again.particles, used, check_exact=True)


@pytest.mark.parametrize(
    "part,column", [("hits", "volume_id"), ("truth", "tpz"), ("particles", "nhits"), ("particles", "q")]
)
def test_missing_column_names_file_and_field(tmp_path, part: str, column: str) -> None:
    paths = write_event(tmp_path, _toy_event())
    frame = pd.read_csv(paths[part]).drop(columns=[column])
    frame.to_csv(paths[part], index=False)
    with pytest.raises(MissingFieldError, match=column) as err:
        read_event(tmp_path, 7)
    assert str(paths[part]) in str(err.value) and "event 7" in str(err.value)
    assert f"field '{column}'" in str(err.value)


def test_bad_files_are_named(tmp_path) -> None:
    event = _toy_event()
    truth = event.truth.copy()
    truth.loc[3, "particle_id"] = 12345  # not in the particles file
    write_event(tmp_path, TrackMLEvent(7, event.hits, truth, event.particles))
    with pytest.raises(ValueError, match="12345") as err:
        read_event(tmp_path, 7)
    assert "particles.csv" in str(err.value)
    with pytest.raises(MissingFileError, match="event000000008"):
        read_event(tmp_path, 8)
    (tmp_path / "event000000007-hits.csv").write_text("hit_id,x\n1,abc\n")
    with pytest.raises(ValueError, match=r"hits\.csv"):
        read_table(tmp_path / "event000000007-hits.csv", "hits")


def test_missing_weights_are_computed(tmp_path, caplog) -> None:
    event = _toy_event()
    paths = write_event(
        tmp_path, TrackMLEvent(7, event.hits, event.truth.drop(columns="weight"), event.particles)
    )
    with caplog.at_level(logging.WARNING, logger="src.io.trackml"):
        back = read_event(tmp_path, 7)
    assert back.truth["weight"].sum() == pytest.approx(1.0)
    assert (back.truth.loc[back.truth["particle_id"] == 0, "weight"] == 0).all()
    assert str(paths["truth"]) in caplog.text and "no 'weight' column" in caplog.text
    paths["particles"].unlink()  # and nothing to compute them from
    with pytest.raises(MissingFieldError) as err:
        read_event(tmp_path, 7, parts=("hits", "truth"))
    _named(err.value, paths["truth"], "weight")


def _named(err: Exception, path, field: str | None, event: int = 7) -> None:
    message = str(err)
    assert str(path) in message and f"event {event}" in message
    if field is not None:
        assert f"field '{field}'" in message


def test_momenta_repeating_the_positions(tmp_path) -> None:
    event = _toy_event()
    truth = event.truth.assign(tpx=event.truth["tx"], tpy=event.truth["ty"], tpz=event.truth["tz"])
    paths = write_event(tmp_path, TrackMLEvent(7, event.hits, truth, event.particles))
    with pytest.raises(LayoutError) as err:
        read_event(tmp_path, 7)
    _named(err.value, paths["truth"], "tpx")
    assert "repeat the positions" in str(err.value)


@pytest.mark.parametrize(
    "name", ["event000000007-fatras-particles.csv", "event000000007-particles_initial.csv"]
)
def test_a_particles_file_under_another_tools_name(tmp_path, name: str) -> None:
    paths = write_event(tmp_path, _toy_event())
    fatras = paths["particles"].rename(tmp_path / name)
    with pytest.raises(MissingFileError) as err:
        read_event(tmp_path, 7)
    _named(err.value, fatras, "particles")
    assert "Rename it to event000000007-particles.csv" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("part", "column", "value"), [("hits", "x", "inf"), ("truth", "tz", ""), ("particles", "px", "nan")]
)
def test_non_finite_and_empty_cells(tmp_path, part: str, column: str, value: str) -> None:
    paths = write_event(tmp_path, _toy_event())
    frame = pd.read_csv(paths[part]).astype({column: object})
    frame.loc[2, column] = value
    frame.to_csv(paths[part], index=False)
    with pytest.raises(NonFiniteError) as err:
        read_event(tmp_path, 7)
    _named(err.value, paths[part], column)


def test_cut_files(tmp_path) -> None:
    paths = write_event(tmp_path, _toy_event(), compress=True)
    data = paths["truth"].read_bytes()
    paths["truth"].write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError) as err:
        read_event(tmp_path, 7)
    _named(err.value, paths["truth"], None)
    paths = write_event(tmp_path / "plain", _toy_event())
    text = paths["hits"].read_text()
    paths["hits"].write_text(text[: len(text) // 2])  # cut inside a line: empty cells in the last row
    with pytest.raises((NonFiniteError, LayoutError)) as err:
        read_event(tmp_path / "plain", 7)
    _named(err.value, paths["hits"], None)


def test_empty_and_oversized_events(tmp_path) -> None:
    event = _toy_event()
    paths = write_event(tmp_path, event)
    with pytest.raises(EventTooLargeError) as err:
        read_event(tmp_path, 7, max_event_size=39)
    _named(err.value, paths["hits"], "hit_id")
    assert read_event(tmp_path, 7, max_event_size=40).hits.shape[0] == 40
    write_event(tmp_path, TrackMLEvent(7, event.hits[:0], event.truth[:0], event.particles))
    with pytest.raises(EmptyEventError) as err:
        read_event(tmp_path, 7)
    _named(err.value, paths["hits"], "hit_id")


def test_submission_file(tmp_path) -> None:
    path = write_submission(tmp_path, 1000, np.array([3, 1, 2]), np.array([0, 0, 5]))
    assert path.name == "event000001000-submission.csv"
    frame = read_table(path, "submission")
    assert frame.columns.tolist() == ["event_id", "hit_id", "track_id"]
    assert frame["event_id"].eq(1000).all()
    with pytest.raises(ValueError, match="track ids"):
        write_submission(tmp_path, 1, np.array([1]), np.array([-1]))


@pytest.mark.requiresdata
def test_reads_the_real_mini1_event(shared_data) -> None:
    directory = shared_data / "trackml" / "mini1"
    assert list(find_events(directory)) == [MINI1_EVENT]
    event = read_event(directory, MINI1_EVENT)
    assert len(event.hits) == 546 and len(event.particles) == 81
    assert int((event.truth["particle_id"] == 0).sum()) == 130
    assert event.truth["weight"].sum() == pytest.approx(1.0)
    arrays = event_arrays(event, b_field=2.0)
    assert arrays["hit_pos"].shape == (546, 3) and arrays["event_id"].tolist() == [MINI1_EVENT]


@pytest.mark.requiresdata
def test_mini1_weights_follow_the_challenge_definition(shared_data) -> None:
    # mini1 keeps the full event's weights of its pT > 1 GeV particles, rescaled by one constant: every
    # weighted particle's weights, in |tz - vz| order, divided by its pT weight and the constant, are a
    # subsequence (hits outside the subsample are missing) of the order-weight row of its full-event nhits.
    event = read_event(shared_data / "trackml" / "mini1", MINI1_EVENT)
    truth = event.truth[event.truth["weight"] > 0]
    particles = event.particles.set_index("particle_id")
    scaled = {}
    for pid, hits in truth.groupby("particle_id"):
        info = particles.loc[pid]
        order = np.argsort(np.abs(hits["tz"].to_numpy() - info["vz"]), kind="stable")
        weights = hits["weight"].to_numpy()[order] / pt_weight(np.hypot(info["px"], info["py"]))
        scaled[pid] = (weights, ORDER_WEIGHTS[min(int(info["nhits"]), 20)], len(hits) == info["nhits"])
    constants = [w[0] / row[0] for w, row, complete in scaled.values() if complete]
    assert constants and len(scaled) >= 5
    for pid, (weights, row, _) in scaled.items():
        expected = iter(row)
        assert all(any(np.isclose(w, e, rtol=1e-4) for e in expected) for w in weights / constants[0]), pid
    assert pt_weight([0.01, 0.3, 0.5, 1.75, 3.0, 10.0]).tolist() == pytest.approx([0, 0.2, 0.2, 0.6, 1, 1])


def test_simulated_events_write_and_read_back(tmp_path) -> None:
    cfg = TrackerSimConfig(pileup=0)
    arrays = sim_hit_arrays(simulate_event(cfg, 4), cfg, event_id=42)
    (sub,) = SubsetSpec(particles=(10, 20)).apply(arrays, rng=np.random.default_rng(0), event_ids=[42])
    sub = with_weights(sub)
    write_event(tmp_path, arrays_to_event(sub), compress=True)
    back = event_arrays(read_event(tmp_path, 42), b_field=cfg.b_field)
    for key, value in sub.items():
        if key in ("particle_nhits",):
            continue
        np.testing.assert_array_equal(back[key], value, err_msg=key)
    source = TrackMLSource(tmp_path)
    assert len(source) == 1 and int(source.load(0)["event_id"][0]) == 42
    weights = back["weight"]
    assert weights.sum() == pytest.approx(1.0) and (weights[back["particle_id"] == 0] == 0).all()


def test_simulated_source_caches_subsets(tmp_path) -> None:
    kw = {"n_events": 4, "seed": 3, "cache_dir": tmp_path, "subsets": SubsetSpec((10, 20), per_event=2)}
    source = SimulatedHitSource(TrackerSimConfig(pileup=0), **kw)
    source.prepare(progress=False)
    events = [source.load(i) for i in range(4)]
    assert [int(e["event_id"][0]) for e in events] == [0, 1, 2, 3]
    for e in events:
        n = len(np.unique(e["particle_id"][e["particle_id"] > 0]))
        assert 10 <= n <= 20
        assert float(e["weight"].sum()) == pytest.approx(1.0)
    again = SimulatedHitSource(TrackerSimConfig(pileup=0), **kw)
    assert again.fingerprint == source.fingerprint and not again.cache.missing(4)
    other = SimulatedHitSource(
        TrackerSimConfig(pileup=0), **{**kw, "subsets": SubsetSpec((10, 30), per_event=2)}
    )
    assert other.fingerprint != source.fingerprint
