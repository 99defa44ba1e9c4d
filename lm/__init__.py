"""Tingxie n-gram language-model toolkit: counting, smoothing, ARPA, perplexity, pruning, generation."""
