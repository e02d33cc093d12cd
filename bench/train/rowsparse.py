"""Row-sparse word-embedding updates: the same AdamW step, paid only for the rows a run uses.

A multilingual encoder's word embedding is most of its parameters (me5_small: 96 M of 118 M,
250,037 rows), yet a batch touches a few hundred rows. Trained densely, every step allocates and
zero-fills a 250,037 x 384 gradient (fresh pages: page faults), clips it and runs AdamW over all
of it, for rows whose gradient is zero.

AdamW on a row that has never had a gradient does one thing: decoupled weight decay,
``p *= 1 - lr_t * wd`` (its moments are zero, so the Adam term is 0). A row that has had one
keeps moving (its moments decay), so it is updated every step from then on. Hence the exact
lazy scheme used here:

* the embedding produces a sparse gradient (``nn.Embedding(sparse=True)``: the batch's rows);
* rows seen at least once ("active") take the fused AdamW step every step, on their gathered
  rows, with the parameter's global step count for the bias correction;
* rows never seen owe the running product of the decay factors since they were last brought
  up to date; a forward pre-hook on the embedding pays it for the rows a batch looks up, before
  they are read, and :meth:`RowSparseAdamW.materialize` for all rows before the weights are
  used otherwise (evaluation, checkpoint, end of training).

The result equals dense AdamW up to float rounding (a product of decay factors instead of one
multiply per step; duplicate rows of the gradient summed in another order); tests check it
against ``torch.optim.AdamW`` and through the trainer. Tied embeddings (an output layer sharing
the matrix, e.g. the flores decoder's) get a dense gradient from that layer and stay dense.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.adam import adam


def sparse_embeddings(model: torch.nn.Module) -> list[torch.nn.Embedding]:
    """Switch the model's untied `nn.Embedding`s of more than 1,000 rows to sparse gradients and
    return them (position and token-type tables are small: they stay dense)."""
    uses: dict[int, int] = {}
    for _, p in model.named_parameters(remove_duplicate=False):
        uses[id(p)] = uses.get(id(p), 0) + 1
    found = []
    for module in model.modules():
        if (
            isinstance(module, torch.nn.Embedding)
            and module.num_embeddings > 1000
            and module.weight.requires_grad
            and uses.get(id(module.weight)) == 1
            and module.max_norm is None
        ):
            module.sparse = True
            found.append(module)
    return found


def clip_grad_norm_(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """`torch.nn.utils.clip_grad_norm_` (2-norm) for a mix of dense and sparse gradients."""
    dense = [p.grad for p in params if p.grad is not None and not p.grad.is_sparse]
    sparse = [p for p in params if p.grad is not None and p.grad.is_sparse]
    for p in sparse:
        p.grad = p.grad.coalesce()  # duplicate rows summed: the norm is of the true gradient
    norms = [torch.linalg.vector_norm(g, 2) for g in dense]
    norms += [torch.linalg.vector_norm(p.grad._values(), 2) for p in sparse]
    if not norms:
        return torch.zeros(())
    total = torch.linalg.vector_norm(torch.stack(norms), 2)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    if dense:
        torch._foreach_mul_(dense, coef)
    for p in sparse:
        p.grad._values().mul_(coef)
    return total


class RowSparseAdamW(torch.optim.AdamW):
    """`torch.optim.AdamW` (fused) that updates a parameter with a sparse row gradient (see
    `sparse_embeddings`) by the exact lazy scheme of this module's docstring. Its state is
    AdamW's (step, exp_avg, exp_avg_sq) plus which rows are active and the decay owed to the
    others; a dense AdamW checkpoint loads into it (the active rows are those with moments) and
    one of its own, taken after `materialize`, into a plain AdamW."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        def sparse(p: torch.Tensor) -> bool:
            return p.grad is not None and p.grad.is_sparse

        groups = self.param_groups
        self.param_groups = [
            {**g, "params": [p for p in g["params"] if not sparse(p)]} for g in groups
        ]
        try:
            super().step()
        finally:
            self.param_groups = groups
        for group in groups:
            for p in group["params"]:
                if sparse(p):
                    self._row_step(p, group)

    def track(self, module: torch.nn.Embedding) -> Any:
        """Pay the decay a batch's rows owe before `module` looks them up; returns the hook's
        handle (``.remove()`` when training ends)."""

        def catch_up(mod: torch.nn.Embedding, args: tuple) -> None:
            if torch.is_grad_enabled() and mod.weight in self.state:
                with torch.no_grad():
                    self._catch_up(mod.weight, args[0].flatten().unique())

        return module.register_forward_pre_hook(catch_up)

    def _state(self, p: torch.Tensor) -> dict[str, Any]:
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        if "active" not in state:  # fresh, or a dense AdamW's state: rows with moments
            moved = state["exp_avg"].ne(0) | state["exp_avg_sq"].ne(0)
            state["active"] = moved.flatten(1).any(1)
            state["decay"] = 1.0  # product of (1 - lr_t * wd) over the steps so far
            # per row: the product up to which its decay has been applied
            state["applied"] = torch.ones(p.shape[0], dtype=torch.float64, device=p.device)
        elif state["active"].dtype != torch.bool:  # load_state_dict casts to the param's dtype
            state["active"] = state["active"].bool()
            state["applied"] = state["applied"].double()
        return state

    def _catch_up(self, p: torch.Tensor, rows: torch.Tensor) -> None:
        """Apply the weight decay owed by those of `rows` that are not active."""
        state = self._state(p)
        rows = rows[~state["active"][rows]]
        owed = state["decay"] / state["applied"][rows]
        late = rows[owed != 1.0]
        if len(late):
            p[late] *= owed[owed != 1.0].to(p.dtype).view(-1, *([1] * (p.ndim - 1)))
            state["applied"][late] = state["decay"]

    def _row_step(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        grad = p.grad.coalesce()
        rows, values = grad._indices()[0], grad._values()
        state = self._state(p)
        self._catch_up(p, rows)  # a no-op when the pre-hook ran
        active = state["active"]
        active[rows] = True
        idx = active.nonzero().squeeze(1)  # sorted, as `rows` is (coalesced)
        grads = torch.zeros((len(idx), *p.shape[1:]), dtype=p.dtype, device=p.device)
        grads[torch.searchsorted(idx, rows)] = values
        sub = [p[idx], state["exp_avg"][idx], state["exp_avg_sq"][idx]]
        beta1, beta2 = group["betas"]
        adam(
            [sub[0]],
            [grads],
            [sub[1]],
            [sub[2]],
            [],
            [state["step"]],
            fused=True,
            decoupled_weight_decay=True,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
        )
        p[idx], state["exp_avg"][idx], state["exp_avg_sq"][idx] = sub
        state["decay"] *= 1.0 - group["lr"] * group["weight_decay"]

    @torch.no_grad()
    def materialize(self) -> None:
        """Apply the weight decay every never-seen row owes, so that the parameters are exactly
        what dense AdamW would hold now (before evaluating or saving them)."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state and "active" in state:
                    self._catch_up(p, torch.arange(p.shape[0], device=p.device))
