"""installer"""
