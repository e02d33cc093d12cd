"""Training: backbones (specs in ``baselines/``, the offline builds: converted ``me5_small``,
pre-trained tiny ones), the task kinds' heads, encoders and metrics (``kinds/``), the one
DeepSpeed training loop, row-sparse embedding updates, vocabulary compaction, and the method
plug-in API (`bench.train.method`: hooks, compositions) with the adaptation-stage helpers the
plug-ins share. May import `bench.data` and `bench.core`."""
