"""003 "ODE-GAN (RK4 + Adam)" (Table 1, Fig. 7) on Fashion-MNIST: ``fashion_mnist_odegan``
(RK4, h = 0.04, λ = 0.01, M0_B DCGAN) with each step's RK4 direction fed to Adam 2e-4,
β = (0.5, 0.999) (configs/_images.py ``rk4_adam``)."""
from odegan_jax.configs._images import odegan_image_config, rk4_adam


def get_config():
    return rk4_adam(odegan_image_config("fashion_mnist_odegan_adam", "fashion_mnist", "dcgan28",
                                        steps=100_000, h=0.04, reg_weight=0.01))
