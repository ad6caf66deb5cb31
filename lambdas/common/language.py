"""The language of text read from an image, for a statement's `content_language`.

py3langid (BSD-3-Clause; docs/models.md) ships its model (`data/model.npz.xz`, 4.6 MB)
inside its wheel: nothing is downloaded at run time. The model loads once per execution
environment, on the first text to identify (about 2.5 s on one core), so a function that
never sees text never pays for it.
"""

from __future__ import annotations

import functools
from typing import Any

from common.dsa_rules import LANGUAGES

# Below this the answer is a guess: no language is claimed (the field is optional).
MIN_CONFIDENCE = 0.8
# Too few letters to tell a language from (OCR of a logo, a number, a URL).
MIN_LETTERS = 12


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str | None) -> str | None:
    """The ISO 639-1 code (upper case, as the Transparency Database takes it) of `text`'s
    language, or None when there is too little text or the model is unsure."""
    if not text or sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    code = str(code).upper()
    if confidence < MIN_CONFIDENCE or code not in LANGUAGES:
        return None
    return code
