"""Metrics beyond the task kinds' own: sacreBLEU (BLEU, chrF++, spBLEU) and COMET.

spBLEU needs sacreBLEU's FLORES-200 SentencePiece model and COMET a checkpoint: where either
cannot be had (offline), the score is recorded as unavailable with the reason, never faked.
Exercise: ``bench run --tasks flores --langs ha --seeds 1``.
"""

from __future__ import annotations

from typing import Any


def translation_scores(hyps: list[str], refs: list[str]) -> dict[str, Any]:
    """Corpus BLEU, chrF++ and spBLEU with their sacreBLEU signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    out: dict[str, Any] = {}
    for name, metric in (("bleu", BLEU()), ("chrf++", CHRF(word_order=2))):
        result = metric.corpus_score(hyps, [refs])
        out[name] = round(result.score, 4)
        out[f"{name}_signature"] = str(metric.get_signature())
    try:
        spbleu = BLEU(tokenize="flores200")
        out["spbleu"] = round(spbleu.corpus_score(hyps, [refs]).score, 4)
        out["spbleu_signature"] = str(spbleu.get_signature())
    except Exception as err:  # the SentencePiece model is downloaded on first use
        out["spbleu"] = None
        out["spbleu_unavailable"] = (
            f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        )
    return out


COMET_MODELS = {"wmt22": "Unbabel/wmt22-comet-da", "africomet": "masakhane/africomet-stl-1.1"}


def comet_score(
    model: str, sources: list[str], hyps: list[str], refs: list[str], batch_size: int = 16
) -> dict[str, Any]:
    """System COMET with `model` (a name of `COMET_MODELS`, a hub id, or a checkpoint path)."""
    from pathlib import Path

    from comet import download_model, load_from_checkpoint

    from bench.core import hub

    name = COMET_MODELS.get(model, model)
    try:
        if not Path(name).is_file():
            hub.require(f"the COMET model {name}")
        path = name if Path(name).is_file() else download_model(name)
        scorer = load_from_checkpoint(path)
    except Exception as err:
        return {
            "comet": None,
            "comet_model": name,
            "comet_unavailable": f"{type(err).__name__}: {str(err)[:200]}",
        }
    data = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(sources, hyps, refs, strict=True)]
    out = scorer.predict(data, batch_size=batch_size, gpus=0, progress_bar=False)
    return {"comet": round(float(out.system_score), 6), "comet_model": name}


def comet_directions(
    model: str, preds: dict[str, list[str]], dataset: Any, codes: tuple[str, str]
) -> dict[str, Any]:
    """COMET of each direction's hypotheses (``eng-hau``, ``hau-eng``) on a parallel test set."""
    forward = f"{codes[0]}-{codes[1]}"
    return {
        d: comet_score(
            model,
            dataset["src"] if d == forward else dataset["tgt"],
            hyps,
            dataset["tgt"] if d == forward else dataset["src"],
        )
        for d, hyps in preds.items()
    }
