"""A model, a loss and a dataset defined outside the package, each one Python file plus one YAML in
`conf/`, reached through Hydra's search path (tests/test_extending.py; docs/extending.md walks through
them)."""
