"""Crash safety, with real SIGKILLs of command-line runs: a training run killed after its first checkpoint
resumes in the same run directory and ends with the test metrics of an uninterrupted run of the same seed
(to 1e-6); a killed dataset build is completed by the rerun with no partial file; a run killed in the middle
of writing a checkpoint (an epoch's or the preemption callback's) leaves the previous complete checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from src.data.cache import EventCache
from tests.conftest import TINY_SIM, assert_ok, cli

#: Test metrics of a resumed run agree with an uninterrupted one to this absolute tolerance (the runs are
#: deterministic on CPU and the random generators' states travel with the checkpoint).
TOLERANCE = 1e-6
TRAIN = ["task=pileup", "model=mlp", "trainer.max_epochs=8", "trainer.enable_progress_bar=false", *TINY_SIM]

#: Runs src.train with torch.save slowed down on one checkpoint save: the save writes half of its bytes,
#: touches the file named by $HEPRECO_TEST_MARKER and sleeps, so the test can kill it inside the write.
#: SAVE_AT selects the save: "epoch" (the second save of last.ckpt) or "preemption" (the save the
#: preemption callback makes after SIGUSR1).
SLOW_SAVE = """
import io, os, runpy, time, torch
import src.utils.jobs as jobs
real_save, state = torch.save, {"last": 0, "preempting": False}

def slow_save(obj, f, *args, **kwargs):
    name = getattr(f, "name", str(f))
    if ".last.ckpt." in str(name):
        state["last"] += 1
        epoch = os.environ["SAVE_AT"] == "epoch" and state["last"] == 2
        if epoch or (os.environ["SAVE_AT"] == "preemption" and state["preempting"]):
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            f.flush()
            open(os.environ["HEPRECO_TEST_MARKER"], "w").close()
            time.sleep(600)
    return real_save(obj, f, *args, **kwargs)

original = jobs.PreemptionCallback.on_train_batch_end
def on_train_batch_end(self, trainer, *args):
    state["preempting"] = self.received
    return original(self, trainer, *args)

torch.save = slow_save
jobs.PreemptionCallback.on_train_batch_end = on_train_batch_end
runpy.run_module("src.train", run_name="__main__", alter_sys=True)
"""


def _start(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for(proc: subprocess.Popen, ready: Callable[[], bool], log: Path, timeout: float = 400) -> None:
    """Poll until ``ready()``; fail with the process output if it ends or the time runs out first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                f"the run ended (exit {proc.returncode}) before the kill point:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.02)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert_ok(proc)
    return proc


def _test_metrics(run: Path) -> dict[str, float]:
    summary = json.loads((run / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k.startswith("test/")}


def test_killed_training_resumes_to_the_same_metrics(tmp_path) -> None:
    cmd, env = cli("src.train", TRAIN, tmp_path)
    runs = tmp_path / "outputs" / "pileup-mlp" / "runs"
    _run(cmd, {**env, "HEPRECO_RUN_ID": "uninterrupted"}, tmp_path)
    expected = _test_metrics(runs / "uninterrupted")
    assert expected

    env = {**env, "HEPRECO_RUN_ID": "killed"}
    last = runs / "killed" / "checkpoints" / "last.ckpt"
    log = tmp_path / "killed.log"
    proc = _start(cmd, env, tmp_path, log)
    _wait_for(proc, last.exists, log)
    _kill(proc)
    assert not (runs / "killed" / "summary.json").exists(), "the kill came after the run had finished"
    killed_at = torch.load(last, map_location="cpu", weights_only=True)["epoch"]
    assert killed_at < 7

    _run(cmd, env, tmp_path)
    summary = json.loads((runs / "killed" / "summary.json").read_text())
    assert summary["resumed_from"] == str(last) and summary["resumed_at"]["epoch"] >= killed_at
    assert summary["epochs_completed"] == 8
    resumed = _test_metrics(runs / "killed")
    print(f"killed after epoch {killed_at}; uninterrupted {expected}; resumed {resumed}")
    assert resumed.keys() == expected.keys()
    for key, value in expected.items():
        assert resumed[key] == pytest.approx(value, abs=TOLERANCE), key


def test_killed_dataset_build_is_completed_without_partial_file(tmp_path) -> None:
    overrides = [
        "dataset.pileup=50",
        "dataset.n_events=6",
        "dataset.split=[4,1,1]",
        "dataset.progress=false",
        "dataset.phi_sector=[-0.3,0.3]",
    ]
    cmd, env = cli("src.make_dataset", overrides, tmp_path)
    log = tmp_path / "build.log"
    proc = _start(cmd, env, tmp_path, log)
    cache = tmp_path / "cache"
    _wait_for(proc, lambda: any(cache.glob("sim_ls-*/event_000001.pt")), log)
    _kill(proc)
    (entry,) = cache.glob("sim_ls-*")
    built = sorted(entry.glob("event_*.pt"))
    assert 2 <= len(built) < 6, "the kill must interrupt the build"

    _run(cmd, env, tmp_path)
    assert sorted(p.name for p in entry.glob("event_*.pt")) == [f"event_{i:06d}.pt" for i in range(6)]
    assert not [p for p in entry.iterdir() if p.name.endswith(".tmp")], "no partial file may remain"
    cache = EventCache(cache, "sim_ls", json.loads((entry / "meta.json").read_text()))
    assert cache.dir == entry
    for i in range(6):
        assert cache.manifest(i).is_file()
        assert cache.load(i)["x"].shape[1] == 23  # verified against its manifest, no rebuild needed


@pytest.mark.parametrize("save_at", ["epoch", "preemption"])
def test_kill_during_a_checkpoint_save_leaves_a_complete_checkpoint(tmp_path, save_at: str) -> None:
    _, env = cli("src.train", [], tmp_path)
    marker = tmp_path / "saving"
    env = {**env, "HEPRECO_RUN_ID": "run", "HEPRECO_TEST_MARKER": str(marker), "SAVE_AT": save_at}
    cmd = [sys.executable, "-c", SLOW_SAVE, *TRAIN, f"paths.log_dir={tmp_path / 'outputs'}"]
    checkpoints = tmp_path / "outputs" / "pileup-mlp" / "runs" / "run" / "checkpoints"
    last = checkpoints / "last.ckpt"
    log = tmp_path / "run.log"
    proc = _start(cmd, env, tmp_path, log)
    _wait_for(proc, last.exists, log)
    first = last.read_bytes()
    if save_at == "preemption":
        os.kill(proc.pid, signal.SIGUSR1)  # Slurm's time-limit warning: checkpoint now
    _wait_for(proc, marker.exists, log)
    _kill(proc)

    (partial,) = [p for p in checkpoints.iterdir() if p.name.startswith(".last.ckpt.")]
    with pytest.raises(Exception, match=r"zip|archive|central directory"):
        torch.load(partial, map_location="cpu", weights_only=True)  # what an in-place write would leave
    ckpt = torch.load(last, map_location="cpu", weights_only=True)  # the previous one, complete
    assert ckpt["state_dict"] and "hepreco" in ckpt
    if save_at == "epoch":
        assert last.read_bytes() == first and ckpt["epoch"] == 0
