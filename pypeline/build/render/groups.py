"""Include boundaries for the drawings: which include each module came from.

A flow's includes (``include:``) are listed in its plan (``JobPlan.includes``);
their modules' ids start with the include's id and a dot (``east.load``), and
nested includes nest (``east.inner.load``). Inside a sub flow the renderers
group the modules of one include together, nested as the includes are, so the
boundary of an included flow shows even where its modules share a sub flow
with the including flow's (joined through its ports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pypeline.job.plan import JobPlan


@dataclass(slots=True)
class Group:
    """The modules of one include inside one sub flow (``include`` ``""``: the including flow's own)."""

    include: str
    modules: list[str] = field(default_factory=list)
    children: list[Group] = field(default_factory=list)


def include_groups(view: JobPlan, modules: Sequence[str]) -> Group:
    """``modules`` (in their order) as a tree of include groups; the root holds what belongs to no include."""
    ids = sorted((str(i["id"]) for i in view.includes), key=lambda i: (i.count("."), i))
    root = Group(include="")
    groups: dict[str, Group] = {"": root}
    for module_id in modules:
        chain = [i for i in ids if module_id.startswith(i + ".")]
        parent = root
        for include in chain:
            group = groups.get(include)
            if group is None:
                group = groups[include] = Group(include=include)
                parent.children.append(group)
            parent = group
        parent.modules.append(module_id)
    return root


def include_file(view: JobPlan, include: str) -> str:
    """The file an include inlined (as written in the including flow)."""
    return next((str(i.get("file", "")) for i in view.includes if i.get("id") == include), "")
