"""Fingerprints are stable, splits are seeded by event (and say what they leave out), views and tiles are
right, and the real-event reader is safe."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from src.data.cache import fingerprint
from src.data.datamodule import TiledDataset, split_indices
from src.data.sources import HeptCmsRawSource, track_lengths
from src.data.views import LSView, ls_endpoints
from src.event_model import N_LS_FEATURES
from src.reco.ls_features import ls_features


def test_fingerprint_stable_and_sensitive() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": (1, 2), "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


@pytest.mark.parametrize(
    "split,expected",
    [((0.6, 0.2, 0.2), (6, 2, 2)), ((3, 0, 2), (3, 0, 2)), ("all", (0, 0, 10))],
)
def test_split_by_event_seeded(split, expected) -> None:
    parts = split_indices(10, split, seed=7)
    assert tuple(map(len, parts)) == expected
    flat = [i for p in parts for i in p]
    assert len(set(flat)) == len(flat)
    assert parts == split_indices(10, split, seed=7)


def test_count_split_says_how_many_events_go_unused(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="src.data.datamodule"):
        parts = split_indices(200, (16, 2, 6), seed=0)
    assert sum(map(len, parts)) == 24
    assert "dataset.split=[16, 2, 6] uses 24 of the 200 events: 176 go unused" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="src.data.datamodule"):
        split_indices(24, (16, 2, 6), seed=0)
        split_indices(200, (0.8, 0.1, 0.1), seed=0)
    assert "unused" not in caplog.text


def test_split_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        split_indices(10, (0.5, 0.1, 0.1), seed=0)
    with pytest.raises(ValueError, match="asks for 12"):
        split_indices(10, (6, 3, 3), seed=0)
    with pytest.raises(ValueError, match="distinct"):
        split_indices(5, [[0, 1], [1], [4]], seed=0)
    with pytest.raises(ValueError, match="distinct"):
        split_indices(5, [[0, 1], [2], [5]], seed=0)
    with pytest.raises(ValueError, match="three lists"):
        split_indices(5, [[0, 1], [2]], seed=0)


def test_split_by_listed_events_ignores_the_seed() -> None:
    """The folds of a cross-validation name their events: train, val and test exactly as given."""
    assert split_indices(5, [[4, 2, 3], [1], [0]], seed=0) == ([2, 3, 4], [1], [0])
    assert split_indices(5, [[4, 2, 3], [1], [0]], seed=9) == ([2, 3, 4], [1], [0])
    assert split_indices(5, [[0, 1, 2, 3], [], [4]], seed=0) == ([0, 1, 2, 3], [], [4])


def test_track_lengths() -> None:
    assert track_lengths(np.array([4, -1, 4, 7, 4])).tolist() == [3, 0, 3, 1, 3]


def test_view_features_and_targets() -> None:
    x = torch.zeros(2, N_LS_FEATURES)
    x[:, 0] = torch.tensor([np.pi / 2, -np.pi])
    x[:, 1] = torch.tensor([0.5, -1.0])
    x[:, 2] = torch.tensor([1.0, 10.0])
    event = {
        "x": x,
        "particle_id": torch.tensor([3, -1]),
        "sim_pt": torch.tensor([1.0, float("nan")]),
        "sim_eta": torch.tensor([0.5, float("nan")]),
        "track_length": torch.tensor([1, 0]),
    }
    view = LSView(links=False)
    data = view(event)
    assert data.x.shape == (2, view.inputs.num_features)
    torch.testing.assert_close(data.x[0, :4], torch.tensor([1.0, 0.0, 0.5, 0.0]), atol=1e-6, rtol=0)
    assert data.y.tolist() == [1.0, 0.0]
    assert data.coords.tolist() == [[0.5, np.float32(np.pi / 2)], [-1.0, np.float32(-np.pi)]]
    assert view.periodic == [False, True]
    with pytest.raises(ValueError, match="unknown LS column"):
        LSView(coords=("LS_eta", "nope"), links=False)


def test_raw_reader_names_the_problem(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        HeptCmsRawSource(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"no graph_N\.pt"):
        HeptCmsRawSource(tmp_path)
    torch.save({"x": torch.zeros(4, 5), "particle_id": torch.zeros(4)}, tmp_path / "graph_0.pt")
    with pytest.raises(ValueError, match=r"graph_0.pt, event 0, field 'x': has shape \(4, 5\)"):
        HeptCmsRawSource(tmp_path).load(0)
    torch.save({"x": torch.zeros(4, N_LS_FEATURES)}, tmp_path / "graph_0.pt")
    with pytest.raises(ValueError, match=r"graph_0\.pt, event 0, field 'particle_id': missing"):
        HeptCmsRawSource(tmp_path).load(0)


def test_raw_reader_refuses_arbitrary_pickles(tmp_path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "graph_0.pt")
    with pytest.raises(ValueError, match="without unpickling code"):
        HeptCmsRawSource(tmp_path).load(0)


@pytest.mark.requiresdata
def test_real_cms_lst_events(shared_data) -> None:
    source = HeptCmsRawSource(shared_data / "hept-cms-lst" / "pu50")
    assert len(source) == 5
    event = source.load(0)
    assert event["x"].shape == (4963, N_LS_FEATURES)
    fake = float((event["particle_id"] < 0).float().mean())
    assert 0.55 < fake < 0.75
    true = event["particle_id"] >= 0
    assert (event["track_length"][true] >= 1).all()
    assert (event["track_length"][~true] == 0).all()
    layers = event["x"][:, 21:23]
    assert set(layers.unique().tolist()) <= set(range(1, 12))


def test_ls_endpoints_recover_anchor_and_end_hits() -> None:
    gen = np.random.default_rng(3)
    pos = gen.normal(size=(50, 4, 3)) * [300.0, 300.0, 800.0]
    x = torch.from_numpy(
        ls_features(pos, gen.normal(size=50), gen.normal(size=50), np.ones((50, 2)), 3.8).astype(np.float64)
    )
    anchor, end = ls_endpoints(x)
    # the float32 features limit the precision to ~1e-4 mm
    np.testing.assert_allclose(anchor.numpy(), pos[:, 0], atol=1e-3)
    np.testing.assert_allclose(end.numpy(), pos[:, 2], atol=1e-3)


@pytest.mark.requiresdata
def test_link_coordinates_chain_consecutive_segments_of_real_tracks(shared_data) -> None:
    """On a real CMS event the end of most true LS is the anchor of another LS of the same track."""
    view = LSView(links=True)
    assert view.inputs.coords_dim == 8 and view.links == ((2, 3, 6, 7), (4, 5, 6, 7))
    assert view.periodic == [False, True, False, True, False, True, True, False]
    data = view(HeptCmsRawSource(shared_data / "hept-cms-lst" / "pu100", n_events=1).load(0))
    anchor, end = data.coords[:, 2:4].double(), data.coords[:, 4:6].double()
    torch.testing.assert_close(data.coords[:, 3], data.coords[:, 1], atol=1e-4, rtol=0)  # LS φ: anchor's
    pid = data.particle_id
    true = torch.nonzero(pid >= 0).squeeze(1)
    dist = torch.cdist(end[true], anchor)  # [true LS, all LS]
    dist[dist.isnan()] = float("inf")
    nearest = dist < 1e-4
    continued = (nearest & (pid[None, :] == pid[true, None])).any(dim=1)
    assert continued.float().mean() > 0.5


def test_tiles_partition_each_training_event() -> None:
    events = [Data(x=torch.arange(n).float()[:, None], coords=torch.rand(n, 2), num_nodes=n) for n in (10, 7)]
    tiled = TiledDataset(events, tiles=3, column=0)
    assert len(tiled) == 6
    for e, event in enumerate(events):
        parts = [tiled[3 * e + t] for t in range(3)]
        sizes = sorted(p.num_nodes for p in parts)
        assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == event.num_nodes
        ids = torch.cat([p.x[:, 0] for p in parts]).sort().values
        assert torch.equal(ids, event.x[:, 0])
        # tiles are contiguous slices along the column
        assert max(p.coords[:, 0].max() for p in parts[:-1]) <= parts[-1].coords[:, 0].max()
        bounds = [(p.coords[:, 0].min(), p.coords[:, 0].max()) for p in parts]
        assert all(bounds[t][1] < bounds[t + 1][0] for t in range(2))
    with pytest.raises(ValueError, match="train_tiles"):
        TiledDataset(events, tiles=0, column=0)
