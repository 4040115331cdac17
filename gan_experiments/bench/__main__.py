"""`python -m gan_experiments.bench` (the command line itself is `gan_experiments.bench.cli`)."""

from gan_experiments.bench.cli import main

if __name__ == "__main__":
    main()
