"""STRAINER reproduction: SIREN and STRAINER fitting, metrics and paper tables."""
