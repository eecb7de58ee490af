"""Experiment configs, one file per experiment of the source documents (importable as
odegan_jax.configs)."""
