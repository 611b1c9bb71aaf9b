"""Celery workers (distributed executor): planned, see issue 8. Nothing here runs yet."""
