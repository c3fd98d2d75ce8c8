"""Calibrate the rule-based PF (task.view.baseline) on the training events of a calorimeter dataset.

Composes ``task=particle_flow`` with the given overrides, builds the dataset (simulating what is not cached
yet), fits the photon and neutral-hadron response and then tunes the constants for the best jets on the
*training* events (:mod:`src.reco.pf_calibration`) and prints the values as the lines of
``conf/task/particle_flow.yaml`` (and the defaults of ``RuleBasedPF``) to update. With ``--check`` it also
prints the baseline's jet and MET response on the validation events before and after.

    python scripts/calibrate_pf.py                                   # the default dataset (sim_calo)
    python scripts/calibrate_pf.py dataset.n_events=400 --check
"""

from __future__ import annotations

import argparse
import logging

from src.compose import build_datamodule, build_view, compose_config
from src.evaluation.particle_flow import ParticleFlowEvaluation
from src.reco.pf_calibration import fit_calibration

log = logging.getLogger("calibrate_pf")


def baseline_response(view, source, indices, jets) -> dict[str, float]:
    """Jet and MET response of the view's rule-based PF on events ``indices`` of ``source``."""
    evaluation = ParticleFlowEvaluation(jets=jets)
    for i in indices:
        data = view(source.load(i))
        a = {k: v.numpy() for k, v in data.to_dict().items() if hasattr(v, "numpy")}
        evaluation.add_event(a, a["cand_class"], a["cand_p4"])
    m = evaluation.metrics()
    return {
        k.removeprefix("baseline/"): m[k] for k in sorted(m) if k.startswith("baseline/") and "_pt" not in k
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    parser.add_argument("--check", action="store_true", help="baseline response on validation events")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = compose_config(["task=particle_flow", *args.overrides])
    view = build_view(cfg)
    datamodule = build_datamodule(cfg, view)
    datamodule.prepare_data()
    source = datamodule.source

    events = [{k: v.numpy() for k, v in source.load(i).items()} for i in datamodule.train_idx]
    calibrated, fit = fit_calibration(
        events,
        view.baseline,
        targets=view.targets,
        jets=view.jets,
        min_cluster_energy=view.min_cluster_energy,
    )
    log.info("Fitted on %d training events: %s", len(datamodule.train_idx), fit)
    for key in ("link_dr", "em_scale", "hadron_ecal_scale", "hadron_hcal_scale"):
        print(f"    {key}: {round(getattr(calibrated, key), 3)}")
    if args.check and datamodule.val_idx:
        before = baseline_response(view, source, datamodule.val_idx, view.jets)
        view.baseline = calibrated
        after = baseline_response(view, source, datamodule.val_idx, view.jets)
        for key in before:
            print(f"{key:40s} {before[key]:8.4f} -> {after[key]:8.4f}")


if __name__ == "__main__":
    main()
