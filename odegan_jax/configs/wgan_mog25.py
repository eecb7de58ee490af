"""GANnotes: WGAN with weight clipping (RMSprop 5e-5, c = 0.01, n_critic = 5) on mog25."""

from odegan_jax.configs._wgan2d import wgan_config


def get_config():
    return wgan_config("wgan_mog25", "mog25", gradient_penalty=False)
