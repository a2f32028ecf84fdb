"""The regression gate's verdicts, per benchmark and metric, read only from
results files. Each metric says itself whether higher or lower is better.

A change is decided by its confidence interval against the threshold T, in
the metric's bad direction (as asv and criterion gate on an effect size):
- regression: the whole interval is worse than T, and the difference is
  significant after Holm's correction across every metric gated in the run;
- improvement: the same, better than T;
- no change: the whole interval lies within ±T;
- undecided: anything else (more rounds would narrow it: `harness ab --max-rounds`).
A benchmark whose candidate trials failed where the baseline's passed is a
regression; one the candidate lacks is missing (exit 1 unless allowed); a metric
the candidate measured overloaded where the baseline did not is a regression.
A gate never passes what it could not measure."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.errors import HarnessError
from harness.gate import methods
from harness.gate import statistics as st
from harness.gate.methods import Method
from harness.gate.verdict import Reason, Verdict, Why
from harness.record.model import Benchmark, MetricMeta, Results
from harness.subject_id import SubjectId

REGRESSION, IMPROVEMENT, NO_CHANGE = Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.NO_CHANGE
UNDECIDED, INSUFFICIENT, MISSING = Verdict.UNDECIDED, Verdict.INSUFFICIENT, Verdict.MISSING


@dataclass
class Comparison:
    benchmark: str
    metric: str
    label: str
    unit: str
    better: str
    headline: bool
    method: str  # "paired", "unpaired", or "-" where nothing could be compared
    n_baseline: int
    n_candidate: int
    n_pairs: int
    baseline_median: float | None
    candidate_median: float | None
    change: float | None  # relative change, (candidate - baseline) / baseline
    ci_low: float | None  # confidence interval of that change
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None  # Holm, across the comparisons of this gate
    verdict: Verdict | None  # None until the family's p-values are corrected (gate())
    reason: Reason | None = None
    se: float | None = None  # of the log change: the smallest change the design detects (design.summary)
    df: float | None = None
    gated: bool = True  # in the Holm family and the exit code; else shown beside it with its interval
    pairs_left_out: int = 0  # round pairs whose steal differed too much for this (wall-time) metric

    @property
    def final(self) -> bool:
        """Would more rounds change nothing? (a decided verdict, or a reason more rounds cannot undo)"""
        return (self.verdict is not None and self.verdict.decided) or (self.reason is not None and self.reason.final)

    @classmethod
    def measured(
        cls,
        benchmark: str,
        metric: str,
        meta: MetricMeta,
        method: str,
        est: st.Estimate,
        alpha: float,
        gated: bool = True,
        pairs_left_out: int = 0,
        **sides,  # n_baseline, n_candidate, baseline_median, candidate_median
    ) -> Comparison:
        """A metric the method compared: its estimate, the verdict to come once the family is corrected."""
        return cls(
            gated=gated,
            pairs_left_out=pairs_left_out,
            benchmark=benchmark,
            metric=metric,
            label=meta.label,
            unit=meta.unit,
            better=meta.better,
            headline=meta.headline,
            method=method,
            n_baseline=sides.get("n_baseline", 0),
            n_candidate=sides.get("n_candidate", 0),
            n_pairs=est.n if method == "paired" else 0,
            baseline_median=sides.get("baseline_median"),
            candidate_median=sides.get("candidate_median"),
            change=est.change,
            ci_low=est.ci_low,
            ci_high=est.ci_high,
            p_value=est.p_value,
            p_adjusted=None,
            verdict=None,
            reason=Reason(Why.UNREACHABLE_P, f"min p {est.min_p:.2g}") if est.min_p >= alpha else None,
            se=est.se,
            df=est.df,
        )

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict.value if self.verdict else None
        out["reason"] = self.reason.text if self.reason else ""
        out["reason_kind"] = self.reason.why.value if self.reason else None
        return out


@dataclass(frozen=True)
class Options:
    threshold: float = 0.05
    alpha: float = 0.05
    force: bool = False
    all_metrics: bool = False
    allow_missing: bool = False
    ignore_params: frozenset[str] = frozenset()
    # per metric key: its own threshold (a p99 needs a wider one than tasks/s); 0 leaves it ungated
    thresholds: tuple[tuple[str, float], ...] = ()
    # the metric keys gated (the Holm family); empty: every headline metric. The rest of the headline and
    # shown metrics are compared too and shown beside the verdict, never gated
    gated_keys: frozenset[str] = frozenset()
    # a round pair whose steal differs by more than this many points is left out of the comparison of a
    # metric that depends on wall time (0: no pair is left out)
    steal_pair_pct: float = 0.0

    def threshold_of(self, metric: str, bench: str = "") -> float:
        """A benchmark's own threshold for the metric ("http/java:kib_per_connection"), else the metric's,
        else the gate's: each judged against its own measured noise, where the suite says so."""
        own = dict(self.thresholds)
        return own.get(f"{bench}:{metric}", own.get(metric, self.threshold))

    def gated(self, metric: str, meta, bench: str = "") -> bool:
        if self.all_metrics:
            return self.threshold_of(metric, bench) > 0
        chosen = metric in self.gated_keys if self.gated_keys else meta.headline
        return chosen and self.threshold_of(metric, bench) > 0

    def shown(self, metric: str, meta, bench: str = "") -> bool:
        """Compared and shown with its interval, but not gated (a throughput beside its steal-free cost)."""
        return not self.gated(metric, meta, bench) and (meta.headline or meta.shown)

    @classmethod
    def of_suite(cls, section: dict | None, **given) -> Options:
        """The suite's [gate]: its threshold, per-metric thresholds (in percent), the metrics it gates and
        the steal difference that leaves a pair out, under what the CLI gave."""
        section = section or {}
        thresholds = tuple(sorted((k, float(v) / 100) for k, v in (section.get("metrics") or {}).items()))
        if given.get("threshold") is None:
            given["threshold"] = float(section.get("threshold_pct", 5)) / 100
        return cls(
            thresholds=thresholds,
            gated_keys=frozenset(section.get("gated") or ()),
            steal_pair_pct=float(section.get("steal_pair_pct", 0)),
            **given,
        )


def comparability_problems(
    base: Results, cand: Results, ignore_params: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    """Why two results files must not be compared (empty: they may be)."""
    problems = []
    for side, doc in (("baseline", base), ("candidate", cand)):
        if doc.emulated:
            problems.append(f"the {side} ran under emulation ({doc.arch} on another architecture)")
    for what, get in (
        ("arch", lambda d: d.arch),
        ("CPU model", lambda d: d.host.get("cpu_model")),
        ("backend", lambda d: d.backend),
        ("workload CPU count (W)", lambda d: d.workers),
    ):
        if get(base) != get(cand):
            problems.append(f"{what} differs: baseline {get(base)!r}, candidate {get(cand)!r}")
    for subject in dict.fromkeys(b.runtime for b in base.benchmarks if cand.benchmark(b.id)):
        tb, tcand = base.toolchain_of(subject), cand.toolchain_of(subject)
        if tb and tcand and tb != tcand and not _toolchain_told(subject, base, cand, ignore_params):
            problems.append(
                f"the toolchain of {subject} differs: baseline {tb!r}, candidate {tcand!r} (a comparison of "
                "toolchains: set it on the candidate side of harness ab, or --force)"
            )
    for b in base.benchmarks:
        c = cand.benchmark(b.id)
        if c is None:
            continue
        pb = {k: v for k, v in b.params.items() if f"{b.scenario}.{k}" not in ignore_params}
        pc = {k: v for k, v in c.params.items() if f"{c.scenario}.{k}" not in ignore_params}
        if pb != pc:
            diff = sorted(k for k in set(pb) | set(pc) if pb.get(k) != pc.get(k))
            problems.append(
                f"suite parameter {b.scenario}.{diff[0]} differs: baseline {pb.get(diff[0])!r}, "
                f"candidate {pc.get(diff[0])!r}"
            )
    return problems


def _toolchain_told(subject: str, base: Results, cand: Results, ignore_params: frozenset[str] | set[str]) -> bool:
    """Whether the candidate side was told to differ in one of the subject's toolchain keys (harness ab
    --candidate-set runtime.go.toolchain=...): the results file records which keys those are."""
    keys = set(base.toolchain_keys(subject)) | set(cand.toolchain_keys(subject))
    sid = SubjectId.parse(subject)
    return any(k.rsplit(".", 1)[-1] in keys and (sid.runtime in k or subject in k) for k in ignore_params)


def _row(b: Benchmark, key: str, meta: MetricMeta, **fields) -> Comparison:
    base = dict(
        benchmark=b.id,
        metric=key,
        label=meta.label,
        unit=meta.unit,
        better=meta.better,
        headline=meta.headline,
        method="-",
        n_baseline=0,
        n_candidate=0,
        n_pairs=0,
        baseline_median=None,
        candidate_median=None,
        change=None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        p_adjusted=None,
    )
    return Comparison(**{**base, **fields})


def _median(xs: list[float]) -> float | None:
    import statistics

    return statistics.median(xs) if xs else None


def compare_benchmark(b: Benchmark, c: Benchmark | None, opts: Options, method: Method) -> list[Comparison]:
    """Every gated metric of one benchmark (p_adjusted and the final verdict come later, with Holm), and
    every shown one beside them (compared, never gated)."""
    metrics = [(k, m) for k, m in b.metrics.items() if opts.gated(k, m, b.id)]
    shown = [(k, m) for k, m in b.metrics.items() if opts.shown(k, m, b.id)]
    if c is not None and b.measured and c.measured:
        metrics += shown
    if c is None:
        why = Reason(Why.MISSING, "the candidate has no such benchmark")
        return [_row(b, k, m, verdict=MISSING, reason=why) for k, m in metrics]
    if b.measured and not c.measured:
        failed = next((t.error for t in c.trials if not t.ok), None) or "no measured trial"
        return [
            _row(
                b,
                k,
                m,
                n_baseline=len(b.measured),
                verdict=REGRESSION,
                reason=Reason(Why.CANDIDATE_FAILED, f"candidate failed: {failed}"),
            )
            for k, m in metrics
        ]
    if not b.measured:  # nothing to compare with: the gate cannot pass what it could not measure
        failed = next((t.error for t in b.trials if not t.ok), None) or "no measured trial"
        return [
            _row(
                b,
                k,
                m,
                n_candidate=len(c.measured),
                verdict=INSUFFICIENT,
                reason=Reason(Why.BASELINE_FAILED, f"baseline failed: {failed}"),
            )
            for k, m in metrics
        ]
    out = []
    confidence = 1 - opts.alpha
    for key, meta in metrics:
        base_vals, cand_vals = b.values(key), c.values(key)
        if not base_vals and not cand_vals:  # measured by neither side (a clean build not asked for): no question
            continue
        common = dict(
            n_baseline=len(base_vals),
            n_candidate=len(cand_vals),
            baseline_median=_median(base_vals),
            candidate_median=_median(cand_vals),
        )
        gated = opts.gated(key, meta, b.id)
        inc_b, inc_c = b.incomparable(key), c.incomparable(key)
        if (inc_b or inc_c) and not gated:
            continue  # a shown metric not measured under the same conditions: nothing honest to show
        if inc_c and not inc_b:
            why = Reason(Why.CANDIDATE_INCOMPARABLE, f"candidate {inc_c[0]}")
            out.append(_row(b, key, meta, **common, verdict=REGRESSION, reason=why))
            continue
        if inc_b:
            why = Reason(Why.BASELINE_INCOMPARABLE, f"not comparable: baseline {inc_b[0]}")
            out.append(_row(b, key, meta, **common, verdict=UNDECIDED, reason=why))
            continue
        m = method.estimate(b, c, key, confidence, 0.0 if meta.steal_free else opts.steal_pair_pct)
        out.append(
            Comparison.measured(b.id, key, meta, m.method, m.estimate, opts.alpha, gated, m.pairs_left_out, **common)
        )
    return out


def decide(c: Comparison, threshold: float, alpha: float) -> Verdict:
    """The verdict of one measured comparison, from its interval, threshold and adjusted p."""
    if c.change is None or (c.reason is not None and c.reason.why is Why.UNREACHABLE_P):
        return INSUFFICIENT
    if c.ci_low is None or c.ci_high is None:
        return UNDECIDED
    # the interval of how much worse the candidate is (positive: worse)
    worse_lo, worse_hi = (-c.ci_high, -c.ci_low) if c.better == "higher" else (c.ci_low, c.ci_high)
    significant = c.p_adjusted is not None and c.p_adjusted < alpha
    if worse_lo > threshold and significant:
        return REGRESSION
    if worse_hi < -threshold and significant:
        return IMPROVEMENT
    if -threshold <= worse_lo and worse_hi <= threshold:
        return NO_CHANGE
    return UNDECIDED


def gate(
    base: Results,
    cand: Results,
    opts: Options = Options(),
    only_scenario: str | None = None,
    family_size: int | None = None,
) -> list[Comparison]:
    """Compare every benchmark of the baseline (of one scenario, for a sequential
    stop rule: then `family_size` is the whole run's number of gated metrics)."""
    problems = comparability_problems(base, cand, opts.ignore_params)
    if problems and not opts.force:
        raise HarnessError(f"results are not comparable: {problems[0]} (use --force to compare anyway)")
    method = methods.for_files(base, cand)
    out: list[Comparison] = []
    for b in base.benchmarks:
        if only_scenario is None or b.scenario == only_scenario:
            out.extend(compare_benchmark(b, cand.benchmark(b.id), opts, method))
    if not out:
        raise HarnessError("the baseline has no benchmark to compare")
    measured = [c for c in out if c.verdict is None and c.gated]
    adjusted = st.holm([c.p_value for c in measured], family_size)
    for c, p in zip(measured, adjusted, strict=True):
        c.p_adjusted = p
        c.verdict = decide(c, opts.threshold_of(c.metric, c.benchmark), opts.alpha)
    for c in out:
        if c.verdict == MISSING and opts.allow_missing and c.reason:
            c.reason = Reason(c.reason.why, c.reason.text + " (allowed)")
    return out


def gated_metric_count(base: Results, opts: Options) -> int:
    """The size of the run's Holm family."""
    return sum(1 for b in base.benchmarks for k, m in b.metrics.items() if opts.gated(k, m, b.id))


def exit_code(comparisons: list[Comparison], strict: bool, allow_missing: bool = False) -> int:
    """1 for a regression, a missing benchmark, or what could not be measured (too few
    trials, a failed baseline): a gate never passes what it could not measure. An
    undecided metric (measured, not conclusive) fails only with strict."""
    for c in comparisons:
        if not c.gated:
            continue
        if c.verdict in (REGRESSION, INSUFFICIENT) or (c.verdict == MISSING and not allow_missing):
            return 1
        if strict and c.verdict == UNDECIDED:
            return 1
    return 0
