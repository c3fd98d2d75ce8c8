"""``dataset=edm4hep`` gives the events of an EDM4hep file or directory, cached under a fingerprint of
the files' contents and reader options, with ``dataset.split=all`` for evaluation; a bad event (no hits, over
the budget, a NaN/inf hit) is named with its file, entry and field, and skipped when asked; a damaged cache
entry is rebuilt from the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch_geometric.data import Data

from src.data.datamodule import EventDataModule
from src.data.edm4hep import EDM4hepSource
from src.io.edm4hep.writer import write_events
from src.io.errors import EmptyEventError, EventTooLargeError, NonFiniteError
from tests.io.edm4hep.conftest import B_FIELD, handmade_event


def _view(event: dict) -> Data:
    return Data(**event)


def _source(path: Path, cache: Path, **kw) -> EDM4hepSource:
    options = {"hits": "auto", "particles": None, "clusters": None, "b_field": None} | kw
    return EDM4hepSource(path, n_events=None, cache_dir=cache, **options)


@pytest.mark.requiresdata
def test_dataset_edm4hep_split_all(compose_cfg, shared_data: Path, tmp_path: Path) -> None:
    cfg = compose_cfg(
        [
            "dataset=edm4hep",
            f"dataset.path={shared_data / 'edm4hep' / 'odd_sample_10events.root'}",
            f"dataset.cache_dir={tmp_path}",
            "dataset.split=all",
            "dataset.progress=false",
        ]
    )
    datamodule = instantiate(OmegaConf.to_container(cfg.dataset, resolve=True), view=_view)
    datamodule.prepare_data()
    datamodule.setup("test")
    events = datamodule.datasets["test"]
    assert len(events) == 10 and datamodule.test_idx == list(range(10))
    assert [e.hit_energy.shape[0] for e in events] == [631, 497, 671, 648, 486, 349, 531, 600, 292, 526]
    assert all(bool((e.hit_particle == 0).all()) for e in events)
    assert len(list(tmp_path.glob(f"edm4hep-{datamodule.fingerprint}/event_*.pt"))) == 10


def test_directory_of_files_and_fingerprint_of_contents(tmp_path: Path) -> None:
    data = tmp_path / "files"
    write_events(data / "a.root", [handmade_event(0), handmade_event(1)], b_field=B_FIELD)
    write_events(data / "b.root", [handmade_event(2)], b_field=B_FIELD)
    source = _source(data, tmp_path / "cache")
    assert len(source) == 3
    source.prepare(progress=False)
    assert np.array_equal(source.load(2)["hit_cell"].numpy(), handmade_event(2)["hit_cell"])
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    assert _source(moved, tmp_path / "cache").fingerprint == source.fingerprint  # contents, not paths
    assert _source(data, tmp_path / "cache", hits="reco").fingerprint != source.fingerprint
    write_events(moved / "b.root", [handmade_event(3)], b_field=B_FIELD)
    assert _source(moved, tmp_path / "cache").fingerprint != source.fingerprint
    first = EDM4hepSource(
        data / "a.root",
        n_events=1,
        cache_dir=tmp_path / "cache",
        hits="auto",
        particles=None,
        clusters=None,
        b_field=None,
    )
    assert len(first) == 1


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dataset\.path"):
        _source(tmp_path / "absent", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \*\.root file"):
        _source(tmp_path / "empty", tmp_path)


def _bad_file(tmp_path: Path) -> Path:
    """Four events: event 1 has a NaN hit energy, event 2 an infinite particle momentum, event 3 no hits."""
    events = [handmade_event(i) for i in range(4)]
    events[3] = {
        k: v[:1] * 0 if k == "hit_contrib_ptr" else v[:0] if k.startswith("hit_") else v
        for k, v in events[3].items()
    }
    events[1]["hit_energy"][5] = np.nan
    events[2]["gen_px"][0] = np.inf
    return write_events(tmp_path / "bad.root", events, b_field=B_FIELD)


def test_bad_events_are_named(tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    source = _source(path, tmp_path / "cache", max_event_size=None)
    source.prepare(progress=False)
    assert len(source.load(0)["hit_energy"]) == 40
    for index, error, field in (
        (1, NonFiniteError, "hit_energy"),
        (2, NonFiniteError, "gen_px"),
        (3, EmptyEventError, "hit_energy"),
    ):
        with pytest.raises(error) as err:
            source.load(index)
        assert f"{path}, event {index}, field '{field}'" in str(err.value)
    budget = _source(path, tmp_path / "cache", max_event_size=39)
    with pytest.raises(
        EventTooLargeError, match=r"bad\.root, event 0, field 'hit_energy'.*max_event_size=39"
    ):
        budget.load(0)


def test_bad_events_are_skipped_when_asked(tmp_path: Path) -> None:
    source = _source(_bad_file(tmp_path), tmp_path / "cache")
    dm = EventDataModule(source, _view, split="all", batch_size=1, on_bad_event="skip", progress=False)
    dm.prepare_data()
    dm.setup()
    assert sorted(dm.bad_events) == [1, 2, 3] and dm.test_idx == [0]


def test_a_damaged_cache_entry_is_rebuilt_from_the_file(tmp_path: Path) -> None:
    source = _source(write_events(tmp_path / "a.root", [handmade_event(0)], b_field=B_FIELD), tmp_path / "c")
    source.prepare(progress=False)
    entry = source.cache.path(0)
    good = entry.read_bytes()
    entry.write_bytes(good[:50])
    assert np.array_equal(source.load(0)["hit_cell"].numpy(), handmade_event(0)["hit_cell"])
    assert entry.read_bytes() == good
