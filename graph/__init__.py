"""Tingxie graph compiler: token topology T, lexicon L, grammar G and TLG composition."""
