"""The web application and REST API (FastAPI): `sohoa serve`."""
