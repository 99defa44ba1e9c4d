"""Tingxie graph compiler: token topology T, lexicon L, grammar G and TLG composition.

    from graph import CompileOptions, compile_graph, write_graph
    options = CompileOptions(tokens="units.txt", lm="lm.arpa.gz", output_dir="graph",
                             words="vocab.txt", spelling="chars", word_boundary="|")
    write_graph(compile_graph(options), options)

Modules, one idea each: `symbols` (symbol tables, label = column + 1), `lexicon` (reading,
spelling, disambiguation), `grammar` (G from ARPA arrays), `topology` (T), `fstio` (arrays to
OpenFst), `compile` (the pipeline), `directory` (the graph directory and its graph.json, the
contract with the decoder), `cli`.
"""
from graph.compile import CompileOptions, CompiledGraph, compile_graph, write_graph

__all__ = ["CompileOptions", "CompiledGraph", "compile_graph", "write_graph"]
