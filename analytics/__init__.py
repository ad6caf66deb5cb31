"""The Spark report run on EMR Serverless and, unchanged, on the local cloud."""
