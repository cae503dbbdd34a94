import Gofer
import P9
import TestSupport
import XCTest

/// goferd's `--channels`: it grants what a client asks for up to its limit, and `--channels 0` refuses (the socket serves).
final class GoferdChannelTests: XCTestCase {
    func testGoferdGrantsTheDefaultChannelCount() throws {
        let child = try GoferdChild(files: ["f": [1, 2, 3]])
        let client = try child.connect(ClientOptions(channels: ClientOptions.defaultChannels))
        XCTAssertEqual(client.channelCount, ClientOptions.defaultChannels)
        let fs = try Filesystem(client: client, options: FilesystemOptions(mode: .shared))
        XCTAssertEqual(try fs.stat("f").size, 3)
        XCTAssertGreaterThan(client.stats.channelRequests, 0)
        fs.release()
        client.close()
    }

    func testGoferdWithoutChannelsKeepsTheSocket() throws {
        let child = try GoferdChild(files: ["f": [1, 2, 3]], arguments: ["--channels", "0"])
        let client = try child.connect(ClientOptions(channels: 4))
        XCTAssertEqual(client.channelCount, 0)
        XCTAssertEqual(client.stats.snapshot().count(.tchannel), 1)
        let fs = try Filesystem(client: client, options: FilesystemOptions(mode: .shared))
        XCTAssertEqual(try fs.stat("f").size, 3)
        XCTAssertEqual(client.stats.channelRequests, 0)
        fs.release()
        client.close()
    }
}
