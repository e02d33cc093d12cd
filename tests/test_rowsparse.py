"""Row-sparse embedding updates equal dense AdamW (bench/train/rowsparse.py), through the trainer too."""

from __future__ import annotations

import copy

import pytest
import torch

from bench.train.rowsparse import RowSparseAdamW, clip_grad_norm_, sparse_embeddings


class Tiny(torch.nn.Module):
    def __init__(self, tied: bool = False) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(3000, 16, padding_idx=0)
        self.pos = torch.nn.Embedding(8, 16)  # small: stays dense
        self.out = torch.nn.Linear(16, 3000 if tied else 4)
        if tied:
            self.out.weight = self.emb.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
        return self.out(torch.tanh(h)).square().mean() * 100  # large: clipping is active


def _optimizer(model: torch.nn.Module, cls: type) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return cls(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=1e-2,
        fused=True,
    )


def _batches(steps: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    # rows 0..199 early, rows up to 599 later: rows become active part-way through training
    return [
        torch.randint(0, 200 if s < steps // 2 else 600, (4, 8), generator=g) for s in range(steps)
    ]


def _train(model, opt, batches, sparse: bool) -> None:
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))  # lr varies per step
    for ids in batches:
        model(ids).backward()
        if sparse:
            clip_grad_norm_(list(model.parameters()), 1.0)
        else:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()


def test_row_sparse_adamw_equals_dense_adamw() -> None:
    torch.manual_seed(0)
    dense = Tiny()
    sparse = copy.deepcopy(dense)
    start = dense.emb.weight.detach().clone()
    assert sparse_embeddings(sparse) == [sparse.emb]
    batches = _batches(30)
    _train(dense, _optimizer(dense, torch.optim.AdamW), batches, sparse=False)
    opt = _optimizer(sparse, RowSparseAdamW)
    opt.track(sparse.emb)
    _train(sparse, opt, batches, sparse=True)
    assert not torch.allclose(sparse.emb.weight[1000:], dense.emb.weight[1000:])  # decay owed
    opt.materialize()
    for (name, a), b in zip(dense.named_parameters(), sparse.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=name)
    # the never-seen rows only decayed; the padding row never moved except by decay
    assert not torch.equal(dense.emb.weight[1000:], start[1000:])


def test_state_moves_between_dense_and_row_sparse_adamw() -> None:
    torch.manual_seed(0)
    batches = _batches(20)
    reference = Tiny()
    model = copy.deepcopy(reference)
    _train(reference, _optimizer(reference, torch.optim.AdamW), batches, sparse=False)
    # first half dense, then its state (a dense checkpoint) continues row-sparsely...
    dense_opt = _optimizer(model, torch.optim.AdamW)
    _train(model, dense_opt, batches[:10], sparse=False)
    sparse_embeddings(model)
    opt = _optimizer(model, RowSparseAdamW)
    opt.load_state_dict(dense_opt.state_dict())
    hook = opt.track(model.emb)
    sched_steps = 10
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s + sched_steps))
    for i, ids in enumerate(batches[10:]):
        model(ids).backward()
        clip_grad_norm_(list(model.parameters()), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
        if i == 4:  # ... through a save/load of its own state (the mask comes back as a bool)
            opt.materialize()
            state = copy.deepcopy(opt.state_dict())
            opt = _optimizer(model, RowSparseAdamW)
            opt.load_state_dict(state)
            hook.remove()
            hook = opt.track(model.emb)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s + 15))
    opt.materialize()
    for a, b in zip(reference.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_tied_embeddings_stay_dense() -> None:
    model = Tiny(tied=True)
    assert sparse_embeddings(model) == []
    assert not model.emb.sparse


@pytest.mark.parametrize("precision", ["fp32", "amp-bf16"])
def test_trainer_row_sparse_matches_dense(tmp_path, precision) -> None:
    """bench.train.trainer.train with and without row-sparse updates gives the same weights."""
    from bench.train.trainer import TrainConfig, seed_everything, train

    class Model(Tiny):
        def forward(self, batch):  # the trainer's contract: (summed loss, targets)
            return super().forward(batch["ids"]) * len(batch["ids"]), len(batch["ids"])

    from datasets import Dataset

    g = torch.Generator().manual_seed(1)
    data = Dataset.from_dict(
        {
            "ids": [torch.randint(0, 600, (8,), generator=g).tolist() for _ in range(64)],
            "length": [8] * 64,
            "n_targets": [1] * 64,
        }
    )

    def collate(items):
        return {"ids": torch.tensor([x["ids"] for x in items])}

    cfg = TrainConfig(lr=1e-2, batch_size=8, epochs=2, evals=0, precision=precision)
    weights = []
    for row_sparse in (False, True):
        seed_everything(1)
        model = Model()
        result = train(model, data, collate, cfg, tmp_path / str(row_sparse), row_sparse=row_sparse)
        assert result.row_sparse == (["emb"] if row_sparse else [])  # the path really ran
        assert not model.emb.sparse
        weights.append(model.state_dict())
    for key in weights[0]:
        torch.testing.assert_close(weights[1][key], weights[0][key], rtol=1e-5, atol=1e-6)
