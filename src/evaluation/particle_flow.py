"""The test stage of particle flow: the model's particles, the rule-based PF's and the targets, scored
with the same code on the same events.

Per event and per source (``test/``: the model, ``baseline/``: the rule-based PF — ``ycand`` of CLIC
files —, ``test/target_``: the target particles themselves, the best a per-element reconstruction can
do): jets of the source's particles (:mod:`src.reco.jets`, the definition of ``jets``) matched one-to-one
to the event's generator jets by ΔR < ``match_dr``; jet response pT_reco/pT_gen summarised by median and
IQR/median, overall and per generator-jet pT bin of ``pt_bins``; MET response MET_reco/MET_gen likewise;
per-class efficiency and fake rate of the elements' particles against their targets, and the energy
response E/E_target of elements whose prediction and target share a class. Where the events carry their
generator particles (``gen_visible``), generator photons above ``photon_min_energy`` are matched by ΔR to
each source's photons (efficiency, energy response) and to the cluster elements: the energy of the
most energetic cluster within ΔR is the clustering's own photon energy (Pandora's, on the real CLIC
files), reported as ``test/photon_cluster_energy_*``.

Artifacts: ``jets.csv``, ``met.csv``, ``plots/jet_response.png``, ``plots/met_response.png``,
``plots/jet_resolution_vs_pt.png``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from src.evaluation.pf_plots import plot_resolution_vs_pt, plot_responses
from src.event_model import PF_CLASSES
from src.metrics.particle_flow import (
    bin_label,
    binned_response,
    class_rates,
    match_by_dr,
    response_summary,
)
from src.reco.jets import JetDefinition, cluster_jets, four_vectors, missing_pt

#: Sources of particles and the prefix of their metrics.
SOURCES = {"mlpf": "test/", "pf": "baseline/", "target": "test/target_"}
LABELS = {"mlpf": "MLPF", "pf": "rule-based PF", "target": "target"}
_PHOTON = PF_CLASSES.index("photon")
_CLUSTER_TYPE, _ENERGY_COL = 2, 5


class ParticleFlowEvaluation:
    """Jets, MET, class rates and photon response of test events (see the module docstring)."""

    def __init__(
        self,
        *,
        jets: JetDefinition,
        match_dr: float = 0.1,
        pt_bins: Sequence[float] = (10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0),
        photon_min_energy: float = 1.0,
    ) -> None:
        if len(pt_bins) < 2 or list(pt_bins) != sorted(pt_bins):
            raise ValueError(f"task.evaluation.pt_bins must be at least two increasing edges, got {pt_bins}")
        self.jets = jets
        self.match_dr = float(match_dr)
        self.pt_bins = [float(b) for b in pt_bins]
        self.photon_min_energy = float(photon_min_energy)
        self.reset()

    def reset(self) -> None:
        """Forget the events added so far."""
        self._jets: list[dict[str, float]] = []
        self._met: list[dict[str, float]] = []
        self._classes: dict[str, list[np.ndarray]] = {"target": [], "mlpf": [], "pf": []}
        self._energy: list[dict[str, float]] = []
        self._photons: list[dict[str, float]] = []
        self._n_events = 0

    # --- per event -----------------------------------------------------------------------------------
    def _jet_rows(self, event: int, source: str, cls: np.ndarray, p4: np.ndarray, genjet: np.ndarray) -> None:
        keep = cls > 0
        phi = np.arctan2(p4[keep, 2], p4[keep, 3])
        vectors = four_vectors(p4[keep, 0], p4[keep, 1], phi, p4[keep, 4])
        jets, _ = cluster_jets(vectors, self.jets)
        gen_i, reco_i = match_by_dr(genjet[:, 1], genjet[:, 2], jets[:, 1], jets[:, 2], max_dr=self.match_dr)
        for g, r in zip(gen_i, reco_i, strict=True):
            self._jets.append(
                {
                    "event": event,
                    "source": source,
                    "gen_pt": genjet[g, 0],
                    "response": jets[r, 0] / genjet[g, 0],
                }
            )
        return missing_pt(vectors)

    def _photon_rows(self, event: int, a: Mapping[str, np.ndarray], sources: dict) -> None:
        gen = a["gen_visible"]
        photons = gen[(np.abs(gen[:, 0]) == 22) & (gen[:, 4] > self.photon_min_energy)]
        if not len(photons):
            return
        pt = np.hypot(photons[:, 1], photons[:, 2])
        eta, phi = np.arcsinh(photons[:, 3] / np.maximum(pt, 1e-12)), np.arctan2(photons[:, 2], photons[:, 1])
        rows = [{"event": event, "gen_energy": e} for e in photons[:, 4]]
        for source, (cls, p4) in sources.items():
            mine = np.flatnonzero(cls == _PHOTON)
            g, r = match_by_dr(
                eta, phi, p4[mine, 1], np.arctan2(p4[mine, 2], p4[mine, 3]), max_dr=self.match_dr
            )
            for gi, ri in zip(g, r, strict=True):
                rows[gi][source] = p4[mine[ri], 4] / photons[gi, 4]
        x = a["x"]
        clusters = np.flatnonzero(np.round(x[:, 0]) == _CLUSTER_TYPE)
        c_eta, c_phi = x[clusters, 2], np.arctan2(x[clusters, 3], x[clusters, 4])
        for gi in range(len(photons)):
            dphi = np.remainder(c_phi - phi[gi] + np.pi, 2 * np.pi) - np.pi
            near = clusters[np.hypot(c_eta - eta[gi], dphi) < self.match_dr]
            if len(near):
                rows[gi]["cluster"] = x[near, _ENERGY_COL].max() / photons[gi, 4]
        self._photons.extend(rows)

    def add_event(self, a: Mapping[str, np.ndarray], pred_class: np.ndarray, pred_p4: np.ndarray) -> None:
        """Score one event: its PF-view arrays ``a`` and the model's class [N] and (pT, η, sin φ, cos φ, E)
        [N, 5] per element."""
        event = self._n_events
        self._n_events += 1
        sources = {
            "mlpf": (np.asarray(pred_class), np.asarray(pred_p4, dtype=np.float64)),
            "pf": (a["cand_class"], a["cand_p4"].astype(np.float64)),
            "target": (a["y_class"], a["y_p4"].astype(np.float64)),
        }
        genjet, genmet = a["genjet"].reshape(-1, 4).astype(np.float64), float(a["genmet"].reshape(-1)[0])
        met = {"event": event, "gen_met": genmet}
        for source, (cls, p4) in sources.items():
            met[source] = self._jet_rows(event, source, cls, p4, genjet) / genmet if genmet > 0 else np.nan
            self._classes[source].append(np.asarray(cls))
        self._met.append(met)
        y_cls, y_p4 = sources["target"]
        for source in ("mlpf", "pf"):
            cls, p4 = sources[source]
            same = (cls == y_cls) & (y_cls > 0)
            for c, ratio in zip(cls[same], p4[same, 4] / np.maximum(y_p4[same, 4], 1e-12), strict=True):
                self._energy.append({"source": source, "class": PF_CLASSES[c], "response": ratio})
        if "gen_visible" in a:
            self._photon_rows(event, a, {k: sources[k] for k in ("mlpf", "pf")})

    # --- summary -------------------------------------------------------------------------------------
    def _summary(self, name: str, ratios: np.ndarray, prefix: str) -> dict[str, float]:
        s = response_summary(ratios)
        return {
            f"{prefix}{name}_response_median": s.median,
            f"{prefix}{name}_iqr_over_median": s.iqr_over_median,
        }

    def metrics(self) -> dict[str, float]:
        """Test metrics over the events added so far (empty without events)."""
        if not self._n_events:
            return {}
        jets, met = (
            pd.DataFrame(self._jets, columns=["event", "source", "gen_pt", "response"]),
            pd.DataFrame(self._met),
        )
        out: dict[str, float] = {"test/n_events": float(self._n_events)}
        for source, prefix in SOURCES.items():
            mine = jets[jets.source == source]
            out |= self._summary("jet", mine.response.to_numpy(), prefix)
            out |= self._summary("met", met[source].to_numpy(dtype=np.float64), prefix)
            for (lo, hi), s in zip(
                zip(self.pt_bins[:-1], self.pt_bins[1:], strict=True),
                binned_response(mine.response, mine.gen_pt, self.pt_bins),
                strict=True,
            ):
                out[f"{prefix}jet_response_median_{bin_label(lo, hi)}"] = s.median
                out[f"{prefix}jet_iqr_over_median_{bin_label(lo, hi)}"] = s.iqr_over_median
            out[f"{prefix}n_matched_jets"] = float(len(mine))
        target = np.concatenate(self._classes["target"])
        energy = pd.DataFrame(self._energy, columns=["source", "class", "response"])
        for source in ("mlpf", "pf"):
            prefix = SOURCES[source]
            out |= {
                f"{prefix}{k}": v
                for k, v in class_rates(target, np.concatenate(self._classes[source]), PF_CLASSES).items()
            }
            for name in PF_CLASSES[1:]:
                ratios = energy[(energy.source == source) & (energy["class"] == name)].response.to_numpy()
                out |= self._summary(f"energy_{name}", ratios, prefix)
        if self._photons:
            photons = pd.DataFrame(self._photons)
            for source, prefix in (
                ("mlpf", "test/photon_"),
                ("pf", "baseline/photon_"),
                ("cluster", "test/photon_cluster_"),
            ):
                ratios = (
                    photons[source].to_numpy(dtype=np.float64)
                    if source in photons
                    else np.full(len(photons), np.nan)
                )
                out[f"{prefix}eff"] = float(np.isfinite(ratios).mean())
                out |= self._summary("energy", ratios, prefix)
        return out

    def write(self, out: Path) -> None:
        """``jets.csv``, ``met.csv`` and the response plots."""
        if not self._n_events:
            return
        out = Path(out)
        jets = pd.DataFrame(self._jets, columns=["event", "source", "gen_pt", "response"])
        met = pd.DataFrame(self._met)
        jets.to_csv(out / "jets.csv", index=False)
        met.to_csv(out / "met.csv", index=False)
        if self._photons:
            pd.DataFrame(self._photons).to_csv(out / "photons.csv", index=False)
        responses = {LABELS[s]: jets[jets.source == s].response.to_numpy() for s in SOURCES}
        plot_responses(
            responses, out / "plots" / "jet_response.png", xlabel="jet $p_T$ response (reco / gen)"
        )
        plot_responses(
            {LABELS[s]: met[s].to_numpy(dtype=np.float64) for s in SOURCES},
            out / "plots" / "met_response.png",
            xlabel="MET response (reco / gen)",
        )
        binned = {
            LABELS[s]: binned_response(
                jets[jets.source == s].response, jets[jets.source == s].gen_pt, self.pt_bins
            )
            for s in SOURCES
        }
        plot_resolution_vs_pt(binned, self.pt_bins, out / "plots" / "jet_resolution_vs_pt.png")
