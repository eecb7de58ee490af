"""odegan_jax: GAN training as an ODE solve (ODE-GAN), Neural-ODE GANs and baselines in JAX."""
__version__ = "0.1.0"
