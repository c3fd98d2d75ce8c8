"""Build (or complete) the event cache of a dataset config, with a progress bar and a per-event summary.

    python -m src.make_dataset task=pileup dataset.pileup=200 dataset.n_events=100

Events already in the cache are kept; an interrupted build continues where it stopped.
"""

from __future__ import annotations

import logging

import hydra
import numpy as np
from omegaconf import DictConfig

from src import config as _config
from src.compose import build_datamodule, build_view
from src.data.sources import describe_ls_event

log = logging.getLogger(__name__)
_config.register()


def make_dataset(cfg: DictConfig) -> dict[str, float]:
    """Build every missing event; return the mean object count and fake fraction over all events."""
    datamodule = build_datamodule(cfg, build_view(cfg))
    source = datamodule.source
    datamodule.prepare_data()
    counts, fakes = [], []
    for i in range(len(source)):
        event = source.load(i)
        counts.append(len(event["particle_id"]))
        fakes.append(float((event["particle_id"] < 0).float().mean()) if counts[-1] else float("nan"))
        log.info("event %6d: %s", i, describe_ls_event(event))
    summary = {
        "n_events": len(source),
        "mean_count": float(np.mean(counts)),
        "mean_fake_fraction": float(np.nanmean(fakes)),
    }
    log.info(
        "%d events (fingerprint %s): %.0f objects per event on average, %.1f%% fake",
        summary["n_events"],
        source.fingerprint,
        summary["mean_count"],
        100 * summary["mean_fake_fraction"],
    )
    return summary


@hydra.main(version_base="1.3", config_path="../../conf", config_name="make_dataset")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    make_dataset(cfg)


if __name__ == "__main__":
    main()
