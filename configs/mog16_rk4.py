"""The main job: ODE-GAN (RK4) on the official notebook's 16-Gaussian grid.

`odegan train` with no --config runs this. Settings and the reasons for them are in
BUILD_NOTES.md ("Main job").
"""
from odegan_jax.config import base_config


def get_config():
    return base_config()
