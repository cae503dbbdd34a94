#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `bench` command line: run (default), list, check, compare, serve (hidden), help.
public enum BenchCLI {
    /// Runs `bench` with `args` (without the program name); returns the exit code.
    public static func main(_ args: [String]) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        var rest = args
        let command: String
        if let first = rest.first, !first.hasPrefix("-") {
            command = first
            rest.removeFirst()
        } else {
            command = "run"
        }
        switch command {
        case "run": return run(rest, argv: args)
        case "list": print(listText()); return 0
        case "check": return check(rest)
        case "compare": return compare(rest)
        case "plot": return plot(rest)
        case "serve": return ServeCommand.main(rest)
        case "help", "--help", "-h": print(usage); return 0
        default:
            writeStderr("bench: unknown command \"\(command)\"; expected run|list|check|compare|plot|help\n")
            return 64
        }
    }

    static func run(_ args: [String], argv: [String]) -> Int32 {
        if args.contains("--help") || args.contains("-h") { print(usage); return 0 }
        var options: RunOptions
        do { options = try RunOptions.parse(args) } catch {
            writeStderr("bench run: \(error.message)\n")
            return 64
        }
        options.argv = ["bench"] + argv
        installInterruptHandler()
        return BenchRunner(options: options).run().exitCode
    }

    /// SIGINT stops the run at the next batch; the report is still written and everything cleaned up.
    static func installInterruptHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptRequested.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
    }

    static func readJSON(_ path: String) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError.report("cannot read \(path)") }
        do { return try JSON.parse(String(decoding: data, as: UTF8.self)) } catch { throw BenchError.report("\(path): \(error)") }
    }

    static func check(_ args: [String]) -> Int32 {
        var report: String?, thresholds: String?, baseline: String?
        var strict = false
        var i = 0
        while i < args.count {
            switch args[i] {
            case "--thresholds" where i + 1 < args.count: thresholds = args[i + 1]; i += 1
            case "--baseline" where i + 1 < args.count: baseline = args[i + 1]; i += 1
            case "--strict": strict = true
            case let a where !a.hasPrefix("-") && report == nil: report = a
            default:
                writeStderr("bench check: unexpected argument \"\(args[i])\"; usage: bench check REPORT --thresholds FILE [--baseline REPORT] [--strict]\n")
                return 64
            }
            i += 1
        }
        guard let report, let thresholds else {
            writeStderr("bench check: usage: bench check REPORT --thresholds FILE [--baseline REPORT] [--strict]\n")
            return 64
        }
        do {
            let r = try readJSON(report), t = try readJSON(thresholds)
            let b = try baseline.map(readJSON)
            let outcome = Gate.check(report: r, thresholds: t, baseline: b, strict: strict)
            print(Gate.render(outcome))
            return outcome.exitCode
        } catch {
            print("bench check: \(error)")
            return 1
        }
    }

    static let compareUsage = "usage: bench compare OLD NEW [--format text|markdown] [--fail-on-slower]"

    static func compare(_ args: [String]) -> Int32 {
        var files: [String] = []
        var failOnSlower = false
        var markdown = false
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--fail-on-slower" { failOnSlower = true } else if a == "--format" || a.hasPrefix("--format=") {
                let v: String
                if a.hasPrefix("--format=") { v = String(a.dropFirst(9)) } else if i + 1 < args.count { i += 1; v = args[i] } else {
                    writeStderr("bench compare: --format needs a value (text|markdown)\n")
                    return 64
                }
                guard v == "text" || v == "markdown" else {
                    writeStderr("bench compare: --format: \"\(v)\" is not accepted; expected text|markdown\n")
                    return 64
                }
                markdown = v == "markdown"
            } else if !a.hasPrefix("-") { files.append(a) } else {
                writeStderr("bench compare: unknown flag \(a); \(compareUsage)\n")
                return 64
            }
            i += 1
        }
        guard files.count == 2 else {
            writeStderr("bench compare: \(compareUsage)\n")
            return 64
        }
        do {
            let rows = Compare.compare(old: try readJSON(files[0]), new: try readJSON(files[1]))
            print(markdown ? Compare.renderMarkdown(rows) : Compare.render(rows))
            return failOnSlower && rows.contains { $0.verdict == "slower" } ? 2 : 0
        } catch {
            print("bench compare: \(error)")
            return 1
        }
    }

    static let plotUsage = "usage: bench plot REPORT --out FILE.svg"

    /// `bench plot REPORT --out F.svg`: the report's bar charts (the same as the run's report.svg).
    static func plot(_ args: [String]) -> Int32 {
        var report: String?, out: String?
        var i = 0
        while i < args.count {
            switch args[i] {
            case "--out" where i + 1 < args.count: out = args[i + 1]; i += 1
            case let a where a.hasPrefix("--out="): out = String(a.dropFirst(6))
            case let a where !a.hasPrefix("-") && report == nil: report = a
            default:
                writeStderr("bench plot: unexpected argument \"\(args[i])\"; \(plotUsage)\n")
                return 64
            }
            i += 1
        }
        guard let report, let out else {
            writeStderr("bench plot: \(plotUsage)\n")
            return 64
        }
        do {
            let r = try readJSON(report)
            guard r["schema"]?.string == reportSchema else { throw BenchError.report("\(report) is not a \(reportSchema) report") }
            try writeAtomically(Plot.render(r), to: out)
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
            for k in s.params {
                let d = Suite.quick.values(k, for: s.name).map { v -> String in
                    if k.isSize, let i = v.intValue { return Units.formatSize(i) }
                    return v.description
                }
                out.append("  \(k.flag) (\(k.rawValue)): default \(d.joined(separator: ",")); accepts \(k.accepted)")
            }
            out.append("")
        }
        out.append("Suites: quick (under a minute), ci (what Benchmarks/thresholds.json gates on), full.")
        return out.joined(separator: "\n")
    }

    static let usage = """
        usage: bench [run] [flags]            run a suite (default: quick on the builtin server)
               bench list                     scenarios, parameters, defaults, what one op is
               bench check REPORT --thresholds FILE [--baseline REPORT] [--strict]
               bench compare OLD NEW [--format text|markdown] [--fail-on-slower]
               bench plot REPORT --out FILE.svg  bar charts of a report (what report.svg holds)

        run flags (lists are comma-separated; the run is the cross product of what each scenario uses):
          --suite quick|ci|full        --scenario NAME,...          --mode exclusive,writethrough,shared,none|all
          --resolver vfs2,vfs1,multi   --path hostfd,9p             --blocks 1,4,16
          --block-size 4K,64K,1M       --multiblock buffered,scatter --file-size 64M
          --depth 3,20                 --state cold,warm,replaced   --threads 1,2
          --msize 1M                   --entries 10000 (readdir)    --repetitions N   --warmup N (unmeasured ops)
          --duration 2s | --ops N      (per repetition)
          --server builtin|inproc|diod|unix:PATH|tcp:HOST:PORT       --aname PATH   --uname NAME   --uid N
          --out DIR                    --format json,csv,svg        --quiet        --seed N       --trace FILE
          --cpu-node N   client threads on NUMA node N     --mem-node N   I/O buffers allocated on node N
          --server-cpu-node N   the server the bench starts (builtin, inproc, diod) on node N
          --no-limits    skip measuring the machine's limits (socket rtt/stream, memcpy, pread) before the scenarios
        sizes take K/M/G (binary), durations ns/us/ms/s.
        exit: 0 ok/skipped, 3 a scenario failed (report written), 64 usage error, 1 otherwise.
        """
}
