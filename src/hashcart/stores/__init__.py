"""Adapters for the store a merchant already runs (issue 16): one package per store engine
(`vendure/`, `shopify/`), each implementing `ports.CommerceStore`. The built-in shop's own
implementation lives with its tables in `store/`."""
