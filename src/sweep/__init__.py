"""Hyperparameter sweeps: an Optuna study driven through Hydra's multirun (see hydra_plugins/)."""
