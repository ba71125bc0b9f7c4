"""Governance answers: personal data, GDPR erase/access plans, residency and flow rules."""
