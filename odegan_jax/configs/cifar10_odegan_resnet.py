"""Qin20 ODE-GAN (RK4, h = 0.04, λ = 0.02) on CIFAR-10 with the SN-GAN ResNet (Table 1)."""

from odegan_jax.configs._images import odegan_image_config


def get_config():
    return odegan_image_config("cifar10_odegan_resnet", "cifar10", "resnet32")
