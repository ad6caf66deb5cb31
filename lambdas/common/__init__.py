"""Behaviour shared by the Lambda handlers: plain functions that take their clients."""
