"""embedded/apiserver"""
