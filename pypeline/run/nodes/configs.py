"""A module's configs for one attempt: templates resolved, values re-checked once.

The build checked every config against the module's ``CONFIG_SCHEMA`` with
its templates still unresolved; a template can only be resolved when the
module starts (it may read a global set by an earlier sub flow, or the
current iteration's item). :class:`ModuleConfigs` does that for each attempt:

1. ``prepare`` lets the secret resolver read what the configs need, off the
   event loop, once per instance;
2. ``render`` resolves every template for the attempt's scope and, when a
   value changed, checks the rendered values against the schema (a
   ``{{context.x}}`` that turned an ``int`` config into text is a
   :class:`ModuleError` naming the module, not a crash inside it);
3. ``remote`` gives the form a remote payload may carry: every template
   resolved except secrets, which the far side resolves itself.

In an expression config (``filter_mod.condition``, ``derive_mod.columns``:
a schema type mentioning ``expr``) a template becomes a literal of its
value's own type, never expression text (docs/security.md, "Expressions").

Configs without templates are passed as the build wrote them, with no work
at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pypeline.core.errors import RenderedConfigError
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.config import ConfigProblem, check_values, expression_keys
from pypeline.run.templater.templater import Scope, Templater

ThreadCall = Callable[..., Awaitable[Any]]


class ModuleConfigs:
    """Renders and re-checks module configs per attempt (see the module docstring)."""

    def __init__(self, plan: JobPlan, templater: Templater) -> None:
        self._plan = plan
        self._templater = templater

    def templated(self, spec: ModuleSpec) -> bool:
        """True when ``spec``'s configs hold templates (the others are used as built)."""
        return spec.id in self._plan.templated

    async def prepare(self, spec: ModuleSpec, run_in_thread: ThreadCall) -> None:
        """Fetch what the configs' templates need (secrets) before the first attempt, off the loop."""
        if self.templated(spec):
            await self._templater.prepare(spec.configs, run_in_thread)

    def render(self, spec: ModuleSpec, scope: Scope, node_id: str, attempt: int, backend: str) -> dict[str, Any]:
        """The configs of this attempt, templates resolved and values re-checked.

        Raises:
            TemplateError: for an unknown name (naming the module and the key).
            RenderedConfigError: for a rendered value of the wrong type.
        """
        if not self.templated(spec):
            return spec.configs
        schema = load_module_class(spec.module_path).CONFIG_SCHEMA  # cached: loaded once per process
        # TemplateError names module and key; expression configs get literals, never text
        configs = self._templater.render(spec.configs, scope, expressions=expression_keys(schema))
        if configs != spec.configs:
            known = {**schema.get("optional", {}), **schema.get("required", {})}
            try:
                check_values(known, configs)
            except ConfigProblem as exc:
                raise RenderedConfigError(
                    node_id, f"after templates were resolved: {exc.message} (expected {exc.expected})",
                    attempt=attempt, backend=backend,
                ) from None
        return configs

    def remote(self, spec: ModuleSpec, scope: Scope) -> dict[str, Any]:
        """What a remote payload may carry: every template resolved except secrets."""
        if not self.templated(spec):
            return spec.configs
        expressions = expression_keys(load_module_class(spec.module_path).CONFIG_SCHEMA)
        return self._templater.render(spec.configs, scope, resolve_secrets=False, expressions=expressions)
