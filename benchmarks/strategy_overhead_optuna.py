#!/usr/bin/python3
"""Per-trial overhead of Optuna's RandomSampler and TPESampler (ask + tell, no evaluation cost)
on NAS-Bench-201's decisions: 6 categorical parameters of 5 ops each. The reference for
benchmarks/strategy_overhead.cpp, which reads the JSON line this prints (--optuna FILE).

Usage: strategy_overhead_optuna.py [--trials 500] [--seed 0] > optuna.json
"""
import argparse
import json
import time

import optuna

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
GAIN = {"none": -3.0, "skip_connect": 0.0, "nor_conv_1x1": 1.0, "nor_conv_3x3": 2.0,
        "avg_pool_3x3": -1.0}


def objective(trial):
    # A trivial lookup, so the time measured is the sampler's and the study's bookkeeping.
    return sum(GAIN[trial.suggest_categorical(f"edge{e}", OPS)] * (1 + 0.1 * e) for e in range(6))


def per_trial_us(sampler, trials):
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return 1e6 * (time.perf_counter() - start) / trials, study.best_value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rnd_us, rnd_best = per_trial_us(optuna.samplers.RandomSampler(seed=args.seed), args.trials)
    tpe_us, tpe_best = per_trial_us(optuna.samplers.TPESampler(seed=args.seed), args.trials)
    print(json.dumps({"optuna_version": optuna.__version__, "trials": args.trials,
                      "optuna_random_us": round(rnd_us, 3), "optuna_tpe_us": round(tpe_us, 3),
                      "random_best": rnd_best, "tpe_best": tpe_best}))


if __name__ == "__main__":
    main()
