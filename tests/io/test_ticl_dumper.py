"""ticlDumper ntuples: reconstructed events written and read back give the same TICL events (and the same
linking graphs); nested branches are read flattened or nested; a missing tree or branch, or a file that is
not ROOT, raises the readers' errors naming the file and the field; an event with a NaN/inf value, no layer
clusters or more than the budget is a bad event naming file, entry and field."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from src.data.cache import to_tensors
from src.data.linking import LinkingView
from src.data.ticl import TICLNtupleSource
from src.io.errors import (
    CorruptFileError,
    EmptyEventError,
    EventTooLargeError,
    MissingFieldError,
    NonFiniteError,
)
from src.io.ticl_dumper import SIM_TRACKSTERS, TRACKSTERS, read_ticl_dumper, ticl_events, write_ticl_dumper
from src.reco.ticl import TICLConfig, reconstruct
from tests.reco.hgcal_events import hgcal_event, random_particles


@pytest.fixture(scope="module")
def events() -> list[dict[str, np.ndarray]]:
    out = []
    for seed in range(3):
        particles = random_particles(np.random.default_rng(seed), n_signal=2, n_pileup=6)
        event, noise = hgcal_event(particles, seed=seed)
        out.append(reconstruct(event, TICLConfig(), noise=noise, seed=seed))
    return out


def test_round_trip(tmp_path: Path, events: list[dict[str, np.ndarray]]) -> None:
    path = write_ticl_dumper(tmp_path / "ntuple.root", events)
    back = read_ticl_dumper(path)
    assert len(back) == len(events)
    for a, b in zip(events, back, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if key == "sim_gen_row":
                assert (b[key] == -1).all()  # files know no generator rows
            elif key == "sim_interaction":
                np.testing.assert_array_equal(b[key] != 0, a[key] != 0)  # the file keeps signal/pileup
            else:
                np.testing.assert_allclose(b[key], a[key], rtol=1e-6, atol=1e-4, err_msg=key)
        view = LinkingView()
        ga, gb = view(to_tensors(a)), view(to_tensors(b))
        assert ga.edge_index.equal(gb.edge_index) and ga.y.equal(gb.y)
        np.testing.assert_allclose(gb.x.numpy(), ga.x.numpy(), rtol=1e-5, atol=1e-3)


def test_nested_branches_are_read_as_real_files_store_them(tmp_path: Path, events: list) -> None:
    """CMSSW writes vector<vector> branches, which uproot reads as [event][trackster][k] (and cannot
    write): the branches of our file, nested that way in memory, convert to the same events."""
    path = write_ticl_dumper(tmp_path / "ours.root", events)
    arrays = {}
    with uproot.open(path) as f:
        for tree in ("clusters", "ticlTrackstersCLUE3DHigh", "simtrackstersCP", "associations"):
            data = f[f"ticlDumper/{tree}"].arrays(library="ak")
            arrays[tree] = {
                name: ak.Array(
                    [ak.unflatten(v, c) for v, c in zip(data[name], data[f"{name}_counts"], strict=True)]
                )
                if f"{name}_counts" in data.fields
                else data[name]
                for name in data.fields
                if not name.endswith("_counts")
            }
    assert arrays["ticlTrackstersCLUE3DHigh"]["vertices_indexes"].ndim == 3
    prefix = "ticlTrackstersCLUE3DHigh_recoToSim_CP"
    assoc = {k.replace(prefix, "recoToSim"): v for k, v in arrays["associations"].items()}
    nested = ticl_events(
        arrays["clusters"], arrays["ticlTrackstersCLUE3DHigh"], arrays["simtrackstersCP"], assoc
    )
    for a, b in zip(read_ticl_dumper(path), nested, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_missing_tree_and_branch_name_the_file(tmp_path: Path, events: list) -> None:
    path = tmp_path / "partial.root"
    with uproot.recreate(path) as f:
        f["ticlDumper/clusters"] = {"energy": ak.Array([[1.0]])}
    with pytest.raises(MissingFieldError, match=r"partial\.root, field 'position_x'"):
        read_ticl_dumper(path)
    write_ticl_dumper(path, events)
    missing_tree = r"partial\.root, field 'ticlDumper/ticlTrackstersMerged': no tree"
    with pytest.raises(MissingFieldError, match=missing_tree):
        read_ticl_dumper(path, trackster_tree="ticlTrackstersMerged")
    (tmp_path / "text.root").write_text("not ROOT")
    with pytest.raises(CorruptFileError, match=r"text\.root: not a readable ROOT file"):
        read_ticl_dumper(tmp_path / "text.root")
    cut = tmp_path / "cut.root"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=r"cut\.root: not a readable ROOT file"):
        read_ticl_dumper(cut)


@pytest.mark.parametrize("field", ["lc_energy", "trackster_raw_energy", "sim_eta"])
def test_non_finite_value_is_a_bad_event_naming_file_entry_and_field(
    tmp_path: Path, events: list, field: str
) -> None:
    damaged = [dict(e) for e in events]
    damaged[1][field] = damaged[1][field].copy()
    damaged[1][field][0] = np.nan
    path = write_ticl_dumper(tmp_path / "nan.root", damaged)
    source = TICLNtupleSource(path, n_events=None, trackster_tree=TRACKSTERS, sim_tree=SIM_TRACKSTERS)
    source.load(0)  # the good events stay readable
    with pytest.raises(NonFiniteError, match=rf"nan\.root, event 1, field '{field}'"):
        source.load(1)


def test_empty_and_oversized_events_are_bad_events(tmp_path: Path, events: list) -> None:
    path = write_ticl_dumper(tmp_path / "ntuple.root", events)
    n = len(events[0]["lc_energy"])
    source = TICLNtupleSource(
        path, n_events=None, trackster_tree=TRACKSTERS, sim_tree=SIM_TRACKSTERS, max_event_size=n - 1
    )
    with pytest.raises(EventTooLargeError, match=rf"ntuple\.root, event 0, .*{n} layer clusters"):
        source.load(0)
    empty = {k: (v[:0] if k.startswith("lc_") else v) for k, v in events[0].items()}
    empty |= {"trackster_lc_index": events[0]["trackster_lc_index"][:0]}
    empty |= {"trackster_lc_ptr": np.zeros_like(events[0]["trackster_lc_ptr"])}
    path = write_ticl_dumper(tmp_path / "empty.root", [events[1], empty])
    source = TICLNtupleSource(path, n_events=None, trackster_tree=TRACKSTERS, sim_tree=SIM_TRACKSTERS)
    with pytest.raises(EmptyEventError, match=r"empty\.root, event 1, .*no layer clusters"):
        source.load(1)
