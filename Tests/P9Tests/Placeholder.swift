import XCTest

final class P9TestsPlaceholder: XCTestCase {}
