"""Adam and the plateau schedule of the training recipes, without ``torch.optim``'s set-up cost.

Every method of a ``torch.optim.Optimizer`` is wrapped so that its first call imports
torch's compiler stack (``torch._dynamo`` with sympy, about 800 modules: about 1 s on a 2-core
CPU), whether or not anything is compiled. A training job pays that before its first step,
and so do the official scripts. :class:`Adam` is the same update as ``torch.optim.Adam``'s
single-tensor CPU loop (the path torch takes for CPU tensors when neither ``foreach`` nor
``fused`` is asked for), operation for operation, so the weights are bit-identical
(``tests/test_optim.py`` compares them with ``torch.optim.Adam`` step by step), and its
``state_dict`` has torch's layout, so a checkpoint of either resumes with either.
:class:`Plateau` is ``torch.optim.lr_scheduler.ReduceLROnPlateau`` in ``min`` mode with a
relative threshold, no cooldown and no lower bound (the ASFormer recipe); it reads the
counters of a torch-written state dict too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import torch


class StepOptimizer(Protocol):
    """What the training engine uses of an optimiser (``torch.optim.Adam`` or :class:`Adam`)."""

    param_groups: list[dict[str, Any]]

    def zero_grad(self, set_to_none: bool = True) -> None: ...

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None: ...


class Adam:
    """Adam (Kingma & Ba) with L2 weight decay added to the gradient, one parameter group.

    Per parameter p with gradient g at step t (lr, betas (b1, b2), eps, weight decay wd)::

        g = g + wd * p                               (if wd != 0)
        m = lerp(m, g, 1 - b1);  v = v * b2 + (1 - b2) * g * g
        p = p - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        params = list(params)
        if not params:
            raise ValueError("Adam got an empty parameter list")
        self.param_groups: list[dict[str, Any]] = [
            {
                "lr": float(lr),
                "betas": tuple(betas),
                "eps": float(eps),
                "weight_decay": float(weight_decay),
                "amsgrad": False,
                "maximize": False,
                "foreach": None,
                "capturable": False,
                "differentiable": False,
                "fused": None,
                "decoupled_weight_decay": False,
                "params": params,
            }
        ]
        self.state: dict[torch.nn.Parameter, dict[str, torch.Tensor]] = {}

    @property
    def _params(self) -> list[torch.nn.Parameter]:
        return self.param_groups[0]["params"]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero) every parameter's gradient."""
        for p in self._params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        group = self.param_groups[0]
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        for p in self._params:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("Adam does not support sparse gradients")
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {
                    "step": torch.tensor(0.0, dtype=_step_dtype()),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            grad, exp_avg, exp_avg_sq = p.grad, state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = state["step"].item()
            step_size = lr / (1 - beta1**step)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            p.addcdiv_(exp_avg, denom, value=-step_size)

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: ``{"state": {index: {...}}, "param_groups": [{..., "params": [i]}]}``."""
        index = {id(p): i for i, p in enumerate(self._params)}
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return {
            "state": {index[id(p)]: dict(s) for p, s in self.state.items()},
            "param_groups": [{**group, "params": list(range(len(self._params)))}],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state dict of :meth:`state_dict` or of ``torch.optim.Adam`` (one group)."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self._params):
            raise ValueError("the optimiser state does not match this model's parameters")
        for key in ("lr", "betas", "eps", "weight_decay"):
            self.param_groups[0][key] = groups[0][key]
        position = {saved: i for i, saved in enumerate(groups[0]["params"])}
        self.state = {}
        for saved, values in state_dict["state"].items():
            p = self._params[position[saved]]
            self.state[p] = {
                "step": values["step"].detach().to("cpu", _step_dtype()).clone(),
                "exp_avg": values["exp_avg"].detach().to(p.device, p.dtype).clone(),
                "exp_avg_sq": values["exp_avg_sq"].detach().to(p.device, p.dtype).clone(),
            }


def _step_dtype() -> torch.dtype:
    """The step counter's dtype in torch's Adam: float64 under a float64 default, else float32."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class Plateau:
    """Multiply the learning rate by ``factor`` once the monitored value has not improved by a
    relative 1e-4 for more than ``patience`` consecutive epochs."""

    threshold = 1e-4
    eps = 1e-8

    def __init__(self, optimizer: StepOptimizer, factor: float, patience: int) -> None:
        if not factor < 1.0:
            raise ValueError("the plateau factor must be < 1")
        self.optimizer, self.factor, self.patience = optimizer, factor, patience
        self.best = math.inf
        self.num_bad_epochs = 0
        self.last_epoch = 0

    def step(self, value: float) -> None:
        """Record one epoch's monitored value (e.g. the summed training loss)."""
        current = float(value)
        self.last_epoch += 1
        if current < self.best * (1.0 - self.threshold):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                old = float(group["lr"])
                new = max(old * self.factor, 0.0)
                if old - new > self.eps:
                    group["lr"] = new
            self.num_bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        """The counters (the same keys torch's ReduceLROnPlateau saves them under)."""
        return {
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load :meth:`state_dict`, or the counters of a torch ReduceLROnPlateau state dict."""
        self.best = float(state_dict["best"])
        self.num_bad_epochs = int(state_dict["num_bad_epochs"])
        self.last_epoch = int(state_dict["last_epoch"])
