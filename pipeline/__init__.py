"""The flow: intake, page stage, classification, orchestration, settings and the CLI.

Entry points (the CLI, later the API and Celery tasks) build a Settings and a Runtime and call
into here; ``ocr``, ``storage`` and ``search`` never import this package.
"""
