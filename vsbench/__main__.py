"""``python -m vsbench`` behaves exactly as the ``vsbench`` console script."""

from vsbench.cli import main

if __name__ == "__main__":
    main()
