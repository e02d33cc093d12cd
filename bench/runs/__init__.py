"""Runs: a request resolved once into a plan (`bench.runs.request`), its trainings (groups),
executing one (`bench.runs.runner`: adapt, encode, train, select, test, record), run records
and their ids, and sweeps: grids as DAGs of jobs, locks, executors (local processes, Slurm)
and their measured cost. May import `bench.train`, `bench.data` and `bench.core`."""
