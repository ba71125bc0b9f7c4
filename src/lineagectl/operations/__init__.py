"""Running a store over time: retention (prune), root causes (changes), data quality and gates."""
