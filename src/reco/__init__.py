"""reco"""
