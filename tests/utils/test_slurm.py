"""Asserts the sbatch launchers on a real Slurm (a one-node cluster on localhost, CPU mode): both complete
with a run directory, metrics and checkpoints; DDP ranks share one run directory that only rank 0 writes;
a requeued job (by `scontrol requeue`, or by the time-limit warning signal) resumes from its checkpoint."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import REPO, TINY_SIM

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CLUSTER = REPO / "slurm" / "local_cluster.sh"
TINY = [*TINY_SIM, "task=pileup", "model=mlp", "trainer.enable_progress_bar=false"]


def _need_cluster_or_skip(reason: str) -> None:
    """Outside CI a machine without root/apt skips; in CI (CI=true) these tests must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Slurm tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory) -> dict[str, str]:
    """Install (apt-get) and start munged + slurmctld + slurmd on localhost; stop them at the end if we
    started them. Returns the environment for sbatch."""
    if os.geteuid() != 0:
        _need_cluster_or_skip("needs root to install and start a local Slurm (munged, slurmctld, slurmd)")
    if not shutil.which("slurmctld"):
        if not shutil.which("apt-get"):
            _need_cluster_or_skip("Slurm is not installed and apt-get is not available to install it")
        subprocess.run([str(CLUSTER), "install"], check=True, timeout=900)
    state = Path(os.environ.get("HEPRECO_SLURM_DIR", "/tmp/hepreco-slurm"))
    env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf"), "HEPRECO_SLURM_DIR": str(state)}
    status = [str(CLUSTER), "status"]
    was_running = subprocess.run(status, env=env, capture_output=True, check=False).returncode == 0
    start = subprocess.run(
        [str(CLUSTER), "start"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert start.returncode == 0, f"local Slurm did not start:\n{start.stdout}\n{start.stderr}"
    cache = tmp_path_factory.mktemp("slurm-cache")
    for key in ("HEPRECO_RUN_ID", "SLURM_JOB_ID", "SLURM_NTASKS", "WANDB_MODE"):
        env.pop(key, None)
    env |= {
        "HEPRECO_SLURM_CPU": "1",  # hardware=cpu, no container
        "HEPRECO_PYTHON": sys.executable,
        "HEPRECO_CACHE": str(cache),
        "MPLBACKEND": "Agg",
    }
    yield env
    if not was_running:
        subprocess.run([str(CLUSTER), "stop"], env=env, check=False, timeout=60)


def _sbatch(env: dict, cwd: Path, script: str, sbatch_args: list[str], overrides: list[str]) -> str:
    cmd = [
        "sbatch",
        "--parsable",
        "--gpus-per-node=0",
        "--time=15",
        *sbatch_args,
        str(REPO / "slurm" / script),
    ]
    cmd += [*overrides, f"paths.log_dir={cwd / 'outputs'}"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(";")[0]


def _job(env: dict, job: str) -> dict[str, str]:
    cmd = ["scontrol", "-o", "show", "job", job]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    return dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)


def _wait(
    env: dict,
    job: str,
    *,
    until: tuple[str, ...] = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"),
    timeout: float = 600,
) -> dict[str, str]:
    start = time.time()
    while time.time() - start < timeout:
        info = _job(env, job)
        if info.get("JobState") in until:
            return info
        time.sleep(1)
    pytest.fail(f"job {job} not in {until} after {timeout} s: {_job(env, job)}")


def _log(cwd: Path, script: str, job: str) -> str:
    name = {"a40.sh": "hepreco-a40", "lumi_mi250x.sh": "hepreco-mi250x"}[script]
    return (cwd / f"slurm-{name}-{job}.out").read_text()


def _run_dir(cwd: Path, job: str) -> Path:
    return cwd / "outputs" / "pileup-mlp" / "runs" / f"slurm-{job}"


def _check_run(run: Path, epochs: int) -> dict:
    for name in (
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "metrics.csv",
        "plots/pr_curve.png",
        "test_per_event.csv",
        ".hydra/config.yaml",
        "train.log",
    ):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_completed"] == epochs
    assert 0.0 <= summary["test/auprc"] <= 1.0
    return summary


def _epoch_of(ckpt: Path) -> int:
    try:
        return int(torch.load(ckpt, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # not written yet, or being written
        return -1


def _wait_for_epoch(env: dict, job: str, ckpt: Path, epoch: int) -> None:
    start = time.time()
    while _epoch_of(ckpt) < epoch:
        assert _job(env, job).get("JobState") in ("PENDING", "RUNNING"), _job(env, job)
        assert time.time() - start < 300, f"{ckpt} did not reach epoch {epoch}"
        time.sleep(0.2)


def test_a40_script_on_local_slurm(slurm, tmp_path) -> None:
    job = _sbatch(slurm, tmp_path, "a40.sh", ["--cpus-per-task=1"], [*TINY, "trainer.max_epochs=2"])
    info = _wait(slurm, job)
    log = _log(tmp_path, "a40.sh", job)
    assert info["JobState"] == "COMPLETED", log[-4000:]
    run = _run_dir(tmp_path, job)
    _check_run(run, epochs=2)
    assert "SLURM auto-requeueing enabled" in log  # Lightning's SLURMEnvironment took over


def test_lumi_script_ddp_on_local_slurm(slurm, tmp_path) -> None:
    # the launcher's 8 tasks x 7 CPUs scaled down to this machine: 2 DDP ranks of 1 CPU each
    args = ["--ntasks-per-node=2", "--cpus-per-task=1"]
    job = _sbatch(slurm, tmp_path, "lumi_mi250x.sh", args, [*TINY, "trainer.max_epochs=2"])
    info = _wait(slurm, job)
    log = _log(tmp_path, "lumi_mi250x.sh", job)
    assert info["JobState"] == "COMPLETED", log[-4000:]
    assert info["Partition"] == "standard-g"
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in log
    runs = list((tmp_path / "outputs").rglob(".hydra"))
    assert [r.parent for r in runs] == [_run_dir(tmp_path, job)]  # both ranks, one run directory
    _check_run(_run_dir(tmp_path, job), epochs=2)
    # only rank 0 writes the run directory's log: each rank logs "Instantiating view" once
    assert log.count("Instantiating view") == 2
    assert (_run_dir(tmp_path, job) / "train.log").read_text().count("Instantiating view") == 1


def _epochs_in_metrics(run: Path) -> list[int]:
    with (run / "metrics.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f) if row.get("train/loss")]


@pytest.mark.parametrize("how", ["scontrol_requeue", "time_limit_signal"])
def test_requeued_job_resumes_from_checkpoint(slurm, tmp_path, how: str) -> None:
    epochs = 60
    overrides = [
        *TINY,
        f"trainer.max_epochs={epochs}",
        "trainer.log_every_n_steps=1",
        "+logger.csv.flush_logs_every_n_steps=1",
    ]
    job = _sbatch(slurm, tmp_path, "a40.sh", ["--cpus-per-task=1"], overrides)
    run = _run_dir(tmp_path, job)
    _wait_for_epoch(slurm, job, run / "checkpoints" / "last.ckpt", 3)
    if how == "scontrol_requeue":  # the job is killed and put back in the queue
        subprocess.run(["scontrol", "requeue", job], env=slurm, check=True)
    else:  # what Slurm sends before the time limit (#SBATCH --signal=B:USR1@180)
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=slurm, check=True)
    # the job goes back to the queue and restarts by itself once its credential expired (10 s on the
    # local cluster, AuthInfo=cred_expire; Slurm's default is 2 minutes)
    _wait(slurm, job, until=("PENDING",), timeout=120)
    info = _wait(slurm, job)
    log = _log(tmp_path, "a40.sh", job)
    assert info["JobState"] == "COMPLETED" and info["Restarts"] == "1", log[-4000:]
    assert "(restart 1)" in log

    summary = _check_run(run, epochs=epochs)
    assert summary["resumed_from"] == str(run / "checkpoints" / "last.ckpt")
    resumed = summary["resumed_at"]
    assert resumed["epoch"] >= 3, resumed  # continued, not started over
    if how == "time_limit_signal":
        assert "Received SIGUSR1: saving" in log and "requeueing job" in log
    # the epochs logged across both attempts never go back to 0: training continued
    seen = _epochs_in_metrics(run)
    assert seen[0] == 0 and seen[-1] == epochs - 1
    assert seen == sorted(seen), f"epoch count restarted: {seen}"
    print(f"{how}: resumed at epoch {resumed['epoch']} (step {resumed['global_step']}) of {epochs}")


def test_optuna_trials_as_slurm_jobs(slurm, tmp_path) -> None:
    """hydra/launcher=slurm_cpu (hydra-submitit-launcher): the sweep submits its trials, two at a time."""
    cmd = [sys.executable, "-m", "src.train", "-m", "hparams_search=pileup_optuna_tiny"]
    cmd += ["hydra/launcher=slurm_cpu", "hydra.sweeper.n_jobs=2", f"paths.log_dir={tmp_path / 'outputs'}"]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=slurm, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    sweep = tmp_path / "outputs" / "pileup-mlp" / "sweeps" / "pileup_optuna_tiny"
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["states"] == {"COMPLETE": 3}
    for trial in range(3):
        assert (sweep / str(trial) / "summary.json").is_file()
    results = sorted(p.name for p in (sweep / ".submitit").rglob("*_result.pkl"))
    assert len(results) == 3, results  # one Slurm job (or array task) per trial, each returned its metric
