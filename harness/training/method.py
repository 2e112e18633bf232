"""A method = a sampler's negatives + a loss + a training plan, and the two ways to compare
methods.

- ``recipe``: each method as published: its sampler's negatives, the loss and in-batch mask
  of its ``Recipe``, its training plan (refreshes, per-step retrieval, batch composition).
- ``controlled``: only the negatives differ: one shared loss (default ``mnrl``) and one mask
  setting (default off) for every sampler of the grid; each dynamic method gets its
  window-matched static control (``Recipe.control``), so a dynamic verdict is never a window
  verdict.

``--loss``/``--loss-param`` override the loss in either mode and ``--in-batch-mask on|off``
the mask; records state the mode, the loss with its parameters and the mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from negbench.harness.errors import NegbenchError

if TYPE_CHECKING:  # losses import torch; recipes are read by `negbench strategies` too
    from negbench.harness.training.losses import Loss

MODES = ("recipe", "controlled")
SHARED_LOSS = "mnrl"  # controlled mode's default loss (today's sentence-transformers default)


@dataclass(frozen=True)
class Recipe:
    """How a method trains as published, beside its negatives.

    ``loss``/``loss_params``: the registered loss and its parameters; ``mask``: STAR's in-batch
    mask of judged-relevant documents; ``schedule``: one line on refreshes, retrieval and
    batches; ``control``: the window-matched static control for controlled mode (a sampler
    name and parameters), None for static samplers; ``query_side``: set where the recipe
    needs the full track, saying what the query-side track runs instead (empty: it runs as
    published there)."""

    loss: str = "mnrl"
    loss_params: Mapping[str, object] = field(default_factory=dict)
    mask: bool = False
    schedule: str = "static negatives mined once; duplicate-free random batches"
    control: tuple[str, Mapping[str, object]] | None = None
    query_side: str = ""

    @property
    def control_label(self) -> str | None:
        """The control's row name: ``sampler[k=v,...]`` (parameters sorted), or the sampler
        alone without parameters; None for a static sampler."""
        if self.control is None:
            return None
        name, params = self.control
        inner = ",".join(f"{k}={v}" for k, v in sorted(dict(params).items()))
        return f"{name}[{inner}]" if inner else name

    def describe_loss(self) -> str:
        from negbench.harness.training.losses import get_loss

        return get_loss(self.loss, self.loss_params).describe()


@dataclass(frozen=True)
class Method:
    """What one run trains with besides its negatives: the mode it was resolved in, the loss
    (an instance with its parameters) and the in-batch mask."""

    mode: str
    loss: Loss
    mask: bool

    def to_dict(self) -> dict:
        return {"mode": self.mode, "loss": self.loss.name, "loss_params": self.loss.params_dict(),
                "in_batch_mask": self.mask}


def resolve_method(recipe: Recipe, mode: str, loss: str | None = None,
                   loss_params: Mapping[str, object] | None = None, mask: str = "auto"
                   ) -> Method:
    """The method a run trains with: ``recipe`` mode takes the recipe's loss and mask,
    ``controlled`` mode the shared loss and no mask; an explicit ``loss`` (with
    ``loss_params``) or ``mask`` (``on``/``off``) overrides either."""
    from negbench.harness.training.losses import get_loss

    if mode not in MODES:
        raise NegbenchError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
    if mask not in ("auto", "on", "off"):
        raise NegbenchError(f"--in-batch-mask {mask!r}: choose auto, on or off")
    if loss is None:
        name = recipe.loss if mode == "recipe" else SHARED_LOSS
        params = {**(recipe.loss_params if mode == "recipe" else {}), **(loss_params or {})}
    else:
        name, params = loss, dict(loss_params or {})
    on = (recipe.mask if mode == "recipe" else False) if mask == "auto" else mask == "on"
    return Method(mode, get_loss(name, params), on)


def parse_loss_params(items: list[str] | None) -> dict[str, str]:
    """Repeated ``--loss-param NAME=VALUE`` into a dict (values converted by ``get_loss``)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise NegbenchError(f"--loss-param {item!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip()
    return out
