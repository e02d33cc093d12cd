"""The DeepSpeed loop: determinism per seed, different seeds differ, resume after an
interruption, and two CPU ranks (gloo) equal one rank with the same global batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from transformers import AutoTokenizer

from bench.data.task import get_task
from bench.train.batching import length_grouped_batches, padding_efficiency
from bench.train.kinds import KINDS
from bench.train.trainer import TrainConfig, init_distributed, seed_everything, train
from tests.conftest import DATA_ROOT, make_tiny_backbone

LABELS = ["entailment", "neutral", "contradiction"]


def _setup(folder, n=64):
    kind = KINDS["sequence-pair-classification"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = get_task("xnli").load("en", "train", root=DATA_ROOT).dataset.select(range(n))
    return kind, tokenizer, kind.encode(rows, tokenizer, 64, LABELS)


def _run(folder, out, seed=1, cfg_extra=None, progress=None):
    kind, tokenizer, data = _setup(folder)
    seed_everything(seed)
    module = kind.build(folder, LABELS, tokenizer)
    cfg = TrainConfig(
        lr=1e-3, batch_size=8, epochs=2, seed=seed, evals=0, log_every=1, **(cfg_extra or {})
    )
    result = train(module, data, kind.collate(tokenizer), cfg, out, progress=progress)
    return result, module.state_dict()


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_run_and_different_seeds_differ(tiny_backbone, tmp_path):
    r1, w1 = _run(tiny_backbone, tmp_path / "a", seed=1)
    r2, w2 = _run(tiny_backbone, tmp_path / "b", seed=1)
    r3, w3 = _run(tiny_backbone, tmp_path / "c", seed=2)
    assert _same(w1, w2) and [p["loss"] for p in r1.curve] == [p["loss"] for p in r2.curve]
    assert not _same(w1, w3)  # head init, data order and dropout all follow the seed
    assert [p["loss"] for p in r1.curve] != [p["loss"] for p in r3.curve]


@pytest.mark.parametrize("zero_stage", [0, 1])
def test_resume_after_interruption_equals_uninterrupted(tiny_backbone, tmp_path, zero_stage):
    extra = {"checkpoint_every": 4, "zero_stage": zero_stage}
    full, w_full = _run(tiny_backbone, tmp_path / "full", cfg_extra=extra)

    def crash(step, total, loss):
        if step == 10:
            raise KeyboardInterrupt  # killed after the checkpoint at step 8

    with pytest.raises(KeyboardInterrupt):
        _run(tiny_backbone, tmp_path / "cut", cfg_extra=extra, progress=crash)
    assert (tmp_path / "cut" / "checkpoint" / "latest").is_file()
    resumed, w_resumed = _run(tiny_backbone, tmp_path / "cut", cfg_extra=extra)
    assert resumed.resumed_from == 8
    assert resumed.steps == full.steps == 16
    assert all(torch.allclose(w_full[k], w_resumed[k], atol=1e-6) for k in w_full)
    assert [p["loss"] for p in resumed.curve] == pytest.approx(
        [p["loss"] for p in full.curve], abs=1e-5
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank, world, port, folder, out):
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    _result, weights = _run(folder, out / f"rank{rank}")
    if rank == 0:
        torch.save(weights, out / "weights.pt")


def test_two_ranks_equal_one_rank(tmp_path):
    """gloo data parallel: each rank takes half of every global batch; the loss is divided by
    the global target count, so the update equals the single-rank one (dropout off)."""
    folder = make_tiny_backbone(tmp_path / "backbone", dropout=0.0)
    ctx = mp.get_context("spawn")
    weights = {}
    for world in (1, 2):
        out = tmp_path / f"w{world}"
        out.mkdir()
        port = _free_port()
        procs = [
            ctx.Process(target=_rank, args=(r, world, port, folder, out)) for r in range(world)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=300)
        hung = [r for r, p in enumerate(procs) if p.is_alive()]
        for r in hung:
            procs[r].kill()
        assert not hung, f"world {world}: ranks {hung} still running after 300 s (killed)"
        assert [p.exitcode for p in procs] == [0] * world
        weights[world] = torch.load(out / "weights.pt", weights_only=True)
    assert all(torch.allclose(weights[1][k], weights[2][k], atol=1e-5) for k in weights[1])


def test_length_grouped_batches_pad_little_and_cover_everything():
    lengths = [(i * 37) % 120 + 5 for i in range(2000)]
    batches = length_grouped_batches(lengths, 32, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(2000))
    assert padding_efficiency(lengths, batches) > 0.9
    assert batches != length_grouped_batches(lengths, 32, seed=4)
    naive = [list(range(i, min(i + 32, 2000))) for i in range(0, 2000, 32)]
    assert padding_efficiency(lengths, naive) < 0.7


def test_a_finished_training_is_not_repeated(tiny_backbone, tmp_path):
    first, w1 = _run(tiny_backbone, tmp_path / "run")
    calls = []
    second, w2 = _run(tiny_backbone, tmp_path / "run", progress=lambda *a: calls.append(a))
    assert calls == [] and second.steps == first.steps and second.curve == first.curve
    assert _same(w1, w2)


def test_bf16_autocast_trains_close_to_fp32(tiny_backbone, tmp_path):
    fp32, _ = _run(tiny_backbone, tmp_path / "fp32")
    amp, _ = _run(tiny_backbone, tmp_path / "amp", cfg_extra={"precision": "amp-bf16"})
    losses = [(a["loss"], b["loss"]) for a, b in zip(fp32.curve, amp.curve, strict=True)]
    assert any(a != b for a, b in losses)  # bf16 matmuls really ran
    assert all(abs(a - b) < 0.05 for a, b in losses)


def test_a_stale_extension_lock_does_not_hang_training(tmp_path, monkeypatch):
    """A process killed while DeepSpeed JIT-compiled its CPU shared-memory op left torch's
    build lock behind, and every later training on the machine waited on it forever (a CI
    run timed out on it). The suite does not build that op (training all-reduces go through
    gloo), so a stale lock is harmless and nothing is compiled."""
    from torch.utils.cpp_extension import _get_build_directory

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    build = _get_build_directory("deepspeed_shm_comm", verbose=False)  # where torch builds it
    assert build.startswith(str(tmp_path / "ext")), build
    env = dict(os.environ, WORLD_SIZE="1", RANK="0", MASTER_ADDR="127.0.0.1")
    env["MASTER_PORT"] = str(_free_port())
    Path(build).mkdir(parents=True, exist_ok=True)
    (Path(build) / "lock").touch()  # what the killed build left
    init = "from bench.train.trainer import init_distributed; print(init_distributed())"
    done = subprocess.run(
        [sys.executable, "-c", init], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("(0, 1)")
    assert not list(Path(build).glob("*.so")), "a C++ extension was compiled"


class _AutocastProbe(torch.nn.Module):
    """A task module that notes, at each forward, whether bf16 autocast is on around it."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, batch):
        device = next(self.inner.parameters()).device.type
        dtype = torch.get_autocast_dtype(device)
        self.seen.append(torch.is_autocast_enabled(device) and dtype == torch.bfloat16)
        return self.inner(batch)


def autocast_seen(folder, out, **extra) -> list[bool]:
    """Per training step: was the forward inside the engine under bf16 autocast?"""
    kind, tokenizer, data = _setup(folder, n=16)
    module = _AutocastProbe(kind.build(folder, LABELS, tokenizer))
    cfg = TrainConfig(
        lr=1e-3, batch_size=8, epochs=1, seed=1, evals=0, precision="amp-bf16", **extra
    )
    train(module, data, kind.collate(tokenizer), cfg, out)
    return module.seen


def test_training_keeps_attention_off_cudnn():
    """cuDNN's attention plans every new batch shape (135 vs 22 ms a step on an H200 under bf16,
    bench/train/kinds/common.py): a training process switches it off, on any device."""
    torch.backends.cuda.enable_cudnn_sdp(True)
    init_distributed()
    assert not torch.backends.cuda.cudnn_sdp_enabled()


def test_amp_bf16_autocasts_inside_the_engine(tiny_backbone, tmp_path):
    """`amp-bf16` is bf16 matmuls in the training forward, not just a label in the record:
    DeepSpeed's engine must leave the loop's autocast on (on CUDA it switches an outer one
    off, so there the trainer configures its `torch_autocast`; tests/test_gpu.py checks that)."""
    seen = autocast_seen(tiny_backbone, tmp_path)
    assert len(seen) == 2 and all(seen), seen
