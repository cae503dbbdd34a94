#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import BenchReport
import Foundation

/// The `bench` command line (swift-argument-parser, Commands.swift): run (default), list, check, compare, plot, serve (hidden).
public enum BenchCLI {
    /// Runs `bench` with `args` (without the program name); returns the exit code (64 for a usage error).
    public static func main(_ args: [String]) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try BenchCommand.parseAsRoot(args)
            if let executable = command as? any ExecutableCommand { return executable.execute(argv: args) }
            try command.run()  // the built-in `help` subcommand and --help requests: they throw their text
            return 0
        } catch {
            let code = BenchCommand.exitCode(for: error)
            let message = BenchCommand.fullMessage(for: error, columns: 100)
            if code == .success { print(message) } else { writeStderr(message + "\n") }
            return code.rawValue
        }
    }

    /// The help text of `bench` (nil) or of one of its subcommands; nil when there is no such subcommand.
    public static func help(_ subcommand: String? = nil) -> String? {
        guard let subcommand else { return BenchCommand.helpMessage(columns: 120) }
        let all: [any ParsableCommand.Type] = [RunCommand.self, ListCommand.self, CheckCommand.self, CompareCommand.self,
                                               PlotCommand.self, ServeSubcommand.self]
        guard let c = all.first(where: { $0.configuration.commandName == subcommand }) else { return nil }
        return BenchCommand.helpMessage(for: c, includeHidden: false, columns: 120)
    }

    /// SIGINT or SIGTERM stops the run at the next batch; the report is still written, filesystems are released
    /// (dirty data written back) and the server and temporary export cleaned up.
    static func installInterruptHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptRequested.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// `bench check`: 0 every rule holds, 2 a regression, 1 cannot judge.
    static func check(reports: [String], thresholds: String, baseline: String?, strict: Bool) -> Int32 {
        do {
            let r = try reports.map { (path) throws(ReportError) in try Report(contentsOf: path) }
            let t = try Thresholds(contentsOf: thresholds)
            let b = try baseline.map { (path) throws(ReportError) in try Report(contentsOf: path) }
            let outcome = Gate.check(reports: r, thresholds: t, baseline: b, strict: strict)
            print(Gate.render(outcome))
            return outcome.exitCode
        } catch {
            print("bench check: \(error)")
            return 1
        }
    }

    /// `bench compare`: 0, or 2 with `failOnSlower` when a row is slower; 1 when a file cannot be read.
    static func compare(old: String, new: String, markdown: Bool, failOnSlower: Bool, minChange: Double) -> Int32 {
        // A side may be several reports, comma-separated: their repetitions are pooled.
        func side(_ list: String) throws -> [Report] {
            let reports = try list.split(separator: ",").map { try Report(contentsOf: String($0)) }
            guard !reports.isEmpty else { throw ReportError("\"\(list)\" names no report.json") }
            return reports
        }
        do {
            let o = Compare.outcome(old: try side(old), new: try side(new), minChange: minChange)
            print(markdown ? Compare.renderMarkdown(o.rows, warnings: o.warnings, minChange: minChange)
                           : Compare.render(o.rows, warnings: o.warnings, minChange: minChange))
            return failOnSlower && o.rows.contains { $0.verdict == "slower" } ? 2 : 0
        } catch {
            print("bench compare: \(error)")
            return 1
        }
    }

    /// `bench plot REPORT --out F.svg`: the report's bar charts (the same as the run's report.svg).
    static func plot(report: String, out: String) -> Int32 {
        do {
            let r = try Report(contentsOf: report)
            guard r.schema == reportSchema else { throw ReportError("\(report) is not a \(reportSchema) report") }
            try writeAtomically(Data(Plot.render(r).utf8), to: out)
            print("plot: \(out)")
            return 0
        } catch {
            print("bench plot: \(error)")
            return 1
        }
    }

    /// `bench list`: scenarios, their parameters with the quick suite's defaults, and what one op is.
    public static func listText() -> String {
        var out: [String] = ["Scenarios (defaults of the quick suite; --suite ci|full change them):", ""]
        for s in ScenarioSpec.all {
            out.append("\(s.name)")
            out.append("  op: \(s.op)")
            out.append("  native: \(s.nativeOp)")
            for k in s.params {
                let d = Suite.quick.values(k, for: s.name).map { v -> String in
                    if k.isSize, let i = v.intValue { return Units.formatSize(i) }
                    return v.description
                }
                out.append("  \(k.flag) (\(k.rawValue)): default \(d.joined(separator: ",")); accepts \(k.accepted)")
            }
            if s.threaded {
                out.append("  --threads N, --sharing private|shared: N callers on one filesystem, each on its own files "
                           + "or all on the same ones (threads and sharing join the params when either is given)")
            }
            if let d = s.directParams {
                out.append("  --resolver direct: adds rows with \(d.map(\.rawValue).joined(separator: ", ")) (the host descriptor is the data path)")
            }
            out.append("")
        }
        out.append("Every scenario: --clients N runs N client processes against the server, each with its own connection and "
                   + "filesystem, summed in one row (clients joins the params when given).")
        out.append("Suites: quick (about a minute; 20 x 25 ms repetitions in 10 rounds), ci (what Benchmarks/thresholds.json gates "
                   + "on), ci-diod (CI's small pass against diod, its server unless --server says otherwise), full (10 x 100 ms "
                   + "repetitions in 10 rounds). --rounds spreads each combination's repetitions over rounds.")
        return out.joined(separator: "\n")
    }
}
