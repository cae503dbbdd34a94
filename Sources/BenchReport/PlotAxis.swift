import Foundation

extension Plot {
    /// A value axis: linear from 0 to a rounded top with 4-6 ticks, or logarithmic over whole decades when the
    /// values span more than two decades (a 9P bar beside a host-FD bar would otherwise be invisible).
    struct Axis {
        let log: Bool
        let bottom: Double
        let top: Double
        let step: Double

        init(values: [Double], allowLog: Bool) {
            let positive = values.filter { $0 > 0 && $0.isFinite }
            let maxValue = positive.max() ?? 0
            if allowLog, let minValue = positive.min(), maxValue / minValue > 100 {
                log = true
                bottom = pow(10, floor(log10(minValue)))
                top = pow(10, ceil(log10(maxValue) + 1e-9))
                step = 10
                return
            }
            log = false
            bottom = 0
            guard maxValue > 0 else { top = 1; step = 0.25; return }
            let raw = maxValue / 5
            let mag = pow(10, floor(log10(raw)))
            let norm = raw / mag
            let nice = norm <= 1 ? 1.0 : norm <= 2 ? 2.0 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5.0 : 10.0
            step = nice * mag
            top = ceil(maxValue / step - 1e-9) * step
        }

        var ticks: [Double] {
            if log {
                var t: [Double] = []
                var v = bottom
                while v <= top * 1.0001 { t.append(v); v *= 10 }
                return t
            }
            return stride(from: 0, through: top + step / 2, by: step).map { $0 }
        }

        /// Where `v` sits between the bottom (0) and the top (1) of the axis.
        func fraction(_ v: Double) -> Double {
            if log {
                guard v > 0 else { return 0 }
                return max(0, min(1, (log10(v) - log10(bottom)) / (log10(top) - log10(bottom))))
            }
            return max(0, min(1, v / top))
        }

        func label(_ v: Double) -> String { Axis.short(v, step: log ? max(v, 1) : step) }
        func valueLabel(_ v: Double) -> String { Axis.short(v, step: v >= 100 ? 1 : (v >= 10 ? 0.1 : 0.01)) }

        /// 1.5k, 2M, 0.25 ...
        static func short(_ v: Double, step: Double) -> String {
            if v >= 1_000_000 { return trim(Units.fixed(v / 1_000_000, 1)) + "M" }
            if v >= 10_000 { return trim(Units.fixed(v / 1_000, 1)) + "k" }
            let whole = step >= 1 && step.rounded() == step
            let digits = whole ? 0 : (step * 10 == (step * 10).rounded() ? 1 : 2)
            return trim(Units.fixed(v, digits))
        }

        static func trim(_ s: String) -> String {
            guard s.contains(".") else { return s }
            var t = s
            while t.hasSuffix("0") { t.removeLast() }
            if t.hasSuffix(".") { t.removeLast() }
            return t
        }
    }
}
