"""Interleave's instrumented Python runtime: record every concurrency event of a program, cheaply.

`python -m interleave run [options] script.py [args...]` (see cli.py). Standard library only.
"""
__version__ = "0.1.0"
