"""Record the reference PDQ hashes of the hash corpus, for `tests/unit/test_pdq.py`.

The reference is Meta's C++ PDQ behind the `pdqhash` bindings, which PyPI ships only as
source: build it in a throwaway virtualenv (it needs a C++ compiler), never in the
project's, and run this script with that interpreter from the repository root:

    python3 -m venv /tmp/pdqref && /tmp/pdqref/bin/pip install pdqhash numpy pillow \\
        matplotlib==<the pin in requirements.txt>
    /tmp/pdqref/bin/python -m scripts.pdq_reference > tests/unit/pdq_reference.json

The picture is scaled to fit 512x512 first, as the reference's file hasher does (the
bindings hash whatever array they are given).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from common import pdq  # noqa: E402
from local.tools import hash_corpus  # noqa: E402


def _hex(bits: np.ndarray) -> str:
    # The bindings' vector is the 256-bit number, most significant bit first.
    return f"{int(''.join(str(int(b)) for b in bits), 2):064x}"


def main() -> None:
    import pdqhash  # type: ignore[import-not-found]

    out = {}
    for name, img in hash_corpus.corpus():
        rgb = img.convert("RGB")
        if max(rgb.size) > pdq.MAX_SIDE:
            rgb = rgb.copy()
            rgb.thumbnail((pdq.MAX_SIDE, pdq.MAX_SIDE))
        arr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
        bits, quality = pdqhash.compute(arr)
        variants, _ = pdqhash.compute_dihedral(arr)
        out[name] = {
            "size": list(img.size),
            "pdq": _hex(bits),
            "quality": int(quality),
            "dihedral": [_hex(v) for v in variants],
        }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
