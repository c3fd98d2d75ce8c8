"""Fuzzed readers: random truncations, byte flips, missing branches/columns/keys and non-finite values fed to
every reader, on copies of the real sample files and on files our writers wrote; nothing escapes but the
project's own ReaderError (or a clean read), and a removed required field or a NaN/inf feature is always
caught.

The number of examples per property comes from the Hypothesis profile ``HEPRECO_FUZZ`` (``ci``: a few
minutes for the whole file on 2 cores, the default; ``thorough``: many more)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import uproot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_geometric.data import Data

from src.data.ticl import TICLNtupleSource
from src.event_model import N_LS_FEATURES
from src.io.edm4hep import check_event, read_events, write_events
from src.io.edm4hep.reader import FINITE_FIELDS
from src.io.errors import MissingFieldError, NonFiniteError, ReaderError
from src.io.hept_cms import read_graph
from src.io.lst_ntuple import REQUIRED, TRUTH, LSTNtuple, write_lst_ntuple
from src.io.ticl_dumper import SIM_TRACKSTERS, TRACKSTERS, write_ticl_dumper
from src.io.trackml import COLUMNS, OPTIONAL, PARTS, read_event, write_event
from src.reco.ticl import TICLConfig, reconstruct
from tests.io.edm4hep.conftest import B_FIELD, handmade_event, rewrite_without
from tests.io.test_trackml import _toy_event
from tests.reco.hgcal_events import hgcal_event, random_particles

settings.register_profile(
    "ci", max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HEPRECO_FUZZ", "ci"))


def _only_reader_errors(read: Callable[[], object]) -> ReaderError | None:
    """Run ``read``: a clean read gives None, a ReaderError is returned; anything else fails the test."""
    try:
        read()
    except ReaderError as err:
        assert str(err.path) in str(err)
        return err
    return None


@st.composite
def _damage(draw: st.DrawFn, size: int) -> tuple[str, list[tuple[int, int]] | int]:
    """A truncation point or a few (position, xor mask) byte flips of a file of ``size`` bytes."""
    if draw(st.booleans()):
        return "cut", draw(st.integers(0, size - 1))
    flips = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=8))
    return "flip", flips


def _damaged(data: bytes, damage: tuple) -> bytes:
    kind, how = damage
    if kind == "cut":
        return data[:how]
    out = bytearray(data)
    for pos, mask in how:
        out[pos] ^= mask
    return bytes(out)


class _Scratch:
    """A fresh file path per Hypothesis example (function-scoped fixtures are not reset between them)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def file(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(dir=self.base)) / name


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> _Scratch:
    return _Scratch(tmp_path_factory.mktemp("fuzz"))


# ------------------------------------------------------------------------------------------- LST ntuples


@pytest.fixture(scope="module")
def ntuple_file(ntuple_events, tmp_path_factory) -> Path:
    return write_lst_ntuple(tmp_path_factory.mktemp("ntuple") / "sim.root", ntuple_events)


def _read_ntuple(path: Path) -> None:
    ntuple = LSTNtuple(path, max_event_size=10_000)
    for entry in range(len(ntuple)):
        event = ntuple.read(entry)
        assert np.isfinite(event["x"]).all()


@given(data=st.data())
def test_ntuple_damaged_bytes(ntuple_file, scratch, data) -> None:
    original = ntuple_file.read_bytes()
    path = scratch.file("damaged.root")
    path.write_bytes(_damaged(original, data.draw(_damage(len(original)))))
    _only_reader_errors(lambda: _read_ntuple(path))


@given(branch=st.sampled_from(sorted(set(REQUIRED) | set(TRUTH) | {"LS_isFake", "LS_sim_pt", "sim_pt"})))
def test_ntuple_missing_branch(ntuple_events, scratch, branch: str) -> None:
    path = write_lst_ntuple(
        scratch.file("missing.root"), [{k: v for k, v in e.items() if k != branch} for e in ntuple_events]
    )
    err = _only_reader_errors(lambda: _read_ntuple(path))
    if branch in REQUIRED or branch == "LS_SimTrkIdx":
        assert isinstance(err, MissingFieldError) and err.field == branch


_FLOATS = [*REQUIRED[:8], "MD_dphichange", "LS_phi", "LS_eta", "LS_pt"]


@given(
    where=st.tuples(st.integers(0, 2), st.sampled_from(_FLOATS), st.integers(0, 10**6)),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_ntuple_non_finite_feature(ntuple_events, scratch, where: tuple[int, str, int], value: float) -> None:
    event, branch, row = where
    events = [{k: np.array(v, copy=True) for k, v in e.items()} for e in ntuple_events]
    events[event][branch][row % len(events[event][branch])] = value
    path = write_lst_ntuple(scratch.file("nan.root"), events)
    err = _only_reader_errors(lambda: _read_ntuple(path))
    assert isinstance(err, NonFiniteError) and err.event == event and err.field == branch


# ------------------------------------------------------------------------------------- HEPT-CMS raw events


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory) -> list[Path]:
    """A small graph_N.pt written as the study writes them, and a copy of a real one when available."""
    from tests.conftest import SHARED_DATA

    base = tmp_path_factory.mktemp("graphs")
    gen = torch.Generator().manual_seed(0)
    files = [base / "graph_0.pt"]
    torch.save(
        Data(x=torch.randn(200, N_LS_FEATURES, generator=gen), particle_id=torch.arange(200)), files[0]
    )
    real = SHARED_DATA / "hept-cms-lst" / "pu50" / "graph_0.pt"
    if real.is_file():
        files.append(Path(shutil.copy(real, base / "graph_1.pt")))
    return files


@given(data=st.data())
def test_graph_damaged_bytes(graph_files, scratch, data) -> None:
    original = data.draw(st.sampled_from(graph_files))
    raw = original.read_bytes()
    path = scratch.file(original.name)
    path.write_bytes(_damaged(raw, data.draw(_damage(len(raw)))))
    _only_reader_errors(lambda: read_graph(path, max_event_size=10**6))


@given(data=st.data())
def test_graph_missing_key_or_non_finite(graph_files, scratch, data) -> None:
    original = data.draw(st.sampled_from(graph_files))
    graph = torch.load(original, weights_only=False)
    fields = {"x": graph.x.clone(), "particle_id": graph.particle_id.clone()}
    path = scratch.file(original.name)
    if data.draw(st.booleans()):
        drop = data.draw(st.sampled_from(sorted(fields)))
        torch.save(Data(**{k: v for k, v in fields.items() if k != drop}), path)
        err = _only_reader_errors(lambda: read_graph(path))
        assert isinstance(err, MissingFieldError) and err.field == drop
        return
    row, col = data.draw(st.integers(0, len(fields["x"]) - 1)), data.draw(st.integers(0, N_LS_FEATURES - 1))
    fields["x"][row, col] = data.draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
    torch.save(Data(**fields), path)
    err = _only_reader_errors(lambda: read_graph(path))
    assert isinstance(err, NonFiniteError) and f"at row {row}" in str(err)


# ------------------------------------------------------------------------------------------------ TrackML


@pytest.fixture(scope="module")
def trackml_dirs(tmp_path_factory) -> list[Path]:
    """A toy event written by our writer, and a copy of the real mini1 event when available."""
    from tests.conftest import SHARED_DATA

    written = tmp_path_factory.mktemp("trackml_written")
    write_event(written, _toy_event())
    dirs = [written]
    real = SHARED_DATA / "trackml" / "mini1"
    if real.is_dir():
        dirs.append(Path(shutil.copytree(real, tmp_path_factory.mktemp("trackml_real") / "mini1")))
    return dirs


def _event_copy(source: Path, scratch: _Scratch) -> tuple[Path, int, dict[str, Path]]:
    target = scratch.file("x").parent
    for f in source.iterdir():
        shutil.copy(f, target / f.name)
    files = {p: next(target.glob(f"event*-{p}.csv*")) for p in PARTS}
    return target, int(files["hits"].name[5:14]), files


@given(data=st.data())
def test_trackml_damaged_bytes(trackml_dirs, scratch, data) -> None:
    directory, event_id, files = _event_copy(data.draw(st.sampled_from(trackml_dirs)), scratch)
    target = files[data.draw(st.sampled_from(PARTS))]
    raw = target.read_bytes()
    target.write_bytes(_damaged(raw, data.draw(_damage(len(raw)))))
    _only_reader_errors(lambda: read_event(directory, event_id, max_event_size=10**6))


@given(data=st.data())
def test_trackml_missing_column_or_non_finite(trackml_dirs, scratch, data) -> None:
    directory, event_id, files = _event_copy(data.draw(st.sampled_from(trackml_dirs)), scratch)
    part = data.draw(st.sampled_from(PARTS))
    frame = pd.read_csv(files[part])
    if data.draw(st.booleans()):
        column = data.draw(st.sampled_from(sorted(COLUMNS[part])))
        frame.drop(columns=[column]).to_csv(files[part], index=False)
        err = _only_reader_errors(lambda: read_event(directory, event_id))
        if column not in OPTIONAL.get(part, ()):
            assert isinstance(err, MissingFieldError) and err.field == column
        return
    floats = [c for c, t in COLUMNS[part].items() if t == "float64" and c in frame.columns]
    column = data.draw(st.sampled_from(floats))
    row = data.draw(st.integers(0, len(frame) - 1))
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = data.draw(st.sampled_from(["nan", "inf", "-inf", ""]))
    frame.to_csv(files[part], index=False)
    err = _only_reader_errors(lambda: read_event(directory, event_id))
    assert isinstance(err, NonFiniteError) and err.field == column


# ------------------------------------------------------------------------------------------------ EDM4hep


@pytest.fixture(scope="module")
def edm4hep_files(tmp_path_factory) -> list[Path]:
    """A file of our writer (three hand-made events), and copies of the two real files when available."""
    from tests.conftest import SHARED_DATA

    base = tmp_path_factory.mktemp("edm4hep")
    files = [write_events(base / "written.root", [handmade_event(i) for i in range(3)], b_field=B_FIELD)]
    for name in ("clic_gamma_barrel_10events.root", "odd_sample_10events.root"):
        real = SHARED_DATA / "edm4hep" / name
        if real.is_file():
            files.append(Path(shutil.copy(real, base / name)))
    return files


def _read_edm4hep(path: Path) -> None:
    for entry, event in enumerate(read_events(path)):
        check_event(event, path=path, entry=entry, max_event_size=10**6)


@given(data=st.data())
def test_edm4hep_damaged_bytes(edm4hep_files, scratch, data) -> None:
    original = data.draw(st.sampled_from(edm4hep_files))
    raw = original.read_bytes()
    path = scratch.file(original.name)
    path.write_bytes(_damaged(raw, data.draw(_damage(len(raw)))))
    _only_reader_errors(lambda: _read_edm4hep(path))


@given(data=st.data())
def test_edm4hep_missing_branch_or_non_finite(edm4hep_files, scratch, data) -> None:
    if data.draw(st.booleans()):
        written = edm4hep_files[0]
        names = uproot.open(written)["events"].keys()
        branch = data.draw(st.sampled_from(sorted(k for k in names if "." in k)))
        path = rewrite_without(written, scratch.file("dropped.root"), branch)
        _only_reader_errors(lambda: _read_edm4hep(path))
        return
    events = [handmade_event(i) for i in range(2)]
    stored = [f for f in FINITE_FIELDS if f != "gen_energy"]  # EDM4hep stores the mass; energy is derived
    field = data.draw(st.sampled_from(stored))
    row = data.draw(st.integers(0, len(events[1][field]) - 1))
    events[1][field][row] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    path = write_events(scratch.file("nan.root"), events, b_field=B_FIELD)
    err = _only_reader_errors(lambda: _read_edm4hep(path))
    assert isinstance(err, NonFiniteError) and err.event == 1 and err.field == field


# ---------------------------------------------------------------------------------------- ticlDumper ntuples


@pytest.fixture(scope="module")
def ticl_file(tmp_path_factory) -> Path:
    events = []
    for seed in range(2):
        particles = random_particles(np.random.default_rng(seed), n_signal=2, n_pileup=4)
        event, noise = hgcal_event(particles, seed=seed)
        events.append(reconstruct(event, TICLConfig(), noise=noise, seed=seed))
    return write_ticl_dumper(tmp_path_factory.mktemp("ticl") / "ticl.root", events)


def _read_ticl(path: Path) -> None:
    source = TICLNtupleSource(path, n_events=None, trackster_tree=TRACKSTERS, sim_tree=SIM_TRACKSTERS)
    for index in range(len(source)):
        event = source.load(index)
        assert all(torch.isfinite(v).all() for v in event.values() if v.is_floating_point())


@given(data=st.data())
def test_ticl_dumper_damaged_bytes(ticl_file, scratch, data) -> None:
    original = ticl_file.read_bytes()
    path = scratch.file("damaged.root")
    path.write_bytes(_damaged(original, data.draw(_damage(len(original)))))
    _only_reader_errors(lambda: _read_ticl(path))
