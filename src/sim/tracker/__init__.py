"""sim/tracker"""
