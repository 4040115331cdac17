"""`python -m gan_lab.bench` (the command line itself is `gan_lab.bench.cli`)."""

from gan_lab.bench.cli import main

if __name__ == "__main__":
    main()
