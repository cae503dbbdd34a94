import BenchReport

/// What a run measures, in order: every scenario with its combinations on each server, the native floor first within a
/// scenario (so that the table can show `vs_native` as the other rows finish).
struct RunPlan {
    /// One scenario and its combinations on every server.
    struct Step {
        /// The scenario.
        let spec: ScenarioSpec
        /// The combinations, each with the index of its server in `RunOptions.servers`.
        let items: [(server: Int, params: ParamSet)]
    }

    /// The scenarios in declared order.
    let steps: [Step]

    /// The plan of `options`.
    init(options o: RunOptions) {
        let order = o.servers.indices.sorted { (o.servers[$0] == .native ? 0 : 1, $0) < (o.servers[$1] == .native ? 0 : 1, $1) }
        steps = o.scenarioList.map { spec in
            Step(spec: spec, items: order.flatMap { i in o.combinations(of: spec, on: o.servers[i]).map { (i, $0) } })
        }
    }

    /// The scenarios and combinations server `index` runs (what its fixtures must hold).
    func scenarios(of index: Int) -> [(ScenarioSpec, [ParamSet])] {
        steps.map { step in (step.spec, step.items.filter { $0.server == index }.map(\.params)) }
    }

    /// The widest parameter text of the plan (the table's params column).
    var paramsWidth: Int { steps.flatMap { $0.items.map(\.params.description.count) }.max() ?? 20 }
}
