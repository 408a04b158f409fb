"""From trained runs to scores: prediction files, the evaluation protocol (frame accuracy,
Edit, F1@k), and the trivial reference predictors."""
