/// The report's schema identifier.
public let reportSchema = "swift-gofer-bench/1"

/// A whole report (report.json): where and how the run happened, and one record per parameter combination.
public struct Report: Codable, Sendable, Equatable {
    /// The schema identifier (`reportSchema` for reports this code writes).
    public var schema: String
    /// Where and how the run happened.
    public var context: RunContext
    /// One result per parameter combination, in run order.
    public var results: [ResultRecord]

    /// A report of this code's schema.
    public init(context: RunContext, results: [ResultRecord]) {
        schema = reportSchema
        self.context = context
        self.results = results
    }
}
