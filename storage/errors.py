"""Errors raised by the storage layer; the pipeline maps them to its own."""


class StorageError(Exception):
    retryable = False


class StorageUnavailable(StorageError):
    """The store or database cannot be reached or written; retrying later may help."""

    retryable = True


class ObjectMissing(StorageError, KeyError):
    """No object under that key."""

    def __str__(self) -> str:  # KeyError quotes its argument; say it plainly
        return str(self.args[0]) if self.args else "object missing"


class StorageAuthError(StorageError):
    """The store refused the credentials (a wrong key or secret, or a key without access to
    the bucket); retrying will not help until the configuration is fixed."""
