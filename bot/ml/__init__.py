"""The machine-learning engine: training data, training and calibration (training code), and the
model directory, triage policy, engine and evaluation (runtime code, which never imports the
training code)."""
