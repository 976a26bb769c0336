"""Turning encoder similarities into answers: probabilities, rejection, multi-label, hierarchy."""
