"""Executors run task workloads they are given and report when their processes end."""
