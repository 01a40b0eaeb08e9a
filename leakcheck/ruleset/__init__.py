"""Rule packs: TOML files declaring kinds, sources, sinks and sanitizers."""

from leakcheck.ruleset.load import builtin_pack_paths, load_ruleset
from leakcheck.ruleset.model import RuleSet

__all__ = ["RuleSet", "builtin_pack_paths", "load_ruleset"]
