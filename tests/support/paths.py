"""Where the repository's files are, for tests that read them (specs, scripts, the app)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
