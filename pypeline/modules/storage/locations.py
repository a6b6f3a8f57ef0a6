"""Where a file module's data lives: a local path or a URL, and the fsspec file system that reaches it.

A module's path config (``file_path``, ``output_path``, ``directory``) is
either a local path (``data/in.csv``, ``/srv/out/``, ``file:///srv/x.csv``)
or a URL whose scheme names an fsspec file system:

========================  =========================  ==============================
scheme                    backend                    extra to install
========================  =========================  ==============================
``s3://`` (``s3a://``)    s3fs                       ``pip install 'pypeline[s3]'``
``gs://`` (``gcs://``)    gcsfs                      ``pip install 'pypeline[gcs]'``
``az://``, ``abfs://``    adlfs                      ``pip install 'pypeline[azure]'``
``http://``, ``https://`` fsspec + aiohttp (read)    ``pip install 'pypeline[http]'``
``memory://``             fsspec (in-process)        nothing
========================  =========================  ==============================

Local paths never go through fsspec: they keep the exact behaviour (and
speed) they had. A URL resolves to a :class:`StoragePath`: the URL's text (so
messages, the manifest and ``{{iter.item}}`` show the URL) that also carries
the file system to read it with. It pickles with that file system, so a lazy
dask read on a worker reaches the same store with the same options.

Options. Credentials come from where each backend looks by default (the
environment, the AWS profile, an instance role, ...), or from a module's
``storage_options`` config, passed to the backend as keyword arguments
(``key``, ``secret``, ``token``, ``anon``, ``endpoint_url``, ``client_kwargs``,
...); a value there may be a ``{{vault...}}`` secret, which stays a marked
secret. For ``s3://`` the endpoint of an S3-compatible store comes from
``storage_options.endpoint_url``, else ``AWS_ENDPOINT_URL_S3``, else
``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pypeline.modules.storage.errors import StorageError, storage_error

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")

EXTRAS = {
    "s3": "s3", "s3a": "s3",
    "gs": "gcs", "gcs": "gcs",
    "az": "azure", "abfs": "azure", "abfss": "azure", "adl": "azure",
    "http": "http", "https": "http",
}
"""Scheme -> the optional extra of PYpeline that installs its fsspec backend."""

KNOWN = (*EXTRAS, "memory")
READ_ONLY = frozenset({"http", "https"})
_SHOWN = "s3://, gs://, az://, abfs://, http(s):// (read), memory:// or a local path"


class StoragePath(str):
    """A URL (its text) together with the file system that reaches it (see the module docstring)."""

    fs: Any
    key: str
    """The path inside ``fs`` (the URL without its scheme)."""

    def __new__(cls, url: str, fs: Any, key: str) -> StoragePath:
        made = super().__new__(cls, url)
        made.fs = fs
        made.key = key
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (StoragePath, (str(self), self.fs, self.key))

    @property
    def scheme(self) -> str:
        return scheme_of(self) or ""

    def child(self, key: str) -> StoragePath:
        """The path ``key`` (a path inside the same file system) as a :class:`StoragePath`."""
        url = key if "://" in key else f"{self.scheme}://{key.lstrip('/')}"  # http keys are whole URLs
        return StoragePath(url, self.fs, key)

    @property
    def options(self) -> dict[str, Any]:
        """The keyword arguments the file system was made with (for readers that open it themselves)."""
        return dict(getattr(self.fs, "storage_options", {}) or {})


def scheme_of(path: str) -> str | None:
    """The lower-case scheme of a URL (``s3``), ``None`` for a local path (``file://`` counts as local)."""
    match = _SCHEME.match(path)
    if match is None:
        return None
    scheme = match.group(1).lower()
    return None if scheme == "file" else scheme


def is_url(path: Any) -> bool:
    """True when ``path`` is a URL that goes through fsspec (not a local path, not ``file://``)."""
    return isinstance(path, str) and scheme_of(path) is not None


def local_path(path: str) -> str:
    """A local path as the OS takes it (``file:///srv/x`` -> ``/srv/x``)."""
    return path[len("file://"):] if path.lower().startswith("file://") else path


def resolve(url: str, options: Mapping[str, Any] | None = None, *, write: bool = False) -> StoragePath:
    """The :class:`StoragePath` for ``url`` with ``options`` (a module's ``storage_options``).

    Raises:
        StorageError: an unknown scheme, a missing extra, a read-only scheme
            written to, or options the backend refuses (one line naming the URL).
    """
    if isinstance(url, StoragePath) and not options:
        return url
    scheme = scheme_of(url)
    if scheme is None:
        raise StorageError(f"'{url}' is a local path, not a URL")
    if scheme not in KNOWN:
        raise StorageError(f"'{url}': unknown storage scheme '{scheme}://' (expected {_SHOWN})")
    if write and scheme in READ_ONLY:
        raise StorageError(f"'{url}': {scheme}:// URLs are read-only; write to s3://, gs://, az:// or a local path")
    kwargs = backend_options(scheme, options)
    try:
        import fsspec

        fs = fsspec.filesystem(_PROTOCOL.get(scheme, scheme), **kwargs)
    except ImportError:
        raise StorageError(missing_extra(url, scheme)) from None
    except Exception as exc:
        raise storage_error(url, exc, "cannot open the store") from None
    key = str(fs._strip_protocol(str(url)))  # the path as the file system spells it (memory: '/bucket/x')
    if url.endswith("/") and not key.endswith("/"):
        key += "/"
    return StoragePath(str(url), fs, key)


_PROTOCOL = {"s3a": "s3", "gcs": "gs", "abfss": "abfs"}


def missing_extra(url: str, scheme: str) -> str:
    """The one-line message for a URL whose backend is not installed."""
    extra = EXTRAS.get(scheme, scheme)
    return f"'{url}': {scheme}:// URLs need the optional extra '{extra}': pip install 'pypeline[{extra}]'"


def backend_options(scheme: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments for the backend of ``scheme``: the module's options, and the endpoint from the environment."""
    kwargs = dict(options or {})
    if scheme not in ("memory", "http", "https"):
        # a listing must show objects other processes wrote since (a sensor polls, a rerun lists again)
        kwargs.setdefault("use_listings_cache", False)
    if scheme in ("s3", "s3a") and "endpoint_url" not in kwargs:
        client = kwargs.get("client_kwargs") or {}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and "endpoint_url" not in client:
            kwargs["endpoint_url"] = endpoint
    return kwargs


STORAGE_OPTIONS_CONFIG: dict[str, Any] = {
    "storage_options": {
        "type": "dict",
        "default": {},
        "description": "For URLs (s3://, gs://, az://, ...): options of the store's fsspec backend "
        "(endpoint_url, key, secret, anon, ...); values may be {{vault...}} secrets (docs/storage.md)",
    },
}
"""The config every file module offers for its URLs (merged into its ``CONFIG_SCHEMA['optional']``)."""


PATH_CONFIGS = ("file_path", "directory", "output_path")
"""The configs of the built-in file modules that name a path or URL."""


def url_problems(configs: Mapping[str, Any]) -> list[str]:
    """Build-time problems with literal URLs in path configs: an unknown scheme, an output to a read-only one.

    A templated value is checked when the run renders it (the module then fails naming the URL).
    """
    problems = []
    for key in PATH_CONFIGS:
        value = configs.get(key)
        if not isinstance(value, str) or "{{" in value or not is_url(value):
            continue
        scheme = scheme_of(value) or ""
        if scheme not in KNOWN:
            problems.append(f"config '{key}': unknown storage scheme '{scheme}://' in '{value}' (expected {_SHOWN})")
        elif key == "output_path" and scheme in READ_ONLY:
            problems.append(f"config '{key}': {scheme}:// URLs are read-only ('{value}'); write to s3://, gs://, "
                            "az:// or a local path")
    return problems
