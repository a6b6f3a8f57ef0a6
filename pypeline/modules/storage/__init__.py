"""Data where it lives: local paths and object-store URLs for every file module (docs/storage.md).

* :mod:`~pypeline.modules.storage.locations`: a path or a URL, its scheme, the
  fsspec file system that reaches it (:class:`StoragePath`), and its options;
* :mod:`~pypeline.modules.storage.listing`: a URL expanded to files (object,
  folder, glob), honouring the marker of a folder output;
* :mod:`~pypeline.modules.storage.inputs`: opening inputs, local or remote, with one call;
* :mod:`~pypeline.modules.storage.marker`: the ``_PYPELINE`` marker as an object
  store's commit record (publishing is in ``modules/sdk/remote_outputs.py``);
* :mod:`~pypeline.modules.storage.errors`: one-line errors naming the URL, never a credential.

This package imports nothing of PYpeline but ``core``, so that the SDK, the
built-in modules and the run can all use it.
"""

from pypeline.modules.storage.errors import MissingStorageError, StorageError, storage_error
from pypeline.modules.storage.inputs import open_input, reader_options, size_of
from pypeline.modules.storage.listing import expand_url, folder_files, has_glob, list_folder, modified
from pypeline.modules.storage.locations import (
    STORAGE_OPTIONS_CONFIG,
    StoragePath,
    is_url,
    local_path,
    resolve,
    scheme_of,
)
from pypeline.modules.storage.marker import (
    MARKER,
    MARKER_VERSION,
    pending_ids,
    read_marker,
    with_write_id,
    write_id_of,
)

__all__ = [
    "MARKER",
    "MARKER_VERSION",
    "STORAGE_OPTIONS_CONFIG",
    "MissingStorageError",
    "StorageError",
    "StoragePath",
    "expand_url",
    "folder_files",
    "has_glob",
    "is_url",
    "list_folder",
    "local_path",
    "modified",
    "open_input",
    "pending_ids",
    "read_marker",
    "reader_options",
    "resolve",
    "scheme_of",
    "size_of",
    "storage_error",
    "with_write_id",
    "write_id_of",
]
