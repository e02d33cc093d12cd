"""Core: what every stage uses and nothing else: user errors (`BenchError`), the `Registry`,
where the cache and results live, progress bars, text tables, the hub's reachability and the
upstream file-format readers. May import nothing from the rest of `bench`."""
