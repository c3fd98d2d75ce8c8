"""Train, validate and test one task × model × dataset composed by Hydra.

python -m src.train task=pileup model=hept
python -m src.train task=pileup model=mlp dataset.pileup=100 trainer.max_epochs=5
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from src import config as _config  # registers the typed config schemas
from src.compose import build_datamodule, build_task, build_trainer, input_errors_as_messages
from src.config.checks import validate
from src.utils.files import atomic_copy
from src.utils.jobs import (
    PreemptionCallback,
    RNGStateCallback,
    checkpoint_progress,
    find_resume_checkpoint,
    initialise_weights,
    same_experiment,
)
from src.utils.loggers import finish_loggers, keep_csv_history, log_config, log_test_artifacts
from src.utils.run import (
    StopFileCallback,
    bad_event_report,
    report_test,
    run_metadata,
    scalar_metrics,
)

log = logging.getLogger(__name__)
_config.register()


def train(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit then test; write checkpoints, plots and ``summary.json`` in the run directory."""
    start = time.time()
    validate(cfg)  # value checks of the typed configs, before anything is built
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.output_dir)
    task = build_task(cfg)
    datamodule = build_datamodule(cfg, task.view)
    task.run_metadata = run_metadata(cfg, fingerprint=datamodule.fingerprint)

    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=task.monitor,
        mode=task.monitor_mode,
        enable_version_counter=False,
    )
    # the state after every epoch (ModelCheckpoint's save_last only follows new best ones): what a
    # requeued job resumes from
    latest = ModelCheckpoint(dirpath=out / "checkpoints", filename="last", enable_version_counter=False)
    preemption = PreemptionCallback(out / "checkpoints" / "last.ckpt")
    callbacks = [checkpoint, latest, StopFileCallback(cfg.paths.stop_file), preemption, RNGStateCallback()]
    trainer = build_trainer(cfg, out, callbacks)
    # ckpt_path of the same experiment resumes it; of another experiment (e.g. trained on simulation) it
    # initialises the weights (fine-tuning). A requeued job (same run directory) continues from its newest
    # checkpoint of the same experiment, also when it was started by fine-tuning.
    given = cfg.get("ckpt_path")
    initialised_from = str(given) if given and not same_experiment(given, cfg) else None
    resume = (given if given and not initialised_from else None) or (
        find_resume_checkpoint(out, cfg) if cfg.get("auto_resume") else None
    )
    if initialised_from and not resume:
        initialise_weights(task, initialised_from)
        task.run_metadata["initialised_from"] = initialised_from
    resumed_at = checkpoint_progress(resume) if resume else None
    if resume:
        log.info("Resuming from %s (%s)", resume, resumed_at)
        if trainer.is_global_zero:
            keep_csv_history(trainer.loggers)
    log_config(trainer.loggers, cfg)
    trainer.fit(task, datamodule=datamodule, ckpt_path=resume)
    if preemption.preempted:
        log.warning("Preempted: %s saved, test skipped; the requeued job resumes", preemption.checkpoint)
        return {}, {"datamodule": datamodule, "task": task, "trainer": trainer}
    fit_metrics = scalar_metrics(trainer.callback_metrics, "val/")
    if checkpoint.best_model_score is not None:  # the sweeps' objective: best validation score
        fit_metrics[f"{task.monitor}_best"] = float(checkpoint.best_model_score)

    best = checkpoint.best_model_path or latest.best_model_path
    if best and Path(best).name != "best.ckpt":
        atomic_copy(best, out / "checkpoints" / "best.ckpt")
    trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    provenance = {
        "dataset_fingerprint": datamodule.fingerprint,
        "seed": cfg.seed,
        "git_commit": task.run_metadata["git_commit"],
        "best_checkpoint": str(out / "checkpoints" / "best.ckpt"),
        "epochs_completed": trainer.current_epoch,
        "resumed_from": str(resume) if resume else None,
        "resumed_at": resumed_at,
        "initialised_from": initialised_from,
        **{k: v for k, v in fit_metrics.items() if k.endswith("_best")},
        **bad_event_report(datamodule),
    }
    test_metrics = report_test(trainer, out, provenance, start=start)
    if trainer.is_global_zero:
        log_test_artifacts(trainer.loggers, out, step=trainer.global_step)
    return {**fit_metrics, **test_metrics}, {"datamodule": datamodule, "task": task, "trainer": trainer}


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; returns the metric named by ``optimized_metric`` (for sweeps)."""
    try:
        with input_errors_as_messages():
            metrics, _ = train(cfg)
    finally:
        finish_loggers()
    name = cfg.get("optimized_metric")
    if name and name not in metrics:
        log.warning("optimized_metric %r was not logged (logged: %s)", name, ", ".join(sorted(metrics)))
    return metrics.get(name) if name else None


if __name__ == "__main__":
    main()
