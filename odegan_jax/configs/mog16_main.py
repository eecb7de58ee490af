"""The main job: ODE-GAN (RK4) on the official notebook's 16-Gaussian grid, sized to run in
about 75 s on 2 CPU cores.

`odegan train` with no --config runs this. It is ``mog16_rk4`` (the shared base: joint RK4,
h 0.6, λ 0.3, 2×50 MLPs initialised N(0, 0.07²)) with half the batch (256: the 16 means
tiled 16 times), the MLPs computed feature-major (the same functions, faster kernels on CPU),
and 54,000 steps in four phases, h halved at 12k, 24k and 36k (mog16_rk4: 24,000 with 12k /
18k / 21k), so that the ½ and ¼ phases are as long as the first and the ⅛ phase runs 18,000
steps. A step that blows up is redone from the last checkpoint (one every 2,000 steps) with h
halved for 2,000 steps, and so is a step after which G's gradient is exactly 0 (a dead
generator). G's moving average over about the last 1,000 steps is what is evaluated. How it
was chosen (on seeds 300–331 and 410–460; the longer ⅛ phase judged on seeds 1100–1131) and
its quality over seeds 0–127, which nobody tuned it on (`odegan reproduce main_job_seeds`
for 0–31): BUILD_NOTES.md ("The main job", "A longer ⅛ phase").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odegan_jax.config import base_config

if TYPE_CHECKING:
    from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = base_config()
    c.name = "mog16_main"
    # the ⅛ phase runs 18,000 steps: seeds whose modes sharpen late pass; judged on fresh
    # seeds 1100-1131 (BUILD_NOTES, "The main job")
    c.steps = 54_000
    c.rule.schedule_boundaries = (12_000, 24_000, 36_000)
    c.data.batch_size = 256
    c.model.layout = "feature_major"
    # modes / HQ on 10,000 samples every 200 steps (270 rows): each log costs ~30 ms here;
    # the trajectory does not depend on it
    c.loop.log_every = 200
    # a step that blows up (h = 0.6 is near the edge of RK4's stability on some seeds: 2 of
    # 16 diverged near step 4,000 on a Zen 4 CPU, 3 of 16 untuned seeds 100-115) goes back to
    # the newest checkpoint, one every 2,000 steps, and redoes the 2,000 steps from there at
    # h / 2; then the schedule's h is back (BUILD_NOTES, "The main job")
    c.loop.nonfinite = "rollback"
    c.loop.checkpoint_every = 2000
    c.loop.rollback_steps = 2000
    # a G whose gradient is exactly 0 (dead: seeds 11 and 671 after one large step at h 0.6)
    # is rolled back the same way; a run whose G lives is unchanged bit for bit
    c.loop.dead_generator = "rollback"
    # evaluate G's exponential moving average (about the last 1,000 steps) instead of the last
    # iterate, which circles the equilibrium (seed 108: 16/16 and 88-90% through the last
    # phase, 15/16 and 81.9% at step 48,000); training does not read it (BUILD_NOTES,
    # "G's moving average")
    c.rule.g_ema_decay = 0.999
    return c
