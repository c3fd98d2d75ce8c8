"""The summary keys every run of a task must write (shared by the end-to-end tests)."""

from __future__ import annotations

PROVENANCE = {"dataset_fingerprint", "seed", "git_commit", "command", "machine", "finished_at"}
PILEUP_KEYS = {
    "test/precision@recall0.99",
    "test/precision@recall0.999",
    "test/auprc",
    "test/f1",
    "test/fbeta3",
}
TRACKING_KEYS = {
    *(f"test/ap@k_pt{t}" for t in ("0.0", "0.5", "0.9")),
    *(
        f"test/{m}_pt{t}"
        for m in ("eff_dm", "eff_perfect", "eff_lhc", "fake_dm")
        for t in ("0.0", "0.5", "0.9")
    ),
    "test/all/ap@k_pt0.9",
    "test/all/eff_dm_pt0.9",
    "test/graph_saturation",
    "baseline/ap@k_pt0.9",
    "baseline/eff_dm_pt0.9",
    "baseline/all/ap@k_pt0.9",
}
REGRESSION_KEYS = {
    "test/trackml_score",
    "test/eff_perfect",
    "test/eff_dm",
    "test/eff_lhc",
    "test/fake_dm",
    "test/eff_dm_pt0.9",
    "test/model_time_s",
    "test/cluster_time_s",
    "baseline/trackml_score",
    "baseline/eff_dm",
}
LINKING_KEYS = {
    *(f"{scope}/edge_{m}" for scope in ("test", "baseline") for m in ("precision", "recall", "f1")),
    *(f"test/edge_{m}_{c}" for m in ("precision", "recall", "f1") for c in ("sig_sig", "pu_pu")),
    "test/edge_false_link_rate_sig_pu",
    "test/edge_threshold",
    "test/edge_f1_best",
    "test/edge_threshold_best",
    *(
        f"{scope}/{m}_{s}"
        for scope in ("test", "baseline", "test/oracle")
        for m in ("missed_energy", "contaminating_energy", "missed_plus_contaminating")
        for s in ("sig", "pu")
    ),
}
PF_KEYS = {
    f"{prefix}{name}"
    for prefix in ("test/", "baseline/")
    for name in (
        "jet_iqr_over_median",
        "jet_response_median",
        "met_iqr_over_median",
        "met_response_median",
        "eff_charged_hadron",
        "fake_charged_hadron",
        "eff_photon",
        "fake_photon",
    )
}
CALO_CLUSTERING_KEYS = {
    *(
        f"{p}/{m}"
        for p in ("test", "baseline")
        for m in ("ari", "purity", "efficiency", "type_accuracy", "energy_resolution", "fake_rate")
    ),
    "test/direction_resolution",
    "test/clusters_per_particle",
    "test/model_time_s",
}
