"""GANnotes: WGAN with weight clipping (RMSprop 5e-5, c = 0.01, n_critic = 5) on swiss_roll."""

from odegan_jax.configs._wgan2d import wgan_config


def get_config():
    return wgan_config("wgan_swiss_roll", "swiss_roll", gradient_penalty=False)
