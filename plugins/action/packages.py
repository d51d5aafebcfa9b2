"""Action plugin of ntier.django.packages: apt only for what the package facts lack."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


def missing(names, installed):
    """The names not in ``installed`` (the package facts: {name: [...]}); all of them when
    the facts were not gathered."""
    if isinstance(names, str):
        names = [names]
    if installed is None:
        return list(names)
    return [n for n in names if n not in installed]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("name",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        installed = (task_vars.get("ansible_facts") or {}).get("packages")
        todo = missing(self._task.args.get("name") or [], installed)
        if not todo:
            result.update(changed=False, msg="every package is installed (package facts)")
            return result
        result.update(self._execute_module(
            module_name="ansible.builtin.apt",
            module_args={"name": todo, "state": "present", "update_cache": True, "cache_valid_time": 3600},
            task_vars=task_vars))
        if installed is not None and not result.get("failed"):
            # the facts the next tasks read know these packages now
            result["ansible_facts"] = {"packages": {**installed, **{n: [{"name": n, "source": "apt"}] for n in todo}}}
        return result
