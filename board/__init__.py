"""The live ward board: every occupied bed, its vitals, NEWS2 and open alerts, from the lake."""
