"""Storage errors: one line naming the URL and what went wrong, never a credential.

Backends raise many kinds of errors (``FileNotFoundError`` for a missing key
*or* a missing bucket, ``PermissionError`` for a refused credential, botocore's
``NoCredentialsError``, ``ClientError`` ...). :func:`storage_error` words them
as the user can act on them. The backend's own text is kept only for errors
that are neither about access nor about credentials (those texts may quote
a key id); the run's secret registry redacts every message as a backstop.
"""

from __future__ import annotations

from pypeline.core.errors import RunError


class StorageError(RunError, ValueError):
    """A URL cannot be read or written (unknown scheme, missing extra, access, missing bucket or key)."""


class MissingStorageError(StorageError, FileNotFoundError):
    """Nothing is at a URL (a missing object, prefix or bucket)."""


_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "InvalidAccessKeyId",
                "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AuthorizationHeaderMalformed")


def storage_error(url: str, exc: BaseException, doing: str = "cannot read") -> StorageError:
    """The one-line error for ``exc`` raised while ``doing`` something at ``url``."""
    name = type(exc).__name__
    text = str(exc)
    if any(word in name or word in text for word in _CREDENTIALS):
        return StorageError(
            f"'{url}': {doing}: the store refused the credentials ({_kind(name, text)}); check the "
            "storage_options of the module or the environment's credentials (docs/storage.md#credentials)"
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text or "403" in text:
        return StorageError(
            f"'{url}': {doing}: access denied; check the credentials and that they may access this "
            "bucket and path (docs/storage.md#credentials)"
        )
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in text or "NoSuchKey" in text:
        if "bucket" in text.lower():
            return MissingStorageError(f"'{url}': the bucket '{bucket_of(url)}' does not exist")
        return MissingStorageError(f"'{url}': no such file or folder")
    if isinstance(exc, StorageError):
        return exc
    return StorageError(f"'{url}': {doing}: {name}: {_first_line(text)}")


def bucket_of(url: str) -> str:
    """The bucket (or container, or host) part of a URL."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _kind(name: str, text: str) -> str:
    for word in _CREDENTIALS:
        if word in name or word in text:
            return word
    return name


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]
