"""Pulumi.yaml and the example stack files agree with the program's config schema."""

from __future__ import annotations

import pytest
import yaml
from stack_helpers import EXAMPLE_STACKS, PROJECT_DIR

from stacks.config import NAMESPACE, REQUIRED, SETTINGS, SETTINGS_BY_KEY


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())


def test_project_runs_the_python_program_in_stacks(project):
    assert project["name"] == NAMESPACE
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["main"] == "stacks/"
    assert (PROJECT_DIR / project["main"] / "__main__.py").exists()


def test_every_declarable_setting_is_declared_with_its_type_and_default(project):
    declared = project["config"]
    assert set(declared) == {s.key for s in SETTINGS if s.declared}
    for key, declaration in declared.items():
        setting = SETTINGS_BY_KEY[key]
        assert declaration["type"] == setting.kind, key
        assert declaration["description"], key
        if setting.default is REQUIRED:
            assert "default" not in declaration, key
        else:
            assert declaration["default"] == setting.default, key
    assert declared["masterAuthorizedNetworks"]["items"] == {"type": "string"}


def test_mapping_settings_pulumi_cannot_declare_are_documented_in_the_project_file():
    text = (PROJECT_DIR / "Pulumi.yaml").read_text()
    for setting in SETTINGS:
        if not setting.declared:
            assert f"aipipe:{setting.key}" in text, setting.key


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_only_use_known_keys_and_set_every_required_one(stack):
    config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    known = {f"{NAMESPACE}:{s.key}" for s in SETTINGS} | {"gcp:project"}
    assert set(config) <= known
    required = {f"{NAMESPACE}:{s.key}" for s in SETTINGS if s.default is REQUIRED} | {"gcp:project"}
    assert required <= set(config)
