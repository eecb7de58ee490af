"""Experiment configs, one file per experiment of the seeds (importable as odegan_jax.configs)."""
