import XCTest

final class SafeMemTestsPlaceholder: XCTestCase {}
