"""Test helpers shared by several areas: real TLS material and free ports."""
