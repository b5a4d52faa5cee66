"""The aipipe Pulumi program (not an installed package): Pulumi runs stacks/__main__.py from the
project folder; tests and `aipipe estimate` import these modules with the project folder on sys.path."""
