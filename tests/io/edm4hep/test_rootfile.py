"""Bad inputs give named errors that name the file (and the collection or branch), never an uproot
traceback: a truncated copy of a real file, a text file called .root, a dropped collection or branch, a
file without calorimeter hits; a 2021-layout file's duplicate tree cycles are resolved to the highest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from src.io.edm4hep import MissingCollectionError, UnreadableFileError, read_events
from src.io.edm4hep.rootfile import EDM4hepFile
from src.io.edm4hep.writer import write_events
from tests.io.edm4hep.conftest import B_FIELD, rewrite_without


@pytest.mark.requiresdata
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.97])
def test_truncated_file(tmp_path: Path, shared_data: Path, fraction: float) -> None:
    data = (shared_data / "edm4hep" / "odd_sample_10events.root").read_bytes()
    path = tmp_path / "truncated.root"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(UnreadableFileError, match=r"truncated\.root") as err:
        read_events(path)
    assert err.value.__cause__ is not None  # the uproot error is chained, not shown as the error


def test_text_file_with_root_suffix(tmp_path: Path) -> None:
    path = tmp_path / "notes.root"
    path.write_text("these are not events\n")
    with pytest.raises(UnreadableFileError, match=r"notes\.root: not a ROOT file"):
        read_events(path)


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.root"):
        read_events("/nonexistent/nowhere.root")


def test_dropped_collection_named(third_layout) -> None:
    path = third_layout(drop=("MCParticle", "_MCParticle_parents"))
    with pytest.raises(
        MissingCollectionError,
        match=(
            r"third_layout\.root, field 'MCParticle': "
            r"no MCParticle collection 'MCParticle'"
        ),
    ):
        read_events(path, particles="MCParticle")
    event, _ = read_events(path)  # without naming it: hits without truth, no particles
    assert len(event["gen_pdg"]) == 0 and (event["hit_particle"] == -1).all()


def test_dropped_branch_named(third_layout) -> None:
    path = third_layout(drop_members=("ECALBarrel.position.x",))
    with pytest.raises(MissingCollectionError, match=r"'ECALBarrel' lacks branch 'ECALBarrel\.position\.x'"):
        read_events(path)


def test_dropped_branch_of_a_written_file_named(tmp_path: Path, handmade) -> None:
    path = write_events(tmp_path / "events.root", [handmade(0)], b_field=B_FIELD)
    copy = rewrite_without(path, tmp_path / "dropped.root", "ECalBarrelHits.energy")
    with pytest.raises(
        MissingCollectionError,
        match=(
            r"dropped\.root, field 'ECalBarrelHits\.[^']+': "
            r"collection 'ECalBarrelHits' lacks branch"
        ),
    ):
        read_events(copy)


def test_dropped_member_of_a_typed_collection_names_branch(third_layout) -> None:
    path = third_layout(drop_members=("MCParticle.mass",))
    with pytest.raises(MissingCollectionError, match=r"'MCParticle' lacks branch 'MCParticle\.mass'"):
        read_events(path, particles="MCParticle")


def test_file_without_calorimeter_hits(third_layout) -> None:
    path = third_layout(drop=("ECALBarrel", "HCALEndcap"))
    with pytest.raises(
        MissingCollectionError,
        match=(
            r"third_layout\.root, field 'SimCalorimeterHit': "
            r"no SimCalorimeterHit collection"
        ),
    ) as err:
        read_events(path)
    assert "MCParticle (MCParticle)" in str(err.value)


@pytest.mark.requiresdata
def test_highest_tree_cycle(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "clic.root"
    shutil.copy(shared_data / "edm4hep" / "clic_gamma_barrel_10events.root", path)
    with EDM4hepFile(path) as f:
        assert f.tree_key == "events;2"
        assert f.layout.name == "edm4hep_2021"
        assert f.ids["EB_CaloHits_EDM4hep"] == 3
