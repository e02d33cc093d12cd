"""The suite's method plug-ins, one module each; registered in pyproject.toml under the
entry-point group ``lowres_bench.methods`` (see bench/train/method.py and methods/README.md)."""
