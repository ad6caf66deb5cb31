"""The dashboard's data layer: plain functions that take boto3 clients and return DataFrames.

Nothing here imports Streamlit, so tests, benchmarks and other scripts (for example
the cost model from `bench/`) use it directly. Pages only draw what these return.
"""
