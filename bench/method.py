"""The method plug-in API at its original import path: ``from bench.method import Method,
Context`` keeps working for plug-ins written against it (see methods/README.md). The API lives
in `bench.train.method`."""

from bench.train.method import (  # noqa: F401
    BASELINE,
    FULL,
    GROUP,
    Composition,
    Context,
    Method,
    parse_method,
    registry,
)
