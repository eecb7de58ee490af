"""The same as ``python -m odegan_jax.tools.convert_inception_weights`` (see that module for the
options); needs the package installed (``pip install -e .``)."""

from odegan_jax.tools.convert_inception_weights import main

if __name__ == "__main__":
    main()
