"""The one training loop: every step goes through a DeepSpeed engine, for every task head.

Linear and sectioned: setup -> resume -> loop (step, log, evaluate, checkpoint) -> finish.
Batches are length-grouped and dynamically padded; each global batch is split across ranks
and the summed loss is divided by the global number of targets, so N ranks give the same
update as one rank with the same global batch. Checkpoints (model, optimizer, scheduler,
data position, RNG states, best scores) are written every `checkpoint_every` steps; starting
again with the same `out_dir` resumes from the last one. Exercise: ``bench run``.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.core.errors import BenchError
from bench.train.batching import length_grouped_batches, rows
from bench.train.kinds.common import shape_stable_attention
from bench.train.rowsparse import RowSparseAdamW, clip_grad_norm_, sparse_embeddings

Evaluate = Callable[[torch.nn.Module], dict[str, float]]  # selection key -> score (higher better)


PRECISIONS = ("fp32", "bf16", "amp-bf16")  # TrainConfig.precision


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one run (the fully resolved values land in the run record)."""

    lr: float = 5e-5
    batch_size: int = 32  # global batch (examples), split across ranks
    epochs: float = 3.0
    max_steps: int | None = None  # caps epochs when set
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 1
    evals: int = 3  # evaluations for checkpoint selection, evenly spaced (the last at the end)
    checkpoint_every: int = 200  # steps
    log_every: int = 20  # steps; the only place the loss is read back from the device
    zero_stage: int = 0
    # fp32 | bf16 (DeepSpeed bf16: bf16 weights, fp32 master copy; the GPU setting)
    # | amp-bf16 (torch.autocast: fp32 weights, bf16 matmuls; for CPUs with AVX-512 BF16)
    precision: str = "fp32"


@dataclass
class TrainResult:
    steps: int
    best: dict[str, float]  # selection key -> best score
    best_step: dict[str, int]
    curve: list[dict[str, float]] = field(default_factory=list)  # step, loss, lr, evals
    wall_s: float = 0.0
    tokens: int = 0  # real (non-padding) tokens seen by this rank
    resumed_from: int | None = None
    row_sparse: list[str] = field(default_factory=list)  # embeddings updated row-sparsely


class TrainingDiverged(BenchError):
    """The loss is NaN or infinite: the run is recorded as failed, not as a score."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass


def _skip_cpu_shm_op() -> None:
    """Keep DeepSpeed's CPU backend from JIT-compiling its shared-memory all-reduce op.

    On the CPU accelerator, DeepSpeed's comm backend compiles a C++ op (`deepspeed_shm_comm`,
    ninja + a compiler, under ~/.cache/torch_extensions) the first time any process starts,
    and again whenever another environment's build replaced it. The op serves only
    `inference_all_reduce` (DeepSpeed inference); training all-reduces go through
    torch.distributed (gloo), which this suite uses. Worse, the build is guarded by torch's
    file baton: a process killed mid-build (a sweep worker SIGKILLed, a CI timeout) leaves
    the lock file behind and every later training on the machine waits on it forever.
    Marking the op incompatible makes DeepSpeed skip it, as it does on platforms without it.
    """
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() != "cpu":
        return
    import deepspeed.ops

    builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
    if builder is not None:
        deepspeed.ops.__compatible_ops__[builder.NAME] = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed() -> tuple[int, int]:
    """Initialise torch.distributed through DeepSpeed (gloo on CPU); returns (rank, world)."""
    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # say so, rather than have DeepSpeed warn
    import deepspeed

    shape_stable_attention()  # batches of many shapes: no per-shape cuDNN planning on a GPU

    _skip_cpu_shm_op()
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", os.environ["RANK"])
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if "MASTER_PORT" not in os.environ:  # one rank: any free port (two jobs on a node may
        os.environ["MASTER_PORT"] = str(_free_port())  # start at once: no fixed guess)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    deepspeed.init_distributed(dist_backend=backend, verbose=False)
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


def deepspeed_config(cfg: TrainConfig, world: int, clip: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": max(1, cfg.batch_size // world),
        "gradient_accumulation_steps": 1,
        "gradient_clipping": cfg.grad_clip if clip else 0.0,
        "zero_optimization": {"stage": cfg.zero_stage},
        "bf16": {"enabled": cfg.precision == "bf16"},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if cfg.precision == "amp-bf16" and torch.cuda.is_available():
        # The engine's forward switches off a CUDA autocast opened around it (DeepSpeed 0.19:
        # it warns once, then runs fp32), so on a GPU the autocast goes through its own section.
        # A CPU autocast it does not see: there the loop's own context does the work.
        config["torch_autocast"] = {"enabled": True, "dtype": "bfloat16"}
    return config


def _lr_lambda(total: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _batches(lengths: Sequence[int], cfg: TrainConfig, epoch: int) -> list[list[int]]:
    return length_grouped_batches(lengths, cfg.batch_size, seed=cfg.seed * 1000 + epoch)


def train(
    model: torch.nn.Module,
    train_set: Any,
    collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    cfg: TrainConfig,
    out_dir: Path,
    evaluate: Evaluate | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    row_sparse: bool = True,
) -> TrainResult:
    """Train `model` (whose forward(batch) returns (summed loss, number of targets)).

    Args:
        model: Module returning ``(loss_sum, n_targets)`` for a collated batch.
        train_set: Indexable examples with ``length`` and ``n_targets`` fields.
        collate: Turns a list of examples into a padded batch (padding to the batch's longest).
        cfg: Optimisation settings.
        out_dir: Checkpoints and best weights live here; a rerun resumes from it.
        evaluate: Selection scores for the model now; the best weights per key are kept.
        progress: Called as (step, total_steps, loss) at logging intervals.
        row_sparse: Update large word embeddings row-sparsely (bench/train/rowsparse.py: the same
            AdamW step, paid only for rows the run uses) where the engine allows it: one rank,
            no ZeRO, fp32 weights. False: dense, as `transformers.Trainer` does.

    Long on purpose: the one training loop reads top to bottom (setup, resume, loop, finish,
    marked by ``# ---``), as nanochat's does; its pieces that stand alone are helpers.
    """
    # --- setup -------------------------------------------------------------------------
    if cfg.precision not in PRECISIONS:
        raise BenchError(f"unknown precision '{cfg.precision}'", hint="use fp32, bf16 or amp-bf16")
    amp = cfg.precision == "amp-bf16"
    rank, world = init_distributed()
    out_dir.mkdir(parents=True, exist_ok=True)
    lengths = list(train_set["length"])
    n_targets = list(train_set["n_targets"])
    examples = rows(train_set)  # once: indexing an Arrow dataset row by row costs ~0.1 ms a row
    per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    total = cfg.max_steps or math.ceil(per_epoch * cfg.epochs)
    total = min(total, math.ceil(per_epoch * cfg.epochs)) if cfg.max_steps else total
    eval_at = {round(total * (i + 1) / max(1, cfg.evals)) for i in range(cfg.evals)}
    # Sparse row gradients bypass DeepSpeed's gradient reduction and clipping: one rank, no
    # ZeRO, fp32 weights only; the loop clips them itself.
    row_sparse = row_sparse and world == 1 and cfg.zero_stage == 0 and cfg.precision != "bf16"
    params = [p for p in model.parameters() if p.requires_grad]
    engine, optimizer, scheduler = _engine(model, cfg, total, world, row_sparse)
    result = TrainResult(steps=0, best={}, best_step={})

    # --- resume --------------------------------------------------------------------------
    if (out_dir / "train_result.json").is_file():  # finished before (e.g. killed while testing)
        model.load_state_dict(torch.load(out_dir / "last.pt", weights_only=True))
        return TrainResult(**json.loads((out_dir / "train_result.json").read_text()))
    ckpt_dir = out_dir / "checkpoint"
    if (ckpt_dir / "latest").is_file():
        _, state = engine.load_checkpoint(str(ckpt_dir))
        result = TrainResult(**state["result"])
        result.resumed_from = state["result"]["steps"]
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])

    # --- loop ----------------------------------------------------------------------------
    # Optional hooks of a module with an auxiliary objective (methods/adversarial.py):
    # begin(total_steps) once, after resuming; log_metrics() -> dict at logging intervals.
    inner = _module(engine)
    switched = sparse_embeddings(model) if row_sparse else []
    hooks = [optimizer.track(module) for module in switched]
    names = {id(m): n for n, m in model.named_modules()}
    result.row_sparse = [names[id(m)] for m in switched]
    materialize = getattr(optimizer, "materialize", lambda: None)
    if hasattr(inner, "begin"):
        inner.begin(total)
    start = time.perf_counter() - result.wall_s
    step = logged = result.steps
    running = torch.zeros((), dtype=torch.float32, device=engine.device)
    engine.train()
    while step < total:
        epoch, offset = divmod(step, per_epoch)
        for batch_ids in _batches(lengths, cfg, epoch)[offset:]:
            global_n = sum(n_targets[i] for i in batch_ids)
            mine = batch_ids[rank::world]
            batch = _to_device(collate([examples[i] for i in mine]), engine.device)
            with torch.autocast(engine.device.type, dtype=torch.bfloat16, enabled=amp):
                loss_sum, _ = engine(batch)
            loss = loss_sum * world / max(1, global_n)
            engine.backward(loss)
            if row_sparse and cfg.grad_clip > 0:
                clip_grad_norm_(params, cfg.grad_clip)
            engine.step()
            step += 1
            running += loss.detach().float() / world
            result.tokens += sum(lengths[i] for i in mine)
            if step % cfg.log_every == 0 or step == total:
                loss_now = _log(result, running, step, logged, world, scheduler, inner)
                if progress:
                    progress(step, total, loss_now)
                running.zero_()
                logged = step
            if evaluate is not None and step in eval_at:
                materialize()  # the weights as dense AdamW would hold them
                _select(engine, evaluate, result, step, out_dir if rank == 0 else None)
            if step % cfg.checkpoint_every == 0 and step < total:
                materialize()
                result.steps, result.wall_s = step, time.perf_counter() - start
                _checkpoint(engine, ckpt_dir, result)
            if step >= total:
                break

    # --- finish --------------------------------------------------------------------------
    materialize()
    for module, hook in zip(switched, hooks, strict=True):
        module.sparse = False  # the model leaves as it came
        hook.remove()
    result.steps, result.wall_s = step, time.perf_counter() - start
    # Rank 0 writes the weights (the ranks share the folder and hold the same weights); the
    # others wait for it, so none reads or removes the folder while it writes.
    if rank == 0:
        torch.save(_module(engine).state_dict(), out_dir / "last.pt")
        (out_dir / "train_result.json").write_text(json.dumps(asdict(result), indent=1))
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    if world > 1:
        torch.distributed.barrier()
    return result


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """AdamW's groups: weight decay off for biases and norms; a parameter a method marks with an
    ``lr_scale`` attribute (e.g. a new discriminator head) learns at ``lr x lr_scale`` in groups of
    its own, after the two plain ones (so runs without such marks keep their optimizer layout)."""
    groups: dict[tuple[bool, float], list[torch.nn.Parameter]] = {(True, 1.0): [], (False, 1.0): []}
    for name, p in model.named_parameters():
        if p.requires_grad:
            decays = p.ndim > 1 and "norm" not in name.lower()
            groups.setdefault((decays, float(getattr(p, "lr_scale", 1.0))), []).append(p)
    return [
        {"params": params, "weight_decay": cfg.weight_decay if decays else 0.0}
        | ({"lr": cfg.lr * scale} if scale != 1.0 else {})
        for (decays, scale), params in groups.items()
        if params or scale == 1.0
    ]


def _engine(
    model: torch.nn.Module, cfg: TrainConfig, total: int, world: int, row_sparse: bool
) -> tuple[Any, Any, Any]:
    """The DeepSpeed engine around `model`, with AdamW (row-sparse where allowed; groups from
    `param_groups`) and the linear warm-up/decay schedule."""
    import deepspeed

    # DeepSpeed's ZeRO accepts only the optimizer classes it knows: plain AdamW there.
    optimizer = (RowSparseAdamW if row_sparse else torch.optim.AdamW)(
        param_groups(model, cfg),
        lr=cfg.lr,
        fused=True,  # one kernel for all parameters (CPU and GPU); what Trainer uses by default
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(total, int(cfg.warmup_ratio * total))
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        optimizer=optimizer,
        lr_scheduler=scheduler,
        config=deepspeed_config(cfg, world, clip=not row_sparse),
        dist_init_required=False,
    )
    if world == 1 and cfg.zero_stage == 0:
        # One rank has nothing to reduce, but DeepSpeed would still flatten, all-reduce and copy
        # back every gradient each step (~5% of a small model's step on CPU).
        engine.enable_backward_allreduce = False
    return engine, optimizer, scheduler


def _log(
    result: TrainResult,
    running: torch.Tensor,
    step: int,
    logged: int,
    world: int,
    scheduler: Any,
    inner: Any,
) -> float:
    """The mean loss since the last log (all ranks'), on the curve; a NaN stops the run."""
    if world > 1:  # each rank holds its share of the global batch's loss
        torch.distributed.all_reduce(running)
    loss_now = float(running) / (step - logged)  # the one host sync per interval
    if not math.isfinite(loss_now):
        raise TrainingDiverged(
            f"the training loss became {loss_now} by step {step}",
            hint="lower the learning rate (--set lr=...) or check the data",
        )
    point = {"step": step, "loss": round(loss_now, 5), "lr": scheduler.get_last_lr()[0]}
    if hasattr(inner, "log_metrics"):
        point.update(inner.log_metrics())
    result.curve.append(point)
    return loss_now


def _module(engine: Any) -> torch.nn.Module:
    return engine.module if hasattr(engine, "module") else engine


def _to_device(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _select(
    engine: Any, evaluate: Evaluate, result: TrainResult, step: int, out_dir: Path | None
) -> None:
    """Evaluate; a new best is saved to ``out_dir`` (None: a rank > 0, which only keeps score)."""
    module = _module(engine)
    module.eval()
    with torch.no_grad():
        scores = evaluate(module)
    module.train()
    result.curve.append({"step": step, **{f"eval/{k}": v for k, v in scores.items()}})
    for key, score in scores.items():
        if key not in result.best or score > result.best[key]:
            result.best[key], result.best_step[key] = score, step
            if out_dir is not None:
                torch.save(module.state_dict(), out_dir / f"best-{key}.pt")


def _checkpoint(engine: Any, ckpt_dir: Path, result: TrainResult) -> None:
    state = {
        "result": asdict(result),
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
    }
    tag = f"step{result.steps}"
    engine.save_checkpoint(str(ckpt_dir), tag=tag, client_state=state)  # collective
    for old in ckpt_dir.glob("step*") if engine.global_rank == 0 else []:
        if old.name != tag:
            shutil.rmtree(old, ignore_errors=True)
