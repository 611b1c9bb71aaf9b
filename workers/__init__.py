"""Celery workers: the same page and document stages as the local executor, over Redis."""
