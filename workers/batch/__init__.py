"""Batch execution on the batch workers: validate, run each request once, write the results."""
