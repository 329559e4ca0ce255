"""Harnesses for tests and benchmarks (scripted rounds and fresh funded accounts on a devnet); nothing in production
imports them."""
