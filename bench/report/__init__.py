"""Reporting: everything that reads run records and registries to print or write tables:
ablation leaderboards (collection, integrity checks, significance, renderers, paper specs),
the README summary blocks, and the listings of `bench langs/tasks/backbone list`. May import
every stage below it (`bench.runs`, `bench.train`, `bench.data`, `bench.core`); nothing imports it
but the command line."""
