"""Storage: the object store (local folder; S3/MinIO later) and the records catalogue
(SQLAlchemy: SQLite by default). Knows nothing of ``pipeline``, ``ocr`` or ``search``."""

from storage.errors import ObjectMissing, StorageError, StorageUnavailable

__all__ = ["ObjectMissing", "StorageError", "StorageUnavailable"]
