"""The GAN as a two-player differentiable game: losses and the joint vector field.

Conventions used throughout the package:

* ``params = {'d': θ, 'g': φ}``: the parameter pytrees of the discriminator (θ) and the
  generator (φ). ODE rules integrate this joint pytree.
* ``model_state = {'d': ..., 'g': ...}``: each player's non-trained collections
  (BatchNorm running averages under ``'batch_stats'``); ``{}`` for a player without any.
* The discriminator returns raw scores ("logits") of shape ``[B, 1]`` or ``[B, 2]``. A
  two-logit head (the official TF ODE-GAN code) is a two-class softmax, identical to a
  sigmoid on ``logit[1] - logit[0]``, so every loss below accepts both.

The vector field is ``v(θ, φ) = -[∂ℓ_D/∂θ, ∂ℓ_G/∂φ]`` (Qin20, Algorithm 1). One forward pass of
G and of D on the real and the fake batch serves both players: the two gradients are two
pullbacks of the same ``jax.vjp``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
from chex import ArrayTree
from jax import Array
from optax.tree_utils import tree_norm

from odegan_jax.config import choose

Params = dict  # {'d': θ, 'g': φ}
ModelState = dict  # {'d': {...}, 'g': {...}}


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


def binary_logit(logits: jax.Array) -> jax.Array:
    """Reduces D's output ``[B, 1]`` or ``[B, 2]`` (two-class softmax) to one logit ``[B]``."""
    if logits.ndim != 2 or logits.shape[-1] not in (1, 2):
        raise ValueError(
            f"discriminator output must have shape [batch, 1] or [batch, 2], got {logits.shape}"
        )
    if logits.shape[-1] == 2:
        return logits[:, 1] - logits[:, 0]
    return logits[:, 0]


class Loss(NamedTuple):
    """A GAN objective: what each player minimises, as functions of D's logits.

    d_loss(real_logits [B], fake_logits [B]) -> scalar ℓ_D; g_loss(fake_logits [B]) -> ℓ_G.
    gradient_penalty: weight of the WGAN-GP term E[(‖∇_x D(x̂)‖ - 1)²] added to ℓ_D.
    clip_value: WGAN weight clipping, a projection of θ onto [-c, c] after every update.
    probabilistic: D's score is a logit (sigmoid losses) rather than a critic value.
    logit_sign: P(real) = σ(logit_sign · logit); -1 where D's output is the logit of P(fake).
    """

    name: str
    d_loss: Callable[[jax.Array, jax.Array], jax.Array]
    g_loss: Callable[[jax.Array], jax.Array]
    gradient_penalty: float = 0.0
    clip_value: float | None = None
    probabilistic: bool = True
    logit_sign: float = 1.0


def _softplus(x: Array):
    return jax.nn.softplus(x)


def _bce_d_loss(real, fake):
    # -log σ(r) - log(1 - σ(f)), written with softplus for stability.
    return jnp.mean(_softplus(-real)) + jnp.mean(_softplus(fake))


def minimax_loss() -> Loss:
    """Goodfellow's saturating game: G minimises E log(1 - D(G(z)))."""
    return Loss("minimax", _bce_d_loss, lambda fake: -jnp.mean(_softplus(fake)))


def non_saturating_loss() -> Loss:
    """G maximises E log D(G(z)) instead (Goodfellow 2014, the usual practice)."""
    return Loss("non_saturating", _bce_d_loss, lambda fake: jnp.mean(_softplus(-fake)))


def notebook_loss() -> Loss:
    """The official ODE-GAN notebook's losses (odegan_mog16.ipynb), in descent form.

    The notebook defines ``disc_loss = -E[r - log σ(r)] - E[-log σ(f)]`` and
    ``gen_loss = -E[f - log σ(f)]`` and then steps *along* their gradients (its integrators
    add ``dt · grad``). Since ``x - log σ(x) = softplus(x)``, the descended losses are
    ℓ_D = E softplus(r) + E softplus(-f) and ℓ_G = E softplus(f): the non-saturating game with
    D's output read as the logit of P(fake), i.e. P(real) = σ(-logit).
    """
    return Loss(
        "notebook",
        lambda real, fake: jnp.mean(_softplus(real)) + jnp.mean(_softplus(-fake)),
        lambda fake: jnp.mean(_softplus(fake)),
        logit_sign=-1.0,
    )


def wgan_loss(clip_value: float = 0.01) -> Loss:
    """Wasserstein GAN (Arjovsky et al. 2017) with weight clipping of D to [-c, c]."""
    return Loss(
        "wgan",
        lambda real, fake: jnp.mean(fake) - jnp.mean(real),
        lambda fake: -jnp.mean(fake),
        clip_value=clip_value,
        probabilistic=False,
    )


def wgan_gp_loss(weight: float = 10.0) -> Loss:
    """WGAN with the gradient penalty of Gulrajani et al. 2017 (λ = 10 there)."""
    return Loss(
        "wgan_gp",
        lambda real, fake: jnp.mean(fake) - jnp.mean(real),
        lambda fake: -jnp.mean(fake),
        gradient_penalty=weight,
        probabilistic=False,
    )


def linear_loss() -> Loss:
    """The Dirac-GAN's loss (Mescheder et al. 2018; Qin20 §4): WGAN's objective, f(t) = t,
    without clipping: ℓ_D = E D(G(z)) − E D(x), ℓ_G = −E D(G(z))."""
    return Loss(
        "linear",
        lambda real, fake: jnp.mean(fake) - jnp.mean(real),
        lambda fake: -jnp.mean(fake),
        probabilistic=False,
    )


def hinge_loss() -> Loss:
    """Hinge loss (Lim & Ye 2017; SN-GAN): ℓ_D = E relu(1 - r) + E relu(1 + f), ℓ_G = -E f."""
    return Loss(
        "hinge",
        lambda real, fake: jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake)),
        lambda fake: -jnp.mean(fake),
        probabilistic=False,
    )


LOSSES = ("minimax", "non_saturating", "notebook", "wgan", "wgan_gp", "hinge", "linear")


def make_loss(name: str, *, gp_weight: float = 10.0, clip_value: float = 0.01) -> Loss:
    """The loss ``name`` (``config.game.loss``); a ConfigError naming the key otherwise."""
    factories = {
        "minimax": minimax_loss,
        "non_saturating": non_saturating_loss,
        "notebook": notebook_loss,
        "wgan": lambda: wgan_loss(clip_value),
        "wgan_gp": lambda: wgan_gp_loss(gp_weight),
        "hinge": hinge_loss,
        "linear": linear_loss,
    }
    return choose("game.loss", name, dict(zip(LOSSES, (factories[n] for n in LOSSES))))()


# --------------------------------------------------------------------------------------
# The game
# --------------------------------------------------------------------------------------

LATENT_PRIORS = ("normal", "uniform")


@dataclasses.dataclass(frozen=True)
class Game:
    """Generator, discriminator, loss and latent prior: everything static about the game.

    Hashable, so it can be closed over by jitted functions. Networks are flax modules with
    signature ``__call__(x, train: bool)``.
    """

    generator: nn.Module
    discriminator: nn.Module
    loss: Loss
    latent_size: int
    latent_prior: str = "normal"
    has_ode_blocks: bool = False  # report the networks' NFE (``nfe_g`` / ``nfe_d``) in metrics

    def __post_init__(self) -> None:
        choose("model.latent_prior", self.latent_prior, LATENT_PRIORS)

    def sample_latents(self, key: jax.Array, n: int) -> jax.Array:
        """z ~ N(0, I) or U(-1, 1), shape [n, latent_size]."""
        shape = (n, self.latent_size)
        if self.latent_prior == "normal":
            return jax.random.normal(key, shape)
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)  # uniform

    def init(self, key: jax.Array, example_x: jax.Array) -> tuple[Params, ModelState]:
        """Initialises both networks; ``example_x`` is a real batch (only its shape is used)."""
        key_g, key_d = jax.random.split(key)
        z = jnp.zeros((example_x.shape[0], self.latent_size), example_x.dtype)
        g_vars = self.generator.init(key_g, z, train=False)
        d_vars = self.discriminator.init(key_d, example_x, train=False)
        g_params, g_state = _split_variables(g_vars)
        d_params, d_state = _split_variables(d_vars)
        return {"d": d_params, "g": g_params}, {"d": d_state, "g": g_state}

    def generate(self, params: Params, model_state: ModelState, z: jax.Array) -> jax.Array:
        """G(z) in inference mode (BatchNorm uses its running averages)."""
        return self.generator.apply({"params": params["g"], **model_state["g"]}, z, train=False)

    def discriminate(self, params: Params, model_state: ModelState, x: jax.Array) -> jax.Array:
        """D's logits ``[B]`` in inference mode."""
        out = self.discriminator.apply({"params": params["d"], **model_state["d"]}, x, train=False)
        return binary_logit(out)


def _split_variables(variables: dict) -> tuple[dict, dict]:
    variables = dict(variables)
    params = variables.pop("params", {})
    variables.pop(NFE_COLLECTION, None)  # diagnostics, not state
    return params, variables


NFE_COLLECTION = "nfe"  # Neural-ODE blocks sow their function evaluations here


def _apply_train_nfe(module: nn.Module, params: ArrayTree, state, x: Array):
    """Training-mode forward pass (BatchNorm uses batch statistics).

    Returns ``(output, updated state, nfe)``: nfe sums the evaluations of every ODE block in
    the network (0 when it has none).
    """
    out, new_vars = module.apply(
        {"params": params, **state}, x, train=True, mutable=list(state.keys()) + [NFE_COLLECTION]
    )
    new_vars = dict(new_vars)
    nfe = sum(jax.tree.leaves(new_vars.pop(NFE_COLLECTION, {})), jnp.zeros((), jnp.int32))
    return out, new_vars, nfe


def _apply_train(module: nn.Module, params: ArrayTree, state, x: Array):
    """Training-mode forward pass: BatchNorm uses batch statistics; returns updated state."""
    out, new_state, _ = _apply_train_nfe(module, params, state, x)
    return out, new_state


def _gradient_penalty(game: Game, d_params, d_state, real, fake, key: Array):
    """E[(‖∇_x D(x̂)‖₂ - 1)²] at x̂ = εx + (1-ε)G(z), ε ~ U(0, 1) per sample."""
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    x_hat = eps * real + (1.0 - eps) * fake

    def critic_sum(x: Array):
        out, _ = _apply_train(game.discriminator, d_params, d_state, x)
        return jnp.sum(binary_logit(out))

    grads = jax.grad(critic_sum)(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


class Evaluation(NamedTuple):
    """One evaluation of the game at (θ, φ) on one minibatch.

    grads: ``{'d': ∂ℓ_D/∂θ, 'g': ∂ℓ_G/∂φ}`` (the vector field is its negative).
    model_state: the players' state after this forward pass (batch statistics folded into the
      running averages).
    metrics: scalars ``loss_d``, ``loss_g``, ``d_real``, ``d_fake`` (mean D(x) and D(G(z)): a
      probability for sigmoid losses, the raw critic value otherwise).
    penalty_grad: ``g_θ = ∇_θ ‖∂ℓ_G/∂φ‖²`` when asked for, else None.
    """

    grads: Params
    model_state: ModelState
    metrics: dict
    penalty_grad: Any = None


def _sq_norm(tree) -> jax.Array:
    return tree_norm(tree, squared=True)


class Draws(NamedTuple):
    """The random inputs of one evaluation: the latents ``z`` ``[B, latent_size]`` and the key
    of the WGAN-GP interpolation."""

    z: jax.Array
    gp_key: jax.Array


def draw(game: Game, key: jax.Array, real: jax.Array) -> Draws:
    """What :func:`player_gradients` draws from ``key`` for the minibatch ``real``.

    A rule that evaluates the game several times on the same key (the stages of an RK step
    on one minibatch, each player frozen in turn) draws once and passes the ``Draws``: the same
    numbers, computed once (XLA does not merge the repeated draws: each is fused into its
    own kernel, and on the notebook's MLP step they were a seventh of the time)."""
    key_z, key_gp = jax.random.split(key)
    return Draws(game.sample_latents(key_z, real.shape[0]).astype(real.dtype), key_gp)


def player_gradients(
    game: Game,
    params: Params,
    model_state: ModelState,
    real: jax.Array,
    key: jax.Array | Draws,
    *,
    penalty: bool = False,
) -> Evaluation:
    """Both players' loss gradients from one shared forward pass.

    Args:
      real: a minibatch of real data ``[B, ...]``.
      key: PRNG key for the latents (and the WGAN-GP interpolation), or those already drawn
        from it (:func:`draw`).
      penalty: also return ``g_θ = ∇_θ ‖∂ℓ_G/∂φ‖²`` (a double backward pass).
    """
    chex.assert_rank(real, {2, 3, 4})
    z, key_gp = key if isinstance(key, Draws) else draw(game, key, real)
    loss = game.loss

    def forward(d_params, g_params):
        fake, g_state, nfe_g = _apply_train_nfe(game.generator, g_params, model_state["g"], z)
        chex.assert_equal_shape([fake, real])
        real_out, d_state, nfe_d = _apply_train_nfe(
            game.discriminator, d_params, model_state["d"], real
        )
        fake_out, d_state = _apply_train(game.discriminator, d_params, d_state, fake)
        real_logits, fake_logits = binary_logit(real_out), binary_logit(fake_out)
        if loss.gradient_penalty > 0:
            gp = _gradient_penalty(
                game, d_params, model_state["d"], real, jax.lax.stop_gradient(fake), key_gp
            )
        else:
            gp = jnp.zeros((), real.dtype)
        return (real_logits, fake_logits, gp), (
            {"d": d_state, "g": g_state},
            {"nfe_g": nfe_g, "nfe_d": nfe_d},
        )

    def d_objective(real_logits, fake_logits, gp):
        return loss.d_loss(real_logits, fake_logits) + loss.gradient_penalty * gp

    def g_objective(real_logits, fake_logits, gp):
        del real_logits, gp
        return loss.g_loss(fake_logits)

    def grads_at(d_params):
        outs, pullback, (new_state, nfe) = jax.vjp(forward, d_params, params["g"], has_aux=True)
        loss_d, d_cot = jax.value_and_grad(d_objective, argnums=(0, 1, 2))(*outs)
        loss_g, g_cot = jax.value_and_grad(g_objective, argnums=(0, 1, 2))(*outs)
        grad_d, _ = pullback(d_cot)
        _, grad_g = pullback(g_cot)
        real_logits, fake_logits, _ = outs
        if loss.probabilistic:
            score = lambda x: jax.nn.sigmoid(loss.logit_sign * x)  # noqa: E731
        else:
            score = lambda x: x  # noqa: E731
        metrics = {
            "loss_d": loss_d,
            "loss_g": loss_g,
            "d_real": jnp.mean(score(real_logits)),
            "d_fake": jnp.mean(score(fake_logits)),
        }
        if game.has_ode_blocks:  # forward evaluations of one call of each network
            metrics.update(nfe)
        return grad_d, grad_g, new_state, metrics

    grad_d, grad_g, new_state, metrics = grads_at(params["d"])
    if not penalty:
        return Evaluation({"d": grad_d, "g": grad_g}, new_state, metrics)

    # g_θ = ∇_θ‖∂ℓ_G/∂φ‖² = 2 (∂²ℓ_G/∂θ∂φ) ∂ℓ_G/∂φ: a mixed Hessian-vector product, taken
    # forward-over-reverse (a JVP along v = ∂ℓ_G/∂φ of ∂ℓ_G/∂θ), cheaper than differentiating
    # the whole evaluation a second time in reverse mode.
    def g_loss_grad_theta(g_params):
        def g_loss(d_params):
            fake, _ = _apply_train(game.generator, g_params, model_state["g"], z)
            out, _ = _apply_train(game.discriminator, d_params, model_state["d"], fake)
            return loss.g_loss(binary_logit(out))

        return jax.grad(g_loss)(params["d"])

    _, mixed = jax.jvp(g_loss_grad_theta, (params["g"],), (grad_g,))
    penalty_grad = jax.tree.map(lambda x: 2.0 * x, mixed)
    metrics = dict(metrics, g_grad_sq_norm=_sq_norm(grad_g))
    return Evaluation({"d": grad_d, "g": grad_g}, new_state, metrics, penalty_grad)


def vector_field(
    game: Game, params: Params, model_state: ModelState, real: jax.Array, key: jax.Array
) -> tuple[Params, ModelState, dict]:
    """v(θ, φ) = -[∂ℓ_D/∂θ, ∂ℓ_G/∂φ] on one minibatch; returns (v, new model state, metrics)."""
    ev = player_gradients(game, params, model_state, real, key)
    return jax.tree.map(jnp.negative, ev.grads), ev.model_state, ev.metrics


def gradient_norm_penalty(
    game: Game, params: Params, model_state: ModelState, real: jax.Array, key: jax.Array
) -> Any:
    """g_θ = ∇_θ ‖∂ℓ_G/∂φ‖² (Qin20 Algorithm 1), a pytree shaped like θ."""
    return player_gradients(game, params, model_state, real, key, penalty=True).penalty_grad
