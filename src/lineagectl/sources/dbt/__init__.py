"""sources/dbt"""
