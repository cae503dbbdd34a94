#if canImport(Glibc)
import Glibc
#endif

/// Summary statistics and the Mann-Whitney U test used by the gate and `bench compare`.
public enum Statistics {
    /// The median (mean of the middle two for an even count); nil when empty.
    public static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// The median absolute deviation from the median; nil when empty.
    public static func medianAbsoluteDeviation(_ xs: [Double]) -> Double? {
        guard let m = median(xs) else { return nil }
        return median(xs.map { abs($0 - m) })
    }

    /// Modified z-scores (0.6745 (x - median) / MAD) of `xs`; all 0 when the MAD is 0.
    public static func modifiedZScores(_ xs: [Double]) -> [Double] {
        guard let m = median(xs), let mad = medianAbsoluteDeviation(xs), mad > 0 else { return xs.map { _ in 0 } }
        return xs.map { 0.6745 * ($0 - m) / mad }
    }

    /// A result whose median is uncertain by more than this factor (its interval's high over low) gets a warning.
    public static let spreadWarning = 1.5
    /// An outlier that moves the median by more than this fraction gets a warning.
    public static let medianShiftWarning = 0.05

    /// The distribution-free confidence interval of the median of `xs`: the order statistics x(k) and x(n+1-k) with
    /// the largest k whose binomial tail P(B(n, 1/2) < k) stays within (1 - confidence) / 2, and the interval's own
    /// coverage. Below 6 values no k reaches 95%: then it is the minimum and maximum (coverage 1 - 2^(1-n)). Nil when empty.
    public static func medianInterval(_ xs: [Double], confidence: Double = 0.95) -> (low: Double, high: Double, coverage: Double)? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted(), n = s.count
        let tail = (1 - confidence) / 2
        // P(B <= j) for j = 0, 1, ...: k - 1 is the last j whose tail stays within `tail` (k at least 1).
        var term = pow(0.5, Double(n)), below = term, k = 1
        while k < (n + 1) / 2 {
            term *= Double(n - k + 1) / Double(k)
            guard below + term <= tail else { break }
            below += term
            k += 1
        }
        return (s[k - 1], s[n - k], max(0, 1 - 2 * below))
    }

    /// Warnings about the repetitions of one result, from their ops/s samples, only when the spread could change a
    /// reader's conclusion: the median's 95% interval (`medianInterval`; the minimum and maximum below 6 repetitions)
    /// spans more than `spreadWarning` x, or outliers (|modified z-score| > 3.5 over at least 5 repetitions) move the
    /// median by more than `medianShiftWarning`. Each says by how much. With `driftRemoved`, the samples had the run's
    /// common drift between rounds divided out (`roundDrift`), and the warnings say so.
    public static func repetitionWarnings(opsPerS: [Double], driftRemoved: Bool = false) -> [String] {
        guard opsPerS.count >= 2, opsPerS.allSatisfy({ $0 > 0 && $0.isFinite }), let all = median(opsPerS),
              let interval = medianInterval(opsPerS) else { return [] }
        var out: [String] = []
        let lo = interval.low, hi = interval.high
        if hi / lo > spreadWarning {
            // Up to 5 repetitions the interval is their whole range; from 6 on it leaves the extremes out.
            let what = opsPerS.count < 6 ? "repetitions range \(Units.fixed(hi / lo, 2))x"
                                         : "the median's 95% interval spans \(Units.fixed(hi / lo, 2))x"
            var text = what + (driftRemoved ? " beyond the drift all results shared" : "")
                + " (\(Units.fixed(lo, 0)) to \(Units.fixed(hi, 0)) ops/s)"
            if opsPerS.count >= 3, opsPerS.dropFirst().allSatisfy({ $0 > opsPerS[0] }) { text += "; the first was the slowest: caches may not have been warm (raise --warmup)" }
            out.append(text + "; re-run on a quiet machine before drawing conclusions")
        }
        // Time per op, where an outlier is a slow (or fast) repetition.
        let z = opsPerS.count >= 5 ? modifiedZScores(opsPerS.map { 1 / $0 }) : []
        let outliers = z.indices.filter { abs(z[$0]) > 3.5 }
        if !outliers.isEmpty, outliers.count < opsPerS.count,
           let rest = median(opsPerS.indices.filter { !outliers.contains($0) }.map { opsPerS[$0] }) {
            let shift = abs(all / rest - 1)
            if shift > medianShiftWarning {
                let which = outliers.map { String($0 + 1) }.joined(separator: ", ")
                out.append("repetition\(outliers.count > 1 ? "s" : "") \(which) \(outliers.count > 1 ? "are outliers" : "is an outlier") "
                           + "(modified z-score \(outliers.map { Units.fixed(abs(z[$0]), 1) }.joined(separator: ", ")) > 3.5): "
                           + "without \(outliers.count > 1 ? "them" : "it") the median moves \(Units.fixed(shift * 100, 1))% "
                           + "(\(Units.fixed(all, 0)) -> \(Units.fixed(rest, 0)) ops/s)")
            }
        }
        return out
    }

    /// Round `round`'s share of `total` (repetitions, passes) spread as evenly as `rounds` rounds allow: the first rounds
    /// take one more when it does not divide.
    public static func roundShare(_ total: Int, round: Int, rounds: Int) -> Int { total / rounds + (round < total % rounds ? 1 : 0) }

    /// The mean of each round's samples, for samples in run order whose rounds took `roundShare` of them each (one
    /// round: the samples themselves).
    public static func roundMeans(_ samples: [Double], rounds: Int) -> [Double] {
        guard rounds > 1, samples.count > 1 else { return samples }
        var means: [Double] = []
        var at = 0
        for round in 0..<rounds {
            let k = roundShare(samples.count, round: round, rounds: rounds)
            guard k > 0 else { break }
            means.append(samples[at..<(at + k)].reduce(0, +) / Double(k))
            at += k
        }
        return means
    }

    /// The lag-1 autocorrelation of values in run order, pooled over `series` (each about its own mean; one of fewer
    /// than 3 values adds nothing); 0 when nothing varies.
    public static func lagOneAutocorrelation(_ series: [[Double]]) -> Double {
        var products = 0.0, squares = 0.0
        for s in series where s.count >= 3 {
            let mean = s.reduce(0, +) / Double(s.count)
            for i in 0..<(s.count - 1) { products += (s[i] - mean) * (s[i + 1] - mean) }
            for x in s { squares += (x - mean) * (x - mean) }
        }
        return squares > 0 ? products / squares : 0
    }

    /// How much wider an interval from `n` values with lag-1 autocorrelation `rho` must be than one from `n`
    /// independent values: sqrt((1 + rho) / (1 - rho)), the AR(1) variance inflation, with rho taken in [0, 0.9] (a
    /// negative estimate does not narrow it; 0.9 caps it at 4.4x).
    public static func autocorrelationWidening(_ rho: Double) -> Double {
        let r = min(max(rho.isFinite ? rho : 0, 0), 0.9)
        return ((1 + r) / (1 - r)).squareRoot()
    }

    /// Results needed before a run's drift between rounds is estimated (fewer: no estimate).
    public static let driftMinimumResults = 8

    /// The machine's drift between the rounds of a run: for each round, the median over results of a result's
    /// samples in that round over that result's own median (1: the round ran as the run did). `results` gives each
    /// result's ops/s samples and the round of each. Nil with fewer than `driftMinimumResults` results of 2+ rounds.
    public static func roundDrift(_ results: [(opsPerS: [Double], rounds: [Int])], rounds: Int) -> [Double]? {
        guard rounds > 1 else { return nil }
        var relative = [[Double]](repeating: [], count: rounds)
        var used = 0
        for r in results where r.opsPerS.count == r.rounds.count && Set(r.rounds).count > 1 {
            guard r.opsPerS.allSatisfy({ $0 > 0 && $0.isFinite }), let m = median(r.opsPerS) else { continue }
            used += 1
            for (x, round) in zip(r.opsPerS, r.rounds) where round >= 0 && round < rounds { relative[round].append(x / m) }
        }
        guard used >= driftMinimumResults else { return nil }
        return relative.map { median($0) ?? 1 }
    }

    /// The ratio of `b` to `a` (the Hodges-Lehmann shift of their logarithms) with its distribution-free confidence
    /// interval from the Mann-Whitney order statistics (Bauer 1972): nil when a sample holds a value that is not
    /// positive and finite, or the samples are too small for an interval at `confidence` (5 and 5 give 95%).
    public static func ratioInterval(_ a: [Double], _ b: [Double], confidence: Double = 0.95)
        -> (estimate: Double, low: Double, high: Double)? {
        let n1 = a.count, n2 = b.count
        guard n1 > 0, n2 > 0, (a + b).allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        let la = a.map { log($0) }, lb = b.map { log($0) }
        var d: [Double] = []
        d.reserveCapacity(n1 * n2)
        for x in la { for y in lb { d.append(y - x) } }
        d.sort()
        // The largest C with P(U <= C) <= (1 - confidence) / 2: the interval is [d(C+1), d(N-C)], 1-based.
        let tail = (1 - confidence) / 2
        var c = -1
        if n1 <= 30 && n2 <= 30 {
            let counts = uDistribution(n1, n2)
            let total = counts.reduce(0, +)
            var cumulative = 0.0
            for (k, n) in counts.enumerated() {
                cumulative += n
                if cumulative / total > tail { break }
                c = k
            }
        } else {
            let mean = Double(n1 * n2) / 2, sd = (Double(n1 * n2) * Double(n1 + n2 + 1) / 12).squareRoot()
            c = Int((mean - 1.959964 * sd).rounded(.down)) - 1
        }
        guard c >= 0, c < d.count - 1 - c else { return nil }
        guard let shift = median(d) else { return nil }
        return (exp(shift), exp(d[c]), exp(d[d.count - 1 - c]))
    }

    /// Nearest-rank percentile `p` (0...100) of already sorted values.
    public static func percentile(sorted: [UInt64], _ p: Double) -> UInt64? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The two-sided p-value of the Mann-Whitney U test of `a` against `b`.
    ///
    /// Exact (enumerating the U distribution) when there are no ties and both samples are small; otherwise the
    /// normal approximation with tie and continuity corrections.
    public static func mannWhitneyP(_ a: [Double], _ b: [Double]) -> Double {
        let n1 = a.count, n2 = b.count
        guard n1 > 0, n2 > 0 else { return 1 }
        let all = (a.map { ($0, 0) } + b.map { ($0, 1) }).sorted { $0.0 < $1.0 }
        var ranks = [Double](repeating: 0, count: all.count)
        var tieTerm = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count && all[j + 1].0 == all[i].0 { j += 1 }
            let r = Double(i + j + 2) / 2
            for k in i...j { ranks[k] = r }
            let t = Double(j - i + 1)
            tieTerm += t * t * t - t
            i = j + 1
        }
        var r1 = 0.0
        for (k, x) in all.enumerated() where x.1 == 0 { r1 += ranks[k] }
        let u1 = r1 - Double(n1 * (n1 + 1)) / 2
        let u = min(u1, Double(n1 * n2) - u1)
        if tieTerm == 0 && n1 <= 30 && n2 <= 30 {
            // Exact: count the arrangements whose U is at most the observed one.
            let counts = uDistribution(n1, n2)
            let total = counts.reduce(0, +)
            var below = 0.0
            for k in 0...Int(u.rounded(.down)) where k < counts.count { below += counts[k] }
            return min(1, 2 * below / total)
        }
        let n = Double(n1 + n2)
        let mean = Double(n1 * n2) / 2
        let variance = Double(n1 * n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return 1 }
        let z = (abs(u1 - mean) - 0.5) / variance.squareRoot()
        return min(1, max(0, erfc(max(z, 0) / 2.0.squareRoot())))
    }

    /// Number of arrangements giving each U for sample sizes m, n (no ties), as doubles.
    static func uDistribution(_ m: Int, _ n: Int) -> [Double] {
        // f[i][j][u]: arrangements of i and j elements with statistic u; recurrence on the largest element.
        var table = [[[Double]]](repeating: [[Double]](repeating: [], count: n + 1), count: m + 1)
        for i in 0...m {
            for j in 0...n {
                if i == 0 || j == 0 { table[i][j] = [1]; continue }
                let a = table[i - 1][j]  // the largest is from the first sample: it beats all j
                let b = table[i][j - 1]
                var out = [Double](repeating: 0, count: i * j + 1)
                for (u, c) in a.enumerated() where u + j < out.count { out[u + j] += c }
                for (u, c) in b.enumerated() { out[u] += c }
                table[i][j] = out
            }
        }
        return table[m][n]
    }
}
