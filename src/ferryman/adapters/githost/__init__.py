"""adapters/githost"""
