"""Tools that drive a running local cloud: load, chaos, fixtures, the Spark report."""
