"""One-off analyses behind statements in docs/quality.md, each runnable as
`python -m gan_lab.analysis.<name>` (its docstring says which statement and how it was run)."""
