"""Package discovery that pyproject.toml cannot express: the top-level reports/ folder ships as
aipipe_ops.reports, so site-packages holds no generic top-level name such as `reports`. stacks/ is
not installed: it is the Pulumi program, run by Pulumi (and loaded by tests and `aipipe estimate`)
from the project folder."""

from setuptools import find_packages, setup

packages = find_packages(include=["aipipe_ops", "aipipe_ops.*"])
packages += ["aipipe_ops.reports"] + [f"aipipe_ops.reports.{p}" for p in find_packages("reports")]

setup(packages=packages, package_dir={"aipipe_ops.reports": "reports"})
