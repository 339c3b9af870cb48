"""Batches and files: what the gateway's Batch API and the batch workers share."""
