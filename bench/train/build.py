"""Where a backbone's weights come from: the hub (a pinned revision), a local folder, the
installed packages it is converted from (`bench.train.packaged`: me5_small), or the suite's own
pre-training (`bench.train.pretrain`: the tiny backbones). `backbone_id` names the weights in a
run id before they exist; `materialize` returns the folder ``from_pretrained`` loads.
Exercise: ``bench backbone build me5_small``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core import hub
from bench.core.errors import BenchError
from bench.train import packaged, pretrain
from bench.train.backbone import DEFAULT_OFFLINE, Backbone


def backbone_id(backbone: Backbone, root: Path | None) -> str:
    """What identifies the weights in a run id, known before building or downloading them."""
    if backbone.path is not None:
        return str(backbone.path)
    if backbone.package:
        return f"{backbone.name}-{packaged.build_key(dict(backbone.package))[0]}"
    if backbone.offline:
        return f"{backbone.name}-{pretrain.cached_build_key(backbone, root)}"
    return f"{backbone.hub_id}@{backbone.revision}"


def materialize(
    backbone: Backbone, root: Path | None, cache_dir: Path
) -> tuple[Path, dict[str, Any]]:
    """A local folder holding the backbone's tokenizer and weights, plus its provenance."""
    if backbone.path is not None:
        return backbone.path, {"source": "local", "path": str(backbone.path)}
    if backbone.package:
        return packaged.build(backbone.name, dict(backbone.package), cache_dir)
    if backbone.offline:
        return pretrain.build(backbone, root, cache_dir)
    from huggingface_hub import snapshot_download

    hub.require(f"the model {backbone.hub_id}")
    try:
        folder = snapshot_download(backbone.hub_id, revision=backbone.revision)
    except Exception as err:
        raise BenchError(
            f"could not download {backbone.hub_id} from the hub ({type(err).__name__})",
            hint=f"offline? use --backbone {DEFAULT_OFFLINE}, or a local folder with the model",
        ) from None
    commit = Path(folder).name  # snapshot folders are named by commit
    return Path(folder), {
        "source": "hub",
        "hub_id": backbone.hub_id,
        "revision": backbone.revision,
        "commit": commit,
    }
