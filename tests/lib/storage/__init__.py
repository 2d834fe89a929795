"""Tests of lib/storage: key rules, the local directory store, the Blob store against a local fake."""
