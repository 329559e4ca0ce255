"""The application layer: what the command line, the notebook pool, the benchmarks and the tests do with the
layers below -- deploy or attach, check, register, run, verify, report."""
