"""Compliance post-filter: rules from knowledge_base/compliance/rules.yaml applied to every draft."""

from rag.compliance.filter import ComplianceFilter
from rag.compliance.rules import CATEGORIES, Rule, RuleSet, load_rules, parse_rules

__all__ = ["CATEGORIES", "ComplianceFilter", "Rule", "RuleSet", "load_rules", "parse_rules"]
