"""libcst -> a networkx dataflow graph per module, built by abstract interpretation."""
