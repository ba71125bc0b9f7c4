"""Small shared pieces with no store: globs, SQL dialect names, ids, time parsing, the policy file."""
