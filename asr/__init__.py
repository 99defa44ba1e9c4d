"""Tingxie speech recognition: front end, acoustic models, decoder, rescoring, scoring."""
