"""Build (or complete) the event cache of a dataset config, with a progress bar and a per-event summary.

    python -m src.make_dataset task=pileup dataset.pileup=200 dataset.n_events=100
    python -m src.make_dataset ~task dataset=sim_calo dataset.n_events=100

The task only provides the view the datamodule is built with; events are cached raw, so ``~task``
builds a dataset that no task reads yet. Events already in the cache are kept; an interrupted build
continues where it stopped.
"""

from __future__ import annotations

import logging

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from src import config as _config
from src.compose import build_datamodule, build_view, input_errors_as_messages
from src.config.checks import validate
from src.data.sources import describe_ls_event
from src.event_model import LS

log = logging.getLogger(__name__)
_config.register()


def make_dataset(cfg: DictConfig) -> dict[str, float]:
    """Build every missing event; return the mean object count and the mean fraction of objects that
    belong to no particle (fake LS, noise hits) over all events."""
    validate(cfg)  # value checks of the typed configs, before anything is built
    view = build_view(cfg) if OmegaConf.select(cfg, "task") is not None else None
    datamodule = build_datamodule(cfg, view)
    source = datamodule.source
    datamodule.prepare_data()
    collection = getattr(source, "collection", LS)
    describe = getattr(source, "describe_event", describe_ls_event)
    counts, fakes = [], []
    for i in range(len(source)):
        event = source.load(i)
        truth = event[collection.truth].numpy()
        counts.append(len(truth))
        fakes.append(float(collection.no_particle(truth).mean()) if counts[-1] else float("nan"))
        log.info("event %6d: %s", i, describe(event))
    summary = {
        "n_events": len(source),
        "mean_count": float(np.mean(counts)),
        "mean_fake_fraction": float(np.nanmean(fakes)),
    }
    log.info(
        "%d events (fingerprint %s): %.0f objects per event on average, %.1f%% of no particle (fakes, noise)",
        summary["n_events"],
        source.fingerprint,
        summary["mean_count"],
        100 * summary["mean_fake_fraction"],
    )
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="make_dataset")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    with input_errors_as_messages():
        make_dataset(cfg)


if __name__ == "__main__":
    main()
