"""What `aipipe estimate` prices: a stack of the project folder (its Pulumi.<stack>.yaml, evaluated offline),
a stack config file elsewhere (a Pulumi.<name>.yaml fixture), or a plan file (`pulumi preview --json` or
`pulumi stack export` output). The same spec forms work for --stack, --plan and --diff."""

from __future__ import annotations

from pathlib import Path

import yaml

from aipipe_ops.errors import ConfigError, InputError
from aipipe_ops.pricing.plans.plan_file import Plan, read_plan_file


def _stack_name(path: Path) -> str:
    name = path.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name[len("Pulumi."):] if name.startswith("Pulumi.") else name


def _program_dir(project_dir: Path) -> Path | None:
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None  # run_stack reports it
    return project_dir / (project.get("main") or ".") if isinstance(project, dict) else None


def _run(project_dir: Path, name: str, config_file: Path, stack: str | None, config: dict | None,
         source: str, display_stack: str, use_cache: bool) -> Plan:
    from aipipe_ops.pricing import plan_cache
    from aipipe_ops.pricing.plans.offline import run_stack

    program_dir = _program_dir(project_dir)
    key = None
    if use_cache and program_dir is not None and config_file.exists():
        key = plan_cache.plan_key(project_dir, program_dir, [config_file], extra=f"{stack}|{display_stack}|named")
        cached = plan_cache.load(name, key)
        if cached is not None:
            return cached
    run = run_stack(project_dir, stack, config, stack_name=display_stack)
    plan = Plan(resources=run.resources, stack=display_stack, project=run.project, source=source)
    if key is not None:
        plan_cache.store(name, key, plan)
    return plan


def stack_plan(project_dir: Path, stack: str, use_cache: bool = True) -> Plan:
    """The stack's resources from its program run offline under Pulumi's mocks."""
    return _run(project_dir, stack, project_dir / f"Pulumi.{stack}.yaml", stack, None,
                f"offline evaluation of Pulumi.{stack}.yaml", stack, use_cache)


def config_file_plan(project_dir: Path, path: Path, use_cache: bool = True) -> Plan:
    """A stack config file outside the project folder, run with the project's program."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"stack config {path}: cannot read ({exc})") from exc
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise InputError(f"stack config {path}: expected a `config:` mapping of namespace:key values")
    if (project_dir / path.name).resolve() == path.resolve():
        return stack_plan(project_dir, _stack_name(path), use_cache)
    try:
        shown = path.resolve().relative_to(project_dir.resolve())
    except ValueError:
        shown = path
    return _run(project_dir, _stack_name(path), path, None, config, f"offline evaluation of {shown}",
                _stack_name(path), use_cache)


def load_plan(spec: str, project_dir: Path, use_cache: bool = True) -> Plan:
    """A stack name, a stack config file (*.yaml) or a plan file (*.json); offline runs are cached
    (plan_cache.py) unless `use_cache` is false."""
    path = Path(spec)
    if path.suffix in (".json",):
        return read_plan_file(path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise InputError(f"stack config {path} does not exist")
        return config_file_plan(project_dir, path, use_cache)
    if "/" in spec or path.exists():
        raise ConfigError(f"{spec!r}: expected a stack name, a Pulumi.<stack>.yaml file or a plan .json file")
    return stack_plan(project_dir, spec, use_cache)
