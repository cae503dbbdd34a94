import XCTest

final class LocalGoferTestsPlaceholder: XCTestCase {}
