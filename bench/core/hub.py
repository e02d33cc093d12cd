"""The Hugging Face hub, asked once per process whether it answers.

Offline, `datasets` and `huggingface_hub` retry every request for tens of seconds before they
give up (five retries per dataset, ~25 s each), so a user without network waited minutes for
an error. Every hub path of the suite (datasets, their revisions, hub backbones, COMET
checkpoints, `bench lang add` without a data root) asks `reachable` first: one short probe of
the endpoint ``huggingface_hub`` uses (``HF_ENDPOINT``), remembered for the process; when it
does not answer, the hub path fails at once with `require`'s error. Online nothing changes.
Exercise: ``HF_ENDPOINT=http://127.0.0.1:9 bench data xnli --langs sw``.
"""

from __future__ import annotations

import os
from functools import cache

from bench.core.errors import BenchError

PROBE_TIMEOUT_S = 3.0
OFFLINE_HINT = "offline? pass --data-root DIR (or set BENCH_DATA_ROOT) to a local mirror"


def endpoint() -> str:
    """The hub's address, as ``huggingface_hub`` resolves it (``HF_ENDPOINT`` or the default)."""
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def _offline_env() -> str | None:
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(name, "0").strip().lower() not in ("0", "", "false", "no"):
            return name
    return None


@cache
def _probe() -> str | None:
    """None when the hub answers; else why not (one probe per process, `PROBE_TIMEOUT_S`)."""
    import urllib.error
    import urllib.request

    url = f"{endpoint()}/api/models?limit=1"
    try:
        urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return None  # it answered (an error status is still an answer)
    except Exception as err:  # DNS, refused, timeout, TLS: no hub from here
        reason = getattr(err, "reason", err)
        return f"{endpoint()} is unreachable ({reason}; probed for up to {PROBE_TIMEOUT_S:.0f} s)"
    return None


def reachable() -> bool:
    """Whether the hub can be used for new downloads (False under HF_HUB_OFFLINE too)."""
    return _offline_env() is None and _probe() is None


def require(what: str) -> None:
    """Raise the suite's offline error for `what` (e.g. "facebook/xnli (en, train)") at once
    when the hub does not answer. Under ``HF_HUB_OFFLINE`` nothing is probed: the libraries
    then read their local caches and fail fast by themselves."""
    if _offline_env() is not None:
        return
    why = _probe()
    if why is not None:
        raise BenchError(
            f"cannot load {what} from the Hugging Face hub: {why}",
            hint=f"{OFFLINE_HINT}; already in your Hugging Face cache? set HF_HUB_OFFLINE=1",
        )
