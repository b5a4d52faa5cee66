"""Run a Pulumi program offline and list every resource it registers, with its inputs.

No Pulumi CLI, no provider plugin, no cloud: the program runs in this process under Pulumi's mocks
(`pulumi.runtime.Mocks`), with the stack config the CLI would pass it (Pulumi.yaml defaults, then
Pulumi.<stack>.yaml, then `config` overrides). Each run gets a fresh Pulumi runtime in its own
context and event loop, so this can be called many times in one process.

What the list can and cannot show: every resource and component the program registers, with the
inputs `pulumi preview` would send; not the children a provider-side (multi-language) component
builds, such as the objects of a `kustomize.v2.Directory`, since no provider runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from aipipe_ops.errors import ConfigError, InputError
from aipipe_ops.pricing.plans.mock_cloud import PlausibleCloud
from aipipe_ops.pricing.plans.normalised_inputs import SECRET, normalise
from aipipe_ops.pricing.plans.resource import STACK_TYPE, PlannedResource, make_urn


@dataclass(frozen=True)
class StackRun:
    """Everything one offline run saw."""

    project: str
    stack: str
    config: dict[str, str]  # the `ns:key` -> string map the program was given
    resources: list[PlannedResource]
    outputs: dict[str, Any]  # stack outputs (pulumi.export)
    warnings: list[str] = field(default_factory=list)  # pulumi.log.warn messages of the program
    dependencies: dict[str, list[str]] = field(default_factory=dict)  # urn -> URNs it waits for
    providers: dict[str, str] = field(default_factory=dict)  # urn -> explicit provider URN (if any)
    transforms: dict[str, list[Any]] = field(default_factory=dict)  # urn -> transform callables

    def resource(self, type_: str, name: str) -> PlannedResource:
        """The one resource of that type and logical name (KeyError if absent)."""
        for candidate in self.resources:
            if candidate.type == type_ and candidate.name == name:
                return candidate
        raise KeyError(f"no {type_} named {name!r}")

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]


def evaluate_stack(project_dir: Path, stack: str | None = None,
                   config: Mapping[str, Any] | None = None) -> list[PlannedResource]:
    """Every resource the stack's program registers: the stack first, each parent before its children,
    siblings by type and name (registration order itself varies from run to run)."""
    return run_stack(project_dir, stack, config).resources


def run_stack(project_dir: Path, stack: str | None = None, config: Mapping[str, Any] | None = None,
              stack_name: str | None = None) -> StackRun:
    """Run the program of `project_dir` for `stack` (its Pulumi.<stack>.yaml) and/or a config mapping.

    `config` maps `namespace:key` to a value (strings as is; lists, mappings, numbers and booleans
    are encoded the way the Pulumi CLI passes them) and overrides the stack file. `stack_name` is the
    name the program sees (`pulumi.get_stack()`) when no stack file of the folder is read (default `offline`).
    """
    project_dir = Path(project_dir).resolve()
    if stack is None and config is None:
        raise ConfigError("evaluate_stack needs a stack name (for Pulumi.<stack>.yaml) or a config mapping")
    project = _read_yaml(_project_file(project_dir))
    project_name = project.get("name")
    if not project_name:
        raise InputError(f"{_project_file(project_dir)}: no `name`")
    program = project_dir / (project.get("main") or ".")
    if not program.exists():
        raise InputError(f"{_project_file(project_dir)}: main {project.get('main')!r} does not exist")

    values, secret_keys = _project_config(project)
    if stack is not None:
        stack_values, stack_secrets = _stack_config(project_dir, project, stack)
        values.update(stack_values)
        secret_keys |= stack_secrets
    values.update({key: _encode(value) for key, value in (config or {}).items() if value is not None})
    stack_name = stack or stack_name or "offline"

    _prepare_imports(project_dir, program)
    return contextvars.copy_context().run(
        _run, program, project_name, stack_name, values, sorted(secret_keys))


# Project and stack files ---------------------------------------------------------------------------


def _project_file(project_dir: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        if (project_dir / name).exists():
            return project_dir / name
    raise InputError(f"{project_dir}: no Pulumi.yaml (not a Pulumi project folder)")


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return data


def _encode(value: Any) -> str:
    """A config value as the CLI hands it to a program: strings as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _project_config(project: dict) -> tuple[dict[str, str], set[str]]:
    """Defaults and values declared in Pulumi.yaml `config:`, keyed `namespace:key`."""
    values: dict[str, str] = {}
    secrets: set[str] = set()
    name = project["name"]
    for key, declaration in (project.get("config") or {}).items():
        full_key = key if ":" in key else f"{name}:{key}"
        if isinstance(declaration, dict) and ({"type", "default", "value", "description", "secret", "items"}
                                              & set(declaration)):
            for field_name in ("value", "default"):
                if declaration.get(field_name) is not None:
                    values[full_key] = _encode(declaration[field_name])
                    break
            if declaration.get("secret"):
                secrets.add(full_key)
        elif declaration is not None:
            values[full_key] = _encode(declaration)
    return values, secrets


def _stack_config(project_dir: Path, project: dict, stack: str) -> tuple[dict[str, str], set[str]]:
    config_dir = project_dir / (project.get("stackConfigDir") or ".")
    for suffix in ("yaml", "yml"):
        path = config_dir / f"Pulumi.{stack}.{suffix}"
        if path.exists():
            break
    else:
        raise InputError(f"{config_dir / f'Pulumi.{stack}.yaml'}: no such stack file "
                         f"(create it with `pulumi stack init {stack}` and `pulumi config set`)")
    values: dict[str, str] = {}
    secrets: set[str] = set()
    for key, value in (_read_yaml(path).get("config") or {}).items():
        if ":" not in key:
            raise InputError(f"{path}: config key {key!r} has no namespace (expected e.g. {project['name']}:{key})")
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECRET  # ciphertext needs the stack's secrets provider; offline runs never decrypt
            secrets.add(key)
        elif value is not None:
            values[key] = _encode(value)
    return values, secrets


def _prepare_imports(project_dir: Path, program: Path) -> None:
    """Put the project folder on sys.path; forget a same-named program package loaded from elsewhere."""
    if str(project_dir) in sys.path:
        sys.path.remove(str(project_dir))
    sys.path.insert(0, str(project_dir))  # first, so a project copied elsewhere earlier does not shadow it
    package = program.name if program.is_dir() else None
    loaded = sys.modules.get(package) if package else None
    if loaded is not None:
        origin = Path(getattr(loaded, "__file__", None) or next(iter(getattr(loaded, "__path__", [])), "."))
        if project_dir not in origin.resolve().parents:
            for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
                del sys.modules[module]


# The run -------------------------------------------------------------------------------------------


def _tree_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Parents before children, siblings by (type, name): a stable order for a run's resources."""
    children: dict[str | None, list[PlannedResource]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    ordered: list[PlannedResource] = []
    pending = sorted(children.get(None, []), key=lambda r: (r.type, r.name), reverse=True)
    while pending:
        resource = pending.pop()
        ordered.append(resource)
        pending.extend(sorted(children.get(resource.urn, []), key=lambda r: (r.type, r.name), reverse=True))
    seen = {r.urn for r in ordered}
    return ordered + [r for r in resources if r.urn not in seen]  # orphans (parent never registered), if any


def _run(program: Path, project: str, stack: str, values: dict[str, str], secret_keys: list[str]) -> StackRun:
    from pulumi.runtime import mocks, rpc, settings
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime.stack import run_in_stack

    class CapturingMonitor(mocks.MockMonitor):
        """The mock monitor, giving engine-shaped URNs and remembering every registration."""

        def __init__(self, cloud):
            super().__init__(cloud)
            self.registered: list[PlannedResource] = []
            self.outputs: dict[str, Any] = {}
            self.dependencies: dict[str, list[str]] = {}
            self.providers: dict[str, str] = {}
            self.transforms: dict[str, list[Any]] = {}

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            return make_urn(stack, project, parent or None, type_, name)

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            is_stack = request.type == STACK_TYPE
            inputs = {} if is_stack else normalise(rpc.deserialize_properties(request.object), keep_internal=True)
            self.registered.append(PlannedResource(
                urn=response.urn, type=request.type, name=request.name, inputs=inputs,
                parent=request.parent or None, custom=bool(request.custom) and not is_stack))
            self.dependencies[response.urn] = list(request.dependencies)
            if request.provider:
                self.providers[response.urn] = request.provider.split("::")[0] + "::" + \
                    "::".join(request.provider.split("::")[1:-1])
            self.transforms[response.urn] = mocks._resolve_callbacks(request.transforms)
            return response

        def RegisterResourceOutputs(self, request):
            if request.urn == make_urn(stack, project, None, STACK_TYPE, f"{project}-{stack}"):
                self.outputs = normalise(rpc.deserialize_properties(request.outputs), keep_internal=True)
            return super().RegisterResourceOutputs(request)

    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    logger = logging.getLogger(f"aipipe.offline_plan.{id(warnings)}")
    logger.propagate = False
    logger.addHandler(Collect())

    gcp_project = values.get("gcp:project", "")
    location = values.get(f"{project}:location", "")
    region = location.rsplit("-", 1)[0] if location.count("-") == 2 else location
    monitor = CapturingMonitor(PlausibleCloud(gcp_project, region or None))

    settings.reset_options(project=project, stack=stack, preview=False, organization="organization")
    settings.configure(mocks.MockSettings(
        monitor=monitor, monitor_features=set(), engine=mocks.MockEngine(logger), project=project,
        stack=stack, dry_run=False, organization="organization", callbacks=None, parallel=None,
        root_directory=str(program.parent if program.is_file() else program)))
    runtime_config.set_all_config(dict(values), secret_keys)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__")))
    except KeyboardInterrupt:
        _abandon(loop)
        raise
    finally:
        if not loop.is_closed():
            _drain_and_close(loop)

    return StackRun(project=project, stack=stack, config=dict(values), resources=_tree_order(monitor.registered),
                    outputs=monitor.outputs, warnings=warnings, dependencies=monitor.dependencies,
                    providers=monitor.providers, transforms=monitor.transforms)


def _abandon(loop: asyncio.AbstractEventLoop) -> None:
    """Ctrl-C: the process is ending, so the program's leftover tasks are dropped unrun. Running them would resolve
    futures the interrupt left half-set (asyncio InvalidStateError) and touch half-imported modules, each printing a
    traceback; their complaints when collected are silenced."""
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(None)
    loop.close()


def _drain_and_close(loop: asyncio.AbstractEventLoop) -> None:
    try:
        for task in asyncio.all_tasks(loop):
            task.cancel()
            try:
                loop.run_until_complete(task)
            except KeyboardInterrupt:
                raise
            except BaseException:  # noqa: BLE001 - cancelled leftovers of a failed run
                pass
        loop.run_until_complete(loop.shutdown_default_executor())
    except KeyboardInterrupt:
        _abandon(loop)
        raise
    finally:
        if not loop.is_closed():
            asyncio.set_event_loop(None)
            loop.close()
