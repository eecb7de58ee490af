"""GANnotes: WGAN with weight clipping (RMSprop 5e-5, c = 0.01, n_critic = 5) on mog8."""

from odegan_jax.configs._wgan2d import wgan_config


def get_config():
    return wgan_config("wgan_mog8", "mog8", gradient_penalty=False)
