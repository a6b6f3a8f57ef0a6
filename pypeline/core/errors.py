"""The exception hierarchy of PYpeline.

Every error a user can cause is a :class:`PypelineError`. The CLI prints its
:meth:`~PypelineError.format_message` (one clear message, no traceback unless
``--debug``) and exits with its :attr:`~PypelineError.exit_code`::

    PypelineError                      exit 1
    ├── FlowError                      exit 2   the flow YAML does not validate
    │   ├── FlowSyntaxError                      YAML syntax, encoding, size
    │   ├── FlowSchemaError                      JSON Schema violation
    │   ├── ModuleResolutionError                unknown module name / path
    │   ├── ConfigError                          module configs vs CONFIG_SCHEMA
    │   └── PlanError                            connections, categories, cycles
    │       └── CycleError
    ├── JobError                       exit 2   job folder missing, stale or invalid
    ├── RegistryError                  exit 2   ModRegistry.json problems
    ├── RunError                       exit 1   a run failed
    │   ├── ModuleError                          a module raised (module id, attempt)
    │   │   └── RenderedConfigError              a config a template filled in has the wrong type
    │   ├── TemplateError                        unknown template name at run time
    │   ├── ArtifactError
    │   └── CheckpointError
    ├── SecretError                    exit 1   secret missing / forbidden (path only)
    └── BackendError                  exit 1   a backend could not run a module

Constructors take the facts and build the message themselves, so a message
always has the same shape: *where* (file:line or module id), *what* went wrong
and, where we know it, *what was expected*.
"""

from __future__ import annotations

from typing import ClassVar


class PypelineError(Exception):
    """Base class of every error PYpeline reports to a user."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        """The one-paragraph message shown to the user."""
        return self.message

    def __str__(self) -> str:
        return self.format_message()


class FlowError(PypelineError):
    """The flow YAML does not validate. Carries the file and line when known.

    ``chain`` names, innermost first, the includes that brought the file in
    (``include 'east' at flow.yaml:9``) when the problem is in an included flow.
    """

    exit_code: ClassVar[int] = 2

    def __init__(
        self,
        what: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        pointer: str | None = None,
        expected: str | None = None,
        chain: tuple[str, ...] = (),
    ) -> None:
        self.what = what
        self.path = path
        self.line = line
        self.column = column
        self.pointer = pointer
        self.expected = expected
        self.chain = chain
        super().__init__(self._build())

    def included(self, step: str) -> FlowError:
        """The same error, seen through one more include (``step``: ``include 'east' at flow.yaml:9``)."""
        return type(self)(
            self.what, path=self.path, line=self.line, column=self.column, pointer=self.pointer,
            expected=self.expected, chain=(*self.chain, step),
        )

    def _build(self) -> str:
        where = self.path or "<flow>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [f"{where}: "]
        if self.pointer:
            parts.append(f"at {self.pointer}: ")
        parts.append(self.what)
        if self.expected:
            parts.append(f" (expected {self.expected})")
        if self.chain:
            parts.append(" [in " + ", in ".join(self.chain) + "]")
        return "".join(parts)


class FlowSyntaxError(FlowError):
    """YAML that cannot be parsed (syntax, encoding, size, aliases, nesting)."""


class FlowSchemaError(FlowError):
    """A JSON Schema violation of ``flow.schema.json``."""


class ModuleResolutionError(FlowError):
    """A module name that is neither registered nor importable."""


class ConfigError(FlowError):
    """A module's configs do not match its CONFIG_SCHEMA."""


class PlanError(FlowError):
    """Connections, categories, valves or sub flows break a rule."""


class CycleError(PlanError):
    """The data graph or the control graph has a cycle."""


class JobError(PypelineError):
    """A job folder that is missing, stale or invalid."""

    exit_code: ClassVar[int] = 2


class RegistryError(PypelineError):
    """The module registry file cannot be read or written."""

    exit_code: ClassVar[int] = 2


class RunError(PypelineError):
    """A run failed."""


class ModuleError(RunError):
    """A module failed while running.

    Args:
        module_id: the node id (``module#index`` inside iterations).
        cause: what went wrong, already free of secret values.
        attempt: the attempt number (1-based) that failed.
        backend: where the module ran.
        error_type: the kind of error the last attempt raised (``FileNotFoundError``, ``TimeoutError``, ...).
    """

    def __init__(
        self, module_id: str, cause: str, *, attempt: int = 1, backend: str = "local", error_type: str = ""
    ) -> None:
        self.module_id = module_id
        self.cause = cause
        self.attempt = attempt
        self.backend = backend
        self.error_type = error_type or type(self).__name__
        super().__init__(f"module '{module_id}' failed (attempt {attempt}, backend {backend}): {cause}")


class RenderedConfigError(ModuleError):
    """A config whose templates were resolved does not match the module's schema.

    Like a :class:`TemplateError`, a mistake of the flow or of its context values:
    resuming the run would fail the same way (the run says so instead of offering
    the resume command).
    """


class TemplateError(RunError):
    """A template names something that is not defined when the module starts."""

    def __init__(
        self, module_id: str, key: str, name: str, *, known: list[str] | None = None, problem: str | None = None
    ) -> None:
        self.module_id = module_id
        self.key = key
        self.name = name
        if problem is not None:  # the name is known, its value does not fit (an expression literal)
            super().__init__(f"module '{module_id}', config '{key}': {problem}")
            return
        hint = ""
        if known:
            from pypeline.core.text import did_you_mean

            hint = did_you_mean(name, known)
        super().__init__(f"module '{module_id}', config '{key}': unknown template name '{name}'{hint}")


class ArtifactError(RunError):
    """An artifact could not be stored or read back."""


class CheckpointError(RunError):
    """A checkpoint cannot be written, read or resumed from."""

    exit_code: ClassVar[int] = 2


class SecretError(PypelineError):
    """A secret could not be read. The message names the path, never a value.

    Args:
        reference: what the template named (``secret/app/db#password``), or a
            path alone when no key is involved (``secret/app/db``).
        reason: what went wrong and, where known, how to fix it.
        module_id: the module whose config used it (added by the templater).
        key: the config key that used it (added by the templater).
    """

    def __init__(self, reference: str, reason: str, *, module_id: str | None = None, key: str | None = None) -> None:
        self.reference = reference
        self.reason = reason
        self.module_id = module_id
        self.key = key
        where = ""
        if module_id is not None:
            where = f"module '{module_id}'" + (f", config '{key}'" if key else "") + ": "
        what = f"secret 'vault.{reference}'" if reference else "secrets"
        super().__init__(f"{where}{what}: {reason}")

    def located(self, module_id: str, key: str) -> SecretError:
        """The same error, naming the module and config key that used the secret."""
        return type(self)(self.reference, self.reason, module_id=module_id, key=key)


class BackendError(PypelineError):
    """A backend could not run a module (transport, remote error, timeout)."""
