"""The PF view: a calorimeter event and the same event through the CLIC layout (written, read back by the
clic_pf source) give the same model inputs and targets; tracks come first, zero-padded, type in column 0;
class ids follow the CLIC PDG codes; an event of another kind is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from src.data.cache import to_tensors
from src.data.pf import ClicPFSource, PFView, class_index
from src.event_model import PF_CLASSES
from src.io.clic_pf import write_clic_pf
from src.reco.jets import JetDefinition
from src.reco.pf_targets import TargetConfig
from src.reco.rule_based_pf import RuleBasedPF
from tests.calo_events import synthetic_calo_event


@pytest.fixture
def view() -> PFView:
    return PFView(baseline=RuleBasedPF(), jets=JetDefinition(), targets=TargetConfig())


def test_calorimeter_and_clic_layout_events_look_alike(view: PFView, tmp_path) -> None:
    calo = [synthetic_calo_event(i) for i in range(3)]
    write_clic_pf(tmp_path / "a.parquet", [view.pf_event(to_tensors(e)) for e in calo])
    source = ClicPFSource(tmp_path)
    assert len(source) == 3 and len(source.fingerprint) == 12
    for i, event in enumerate(calo):
        direct, via_file = view(to_tensors(event)), view(source.load(i))
        for key in ("x", "coords", "y_class", "y_p4", "cand_class", "cand_p4", "charge", "genjet", "genmet"):
            assert_close(direct[key], via_file[key], msg=key)
        n_tracks = len(event["track_pt"])
        assert direct.x.shape == (n_tracks + len(event["cluster_energy"]), 17)
        assert torch.all(direct.x[:n_tracks, 0] == 1) and torch.all(direct.x[n_tracks:, 0] == 2)
        assert torch.all(direct.x[:n_tracks, 16] == 0)  # tracks are padded
        assert torch.all(direct.charge[n_tracks:] == 0)
        assert_close(direct.coords[:, 0], direct.x[:, 2])
        # a track's phi coordinate is where its helix meets the calorimeter
        reach = np.isfinite(event["track_calo_x"])
        calo_phi = np.arctan2(event["track_calo_y"], event["track_calo_x"])[reach]
        assert_close(
            direct.coords[:n_tracks, 1][reach], torch.from_numpy(calo_phi).float(), atol=2e-3, rtol=0
        )
    assert view.inputs.object_types == 2 and view.inputs.num_features == 17
    assert view.inputs.periodic == (False, True)


def test_class_ids_from_pdg_codes() -> None:
    ids = class_index(
        np.array([0, 211, -211, 130, 22, 11, -13, 321, 2112]), np.array([0, 1, -1, 0, 0, -1, 1, 1, 0])
    )
    names = [PF_CLASSES[i] for i in ids]
    assert names == [
        "none", "charged_hadron", "charged_hadron", "neutral_hadron", "photon", "electron", "muon",
        "charged_hadron", "neutral_hadron",
    ]  # fmt: skip


def test_other_events_are_refused(view: PFView, tmp_path) -> None:
    with pytest.raises(KeyError, match="calorimeter event"):
        view({"x": torch.zeros(3, 23)})
    with pytest.raises(FileNotFoundError, match="no CLIC PF"):
        ClicPFSource(tmp_path)
