"""The quality benchmark: does every model × loss the CLI accepts learn, and how well, in a fixed
budget on the machine at hand (`python -m gan_lab.quality`; docs/benchmarks.md).

- `rows`: the matrix (presets, gan × loss, dcgan × loss, the MNIST translation tasks) and its targets;
- `run`: one row = the train CLI in its own process, then its last checkpoint scored and drawn;
- `report`: quality.json and the markdown tables.
"""
