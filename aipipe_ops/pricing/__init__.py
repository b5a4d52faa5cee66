"""Pricing: the price book, plan readers (what a stack will create) and the estimate built from both."""
