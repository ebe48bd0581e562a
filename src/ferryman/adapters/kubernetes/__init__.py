"""adapters/kubernetes"""
