"""Benchmarks: each script prints a JSON summary; `make bench` runs the quick versions."""

import os
import sys

# Benchmarks read job records with the handlers' own job store (`lambdas/common`).
_LAMBDAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.append(_LAMBDAS)
