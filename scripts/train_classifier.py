"""The same as ``python -m odegan_jax.tools.train_classifier`` (see that module for the
options); needs the package installed (``pip install -e .``)."""

from odegan_jax.tools.train_classifier import main

if __name__ == "__main__":
    main()
