"""The hub path, run for real through `datasets.load_dataset` on hub-layout repositories.

The hub is unreachable here, so each test writes a small dataset repository in the hub's own
layout (parquet files + a README declaring the configs, ClassLabel features kept in the
parquet metadata) and hands its folder to the source's hub reader as the repo id: everything
but the network runs, including the label-name mapping and the column normalisation.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from bench.core.errors import BenchError
from bench.data.source import SOURCES, load


def _repo(root: Path, configs: dict[str, dict[str, Dataset]]) -> str:
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, ds in splits.items():
            rel = f"{config}/{split}.parquet"
            (root / config).mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(root / rel))
            lines += [f"  - split: {split}", f"    path: {rel}"]
    (root / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")
    return str(root)


NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]


def _ner() -> Dataset:
    features = Features(
        {"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NER_NAMES))}
    )
    return Dataset.from_dict(
        {
            "tokens": [["Kano", "ranar", "Litinin"], ["Aisha", "Buhari"]],
            "ner_tags": [[5, 0, 7], [1, 2]],
        },
        features=features,
    )


def test_masakhaner_hub_reader_maps_label_ids_to_names(tmp_path):
    repo = _repo(tmp_path, {"hau": {"test": _ner()}})
    source = SOURCES.get("masakhaner2")
    cols = source.read_hub(repo, "main", ("hau",), "test")
    assert cols == {
        "tokens": [["Kano", "ranar", "Litinin"], ["Aisha", "Buhari"]],
        "tags": [["B-LOC", "O", "B-DATE"], ["B-PER", "I-PER"]],
    }
    # The transfer corpus is rebuilt online from the same data with DATE dropped.
    transfer = SOURCES.get("masakhaner2_transfer").read_hub(repo, "main", ("hau",), "test")
    assert transfer["tags"] == [["B-LOC", "O", "O"], ["B-PER", "I-PER"]]


def test_xnli_hub_reader(tmp_path):
    features = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    ds = Dataset.from_dict(
        {"premise": ["a", "b"], "hypothesis": ["c", "d"], "label": [2, 0]}, features=features
    )
    repo = _repo(tmp_path, {"hau": {"test": ds}})
    cols = SOURCES.get("afrixnli").read_hub(repo, "main", ("hau",), "test")
    assert cols["label"] == ["contradiction", "entailment"]
    assert cols["premise"] == ["a", "b"]


def test_flores_plus_reader_aligns_by_id(tmp_path):
    eng = Dataset.from_dict({"id": [2, 1, 3], "text": ["two", "one", "three"]})
    hau = Dataset.from_dict({"id": [1, 2, 3], "text": ["daya", "biyu", "uku"]})
    repo = _repo(tmp_path, {"eng_Latn": {"devtest": eng}, "hau_Latn": {"devtest": hau}})
    cols = SOURCES.get("flores200").read_hub(repo, "main", ("eng_Latn", "hau_Latn"), "test")
    assert cols == {"src": ["one", "two", "three"], "tgt": ["daya", "biyu", "uku"]}


def test_mafand_hub_reader(tmp_path):
    ds = Dataset.from_dict({"translation": [{"en": "Hello", "hau": "Sannu"}]})
    repo = _repo(tmp_path, {"en-hau": {"train": ds}})
    cols = SOURCES.get("mafand").read_hub(repo, "main", ("en", "hau"), "train")
    assert cols == {"src": ["Hello"], "tgt": ["Sannu"]}


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)
    with pytest.raises(BenchError) as err:
        load(SOURCES.get("masakhaner2"), ("hau",), "test", root=None)
    assert "could not load masakhane/masakhaner2 (hau, test) from the hub" in err.value.message
    assert "--data-root" in err.value.hint


def test_hub_only_and_local_only_sources_say_so(data_root):
    with pytest.raises(BenchError, match="AfriXNLI is only available from the hub"):
        load(SOURCES.get("afrixnli"), ("hau",), "test", data_root)
    with pytest.raises(BenchError, match="has no hub copy"):
        load(SOURCES.get("xnli_mt"), ("ha",), "test", None)


# --- an unreachable hub fails at once -------------------------------------------------------


@pytest.fixture
def silent_hub():
    """A hub address that accepts connections and never answers (a black hole)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def answering_hub():
    """A hub address that answers every request (what the probe sees online)."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def bench(endpoint: str, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """The console command with no data root and the hub at `endpoint` (environment only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "BENCH_"))}
    env |= {"HF_ENDPOINT": endpoint, "BENCH_CACHE": str(tmp_path / "c"), "HF_HOME": str(tmp_path)}
    env["BENCH_RESULTS"] = str(tmp_path / "r")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args], env=env, capture_output=True, text=True, timeout=90
    )
    return proc, time.monotonic() - started


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("run", "--tasks", "xnli", "--langs", "sw", "--seeds", "1", "--backbone", "tiny_xlmr",
          "--dry-run"), "facebook/xnli (en, train)"),
        (("lang", "check", "ig"), "the datasets ibo.toml names"),
        (("data", "masakhaner", "--langs", "ha"), "masakhane/masakhaner2"),
    ],
    ids=["run", "lang-check", "data"],
)  # fmt: skip
def test_a_silent_hub_is_one_error_in_seconds(silent_hub, tmp_path, args, what):
    proc, seconds = bench(silent_hub, tmp_path, *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert seconds < 10, f"{seconds:.1f} s before the error"
    assert f"error: cannot load {what}" in proc.stderr and silent_hub in proc.stderr
    assert "hint: offline? pass --data-root DIR" in proc.stderr
    assert "Retrying" not in proc.stderr and "Traceback" not in proc.stderr


def test_an_answering_hub_is_used_as_before(answering_hub, tmp_path):
    probe = "from bench.core import hub; from bench.train import backbone; print(hub.reachable(), backbone.resolve_backbone(None))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "HF_ENDPOINT": answering_hub},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("True") and "xlmr_base" in out and "the hub is reachable" in out


def test_a_silent_hub_gives_the_offline_default(silent_hub):
    """Offline, the default is the real pretrained encoder (me5_small), not a tiny stand-in."""
    probe = "from bench.core import hub; from bench.train import backbone; b, why = backbone.resolve_backbone(None); "
    probe += "print(hub.reachable(), b.name, b.package['upstream'], why)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "HF_ENDPOINT": silent_hub},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[:3] == ["False", "me5_small", "intfloat/multilingual-e5-small"]
    assert "unreachable" in " ".join(out[3:])
