"""Data: languages (one TOML file each in ``languages/``), the dataset sources and their
readers (``sources/``), the task registry (``tasks/``: xnli, masakhaner, flores), contamination
checks, and the contributor's language workflow (``bench lang add/check``). Everything a run
reads, nothing that trains. May import `bench.core` only."""
