"""Train digit classifiers on MNIST (needs the [train] extra)."""
