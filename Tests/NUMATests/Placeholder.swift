import XCTest

final class NUMATestsPlaceholder: XCTestCase {}
