"""The main job: ODE-GAN (RK4) on the official notebook's 16-Gaussian grid, sized to run in
about a minute and a half on 2 CPU cores.

`odegan train` with no --config runs this. It is ``mog16_rk4`` (the shared base: joint RK4,
h 0.6 with the 12k / 18k / 21k halvings, λ 0.3, 24,000 steps) with half the batch (256: the
16 means tiled 16 times) and 2×32 MLPs initialised N(0, 0.088²) (0.088² · 32 ≈ 0.1² · 25, the
pre-activation scale of N(0, 0.1) at width 25, as mog16_rk4's N(0, 0.07²) at width 50): a
step costs about a third of mog16_rk4's. A step that blows up is redone from the last
checkpoint (one every 2,000 steps) with h halved for 2,000 steps. How it was chosen, and its
quality over seeds 0–15 (`odegan reproduce main_job_seeds`): BUILD_NOTES.md ("Main job").
"""
from odegan_jax.config import base_config


def get_config():
    c = base_config()
    c.name = "mog16_main"
    c.data.batch_size = 256
    c.model.width = 32
    c.model.init_std = 0.088
    # modes / HQ on 10,000 samples every 200 steps (120 rows): each log costs ~30 ms here,
    # 7.6 s of a 102-s loop at every 100; the trajectory does not depend on it
    c.loop.log_every = 200
    # a step that blows up (h = 0.6 is near the edge of RK4's stability on some seeds: 2 of
    # 16 diverged near step 4,000 on a Zen 4 CPU, 3 of 16 untuned seeds 100-115) goes back to
    # the newest checkpoint, one every 2,000 steps, and redoes the 2,000 steps from there at
    # h / 2; then the schedule's h is back (BUILD_NOTES, "Main job")
    c.loop.nonfinite = "rollback"
    c.loop.checkpoint_every = 2000
    c.loop.rollback_steps = 2000
    return c
