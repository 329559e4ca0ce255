"""Harnesses for tests and benchmarks (scripted rounds on a devnet); nothing in production imports them."""
