import XCTest

final class GoferTestsPlaceholder: XCTestCase {}
