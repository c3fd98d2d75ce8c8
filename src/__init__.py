"""hepreco: Hydra-composed ML event reconstruction for particle physics."""
