"""Test harnesses: the in-process stack, recording mocks, event builders, token forgers."""
