"""Asserts the cluster plumbing without a cluster: hardware configs, rank-0-only outputs, run ids stable
under Slurm, resuming only from a checkpoint of the same experiment, the preemption callback, random states
carried through checkpoints, and checkpoints written atomically."""

from __future__ import annotations

import os
import signal

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from src.utils import jobs

RANK_ENV = (*jobs.RANK_VARIABLES, "HEPRECO_RUN_ID", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_NTASKS")


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*RANK_ENV, "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "hardware,expected",
    [
        ("cpu", ("cpu", 1, "auto", "32-true")),
        ("a40", ("gpu", 1, "auto", "bf16-mixed")),
        ("a40_ddp", ("gpu", "auto", "ddp", "bf16-mixed")),
        ("mi250x", ("gpu", 8, "ddp", "bf16-mixed")),
    ],
)
def test_hardware_configs(compose_cfg, hardware: str, expected: tuple) -> None:
    hw = compose_cfg([f"hardware={hardware}", "hardware.num_nodes=4"]).hardware
    assert (hw.accelerator, hw.devices, hw.strategy, hw.precision) == expected
    assert hw.num_nodes == 4


def test_fsdp_is_a_strategy_choice(compose_cfg) -> None:
    hw = compose_cfg(["hardware=mi250x", "hardware.strategy=fsdp"]).hardware
    from lightning.pytorch.strategies import StrategyRegistry

    assert hw.strategy in StrategyRegistry  # Lightning builds FSDPStrategy from it on GPU nodes


def test_cpu_hardware_builds_a_trainer(compose_cfg) -> None:
    trainer = L.Trainer(**instantiate(compose_cfg(["hardware=cpu"]).hardware), logger=False)
    assert trainer.num_devices == 1 and trainer.num_nodes == 1


@pytest.mark.parametrize(
    "env,rank_zero",
    [
        ({}, True),
        ({"SLURM_PROCID": "0"}, True),
        ({"SLURM_PROCID": "3"}, False),
        ({"LOCAL_RANK": "1"}, False),  # Lightning's own DDP launcher
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),  # first process of the second node
        ({"RANK": "0", "LOCAL_RANK": "0"}, True),
    ],
)
def test_rank_zero_only_outputs(clean_env, env, rank_zero: bool) -> None:
    for key, value in env.items():
        clean_env.setenv(key, value)
    jobs.register_resolvers()
    conf = OmegaConf.create({"subdir": "${hepreco.if_rank_zero:.hydra,null}"})
    assert jobs.is_rank_zero() is rank_zero
    assert conf.subdir == (".hydra" if rank_zero else None)


def test_run_id_is_shared_by_the_ranks_of_a_slurm_job(clean_env) -> None:
    assert jobs.run_id()[:2] == "20"  # local time outside Slurm
    clean_env.setenv("SLURM_JOB_ID", "4242")
    assert jobs.run_id()[:2] == "20"  # a batch script or interactive shell: one process, its own dir
    clean_env.setenv("SLURM_STEP_ID", "0")
    clean_env.setenv("SLURM_NTASKS", "8")
    assert jobs.run_id() == "slurm-4242"  # every rank of a multi-task srun step
    clean_env.setenv("SLURM_ARRAY_JOB_ID", "4000")
    clean_env.setenv("SLURM_ARRAY_TASK_ID", "7")
    assert jobs.run_id() == "slurm-4000_7"
    clean_env.setenv("HEPRECO_RUN_ID", "slurm-99")  # set by the sbatch launchers, kept across requeues
    assert jobs.run_id() == "slurm-99"


def _ckpt(path, config: dict, epoch: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "global_step": 3 * epoch, "hepreco": {"config": config}}, path)


def test_resume_only_from_the_same_experiment(tmp_path) -> None:
    cfg = OmegaConf.create(
        {"task": {"gamma": 2.0}, "model": {"h": 8}, "seed": 1, "trainer": {"max_epochs": 5}}
    )
    assert jobs.find_resume_checkpoint(tmp_path, cfg) is None
    _ckpt(tmp_path / "checkpoints" / "best.ckpt", OmegaConf.to_container(cfg), epoch=1)
    _ckpt(tmp_path / "checkpoints" / "last.ckpt", OmegaConf.to_container(cfg), epoch=3)
    os.utime(tmp_path / "checkpoints" / "best.ckpt", (1, 1))
    found = jobs.find_resume_checkpoint(tmp_path, cfg)
    assert found == tmp_path / "checkpoints" / "last.ckpt"
    assert jobs.checkpoint_progress(found) == {"epoch": 3, "global_step": 9}

    longer = OmegaConf.merge(cfg, {"trainer": {"max_epochs": 50}})  # training longer: same experiment
    assert jobs.find_resume_checkpoint(tmp_path, longer) == found
    other = OmegaConf.merge(cfg, {"task": {"gamma": 0.5}})  # a different experiment: start over
    assert jobs.find_resume_checkpoint(tmp_path, other) is None

    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"cut short by the kill")
    assert jobs.find_resume_checkpoint(tmp_path, cfg) == tmp_path / "checkpoints" / "best.ckpt"


class _Trainer:
    """What PreemptionCallback uses of the Trainer."""

    def __init__(self) -> None:
        self.should_stop = False
        self.saved: list = []
        self.strategy = type("S", (), {"reduce_boolean_decision": staticmethod(lambda x, all: x)})()

    def save_checkpoint(self, path) -> None:
        self.saved.append(path)


def test_preemption_signal_checkpoints_and_stops(tmp_path) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        callback = jobs.PreemptionCallback(tmp_path / "last.ckpt")
        trainer = _Trainer()
        callback.on_train_batch_end(trainer)
        assert not trainer.should_stop and not trainer.saved
        os.kill(os.getpid(), signal.SIGUSR1)
        callback.on_train_batch_end(trainer)
        assert trainer.should_stop and trainer.saved == [tmp_path / "last.ckpt"] and callback.preempted
        callback.on_train_batch_end(trainer)
        assert len(trainer.saved) == 1
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_rng_states_travel_with_the_checkpoint(tmp_path) -> None:
    import random

    import numpy as np

    callback = jobs.RNGStateCallback()
    torch.manual_seed(3)
    np.random.seed(3)  # noqa: NPY002
    random.seed(3)
    jobs.AtomicCheckpointIO().save_checkpoint(
        {"callbacks": {"rng": callback.state_dict()}}, tmp_path / "c.ckpt"
    )
    draws = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.manual_seed(99)
    np.random.seed(99)  # noqa: NPY002
    random.seed(99)
    state = torch.load(tmp_path / "c.ckpt", weights_only=True)["callbacks"]["rng"]
    callback.load_state_dict(state)
    again = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(draws[0], again[0]) and np.array_equal(draws[1], again[1]) and draws[2] == again[2]


def test_atomic_checkpoint_io_keeps_the_old_file_when_a_save_fails(tmp_path) -> None:
    io = jobs.AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, tmp_path / "last.ckpt")

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        io.save_checkpoint({"epoch": 2, "x": Unsaveable()}, tmp_path / "last.ckpt")
    assert torch.load(tmp_path / "last.ckpt", weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
