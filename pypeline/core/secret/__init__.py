"""Secret values marked as such, and the registry that cuts them out of every text the run emits.

* :mod:`.marked`: :class:`SecretStr` (a ``str`` whose ``repr`` is ``***``),
  :class:`SecretSource`, :func:`is_secret`, :func:`mask` and the
  :class:`SecretRegistry` of the values a run resolved;
* :mod:`.forms`: every form a secret can take in text (escaped, encoded,
  truncated) and the one matcher that finds them.

It lives in ``core``, below every layer that carries values, and imports
nothing else of ours.
"""

from __future__ import annotations

from pypeline.core.secret.marked import MASK, SecretRegistry, SecretSource, SecretStr, is_secret, mask

__all__ = ["MASK", "SecretRegistry", "SecretSource", "SecretStr", "is_secret", "mask"]
