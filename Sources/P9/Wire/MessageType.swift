/// Every 9P2000.L message number and the gVisor extensions (PROTOCOL.md §2, §4.2); R = T + 1.
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case tlerror = 6, rlerror = 7
    case tstatfs = 8, rstatfs = 9
    case tlopen = 12, rlopen = 13
    case tlcreate = 14, rlcreate = 15
    case tsymlink = 16, rsymlink = 17
    case tmknod = 18, rmknod = 19
    case trename = 20, rrename = 21
    case treadlink = 22, rreadlink = 23
    case tgetattr = 24, rgetattr = 25
    case tsetattr = 26, rsetattr = 27
    case tlistxattr = 28, rlistxattr = 29
    case txattrwalk = 30, rxattrwalk = 31
    case txattrcreate = 32, rxattrcreate = 33
    case tgetxattr = 34, rgetxattr = 35
    case tsetxattr = 36, rsetxattr = 37
    case tremovexattr = 38, rremovexattr = 39
    case treaddir = 40, rreaddir = 41
    case tfsync = 50, rfsync = 51
    case tlock = 52, rlock = 53
    case tgetlock = 54, rgetlock = 55
    case tlink = 70, rlink = 71
    case tmkdir = 72, rmkdir = 73
    case trenameat = 74, rrenameat = 75
    case tunlinkat = 76, runlinkat = 77
    case tversion = 100, rversion = 101
    case tauth = 102, rauth = 103
    case tattach = 104, rattach = 105
    case tflush = 108, rflush = 109
    case twalk = 110, rwalk = 111
    case tread = 116, rread = 117
    case twrite = 118, rwrite = 119
    case tclunk = 120, rclunk = 121
    case tremove = 122, rremove = 123
    case tflushf = 124, rflushf = 125
    case twalkgetattr = 126, rwalkgetattr = 127
    case tucreate = 128, rucreate = 129
    case tumkdir = 130, rumkdir = 131
    case tumknod = 132, rumknod = 133
    case tusymlink = 134, rusymlink = 135
    case tlconnect = 136, rlconnect = 137
    case tallocate = 138, rallocate = 139
    case tsetattrclunk = 140, rsetattrclunk = 141
    case tmultigetattr = 142, rmultigetattr = 143
    case tbind = 144, rbind = 145
    /// This project's root donation (not gVisor's): enabled by no version N, probed on gVisor-style connections.
    case tdonateroot = 146, rdonateroot = 147
    case tchannel = 250, rchannel = 251

    /// The conventional name, e.g. "Twalkgetattr" (report keys use it).
    public var description: String { Self.names[Int(rawValue)] }

    /// True for T (request) messages: even numbers.
    public var isRequest: Bool { rawValue & 1 == 0 }

    /// The reply type for a request.
    public var reply: MessageType? { isRequest ? MessageType(rawValue: rawValue + 1) : nil }

    /// The extension version N that first enables this message (0 for plain 9P2000.L).
    public var minimumVersion: UInt32 {
        switch self {
        case .tflushf, .rflushf: return 1
        case .twalkgetattr, .rwalkgetattr: return 2
        case .tucreate, .rucreate, .tumkdir, .rumkdir, .tumknod, .rumknod, .tusymlink, .rusymlink: return 3
        case .tlconnect, .rlconnect: return 4
        case .tallocate, .rallocate: return 7
        case .tchannel, .rchannel: return 8
        case .tgetxattr, .rgetxattr, .tsetxattr, .rsetxattr: return 10
        case .tlistxattr, .rlistxattr, .tremovexattr, .rremovexattr: return 11
        case .tsetattrclunk, .rsetattrclunk: return 12
        case .tmultigetattr, .rmultigetattr: return 13
        case .tbind, .rbind: return UInt32.max
        // No N enables it: a client probes it on an N >= 1 connection (see Tdonateroot).
        case .tdonateroot, .rdonateroot: return UInt32.max
        default: return 0
        }
    }

    private static let names: [String] = {
        var table = (0..<256).map { "type\($0)" }
        table[6] = "Tlerror"
        table[7] = "Rlerror"
        table[8] = "Tstatfs"
        table[9] = "Rstatfs"
        table[12] = "Tlopen"
        table[13] = "Rlopen"
        table[14] = "Tlcreate"
        table[15] = "Rlcreate"
        table[16] = "Tsymlink"
        table[17] = "Rsymlink"
        table[18] = "Tmknod"
        table[19] = "Rmknod"
        table[20] = "Trename"
        table[21] = "Rrename"
        table[22] = "Treadlink"
        table[23] = "Rreadlink"
        table[24] = "Tgetattr"
        table[25] = "Rgetattr"
        table[26] = "Tsetattr"
        table[27] = "Rsetattr"
        table[28] = "Tlistxattr"
        table[29] = "Rlistxattr"
        table[30] = "Txattrwalk"
        table[31] = "Rxattrwalk"
        table[32] = "Txattrcreate"
        table[33] = "Rxattrcreate"
        table[34] = "Tgetxattr"
        table[35] = "Rgetxattr"
        table[36] = "Tsetxattr"
        table[37] = "Rsetxattr"
        table[38] = "Tremovexattr"
        table[39] = "Rremovexattr"
        table[40] = "Treaddir"
        table[41] = "Rreaddir"
        table[50] = "Tfsync"
        table[51] = "Rfsync"
        table[52] = "Tlock"
        table[53] = "Rlock"
        table[54] = "Tgetlock"
        table[55] = "Rgetlock"
        table[70] = "Tlink"
        table[71] = "Rlink"
        table[72] = "Tmkdir"
        table[73] = "Rmkdir"
        table[74] = "Trenameat"
        table[75] = "Rrenameat"
        table[76] = "Tunlinkat"
        table[77] = "Runlinkat"
        table[100] = "Tversion"
        table[101] = "Rversion"
        table[102] = "Tauth"
        table[103] = "Rauth"
        table[104] = "Tattach"
        table[105] = "Rattach"
        table[108] = "Tflush"
        table[109] = "Rflush"
        table[110] = "Twalk"
        table[111] = "Rwalk"
        table[116] = "Tread"
        table[117] = "Rread"
        table[118] = "Twrite"
        table[119] = "Rwrite"
        table[120] = "Tclunk"
        table[121] = "Rclunk"
        table[122] = "Tremove"
        table[123] = "Rremove"
        table[124] = "Tflushf"
        table[125] = "Rflushf"
        table[126] = "Twalkgetattr"
        table[127] = "Rwalkgetattr"
        table[128] = "Tucreate"
        table[129] = "Rucreate"
        table[130] = "Tumkdir"
        table[131] = "Rumkdir"
        table[132] = "Tumknod"
        table[133] = "Rumknod"
        table[134] = "Tusymlink"
        table[135] = "Rusymlink"
        table[136] = "Tlconnect"
        table[137] = "Rlconnect"
        table[138] = "Tallocate"
        table[139] = "Rallocate"
        table[140] = "Tsetattrclunk"
        table[141] = "Rsetattrclunk"
        table[142] = "Tmultigetattr"
        table[143] = "Rmultigetattr"
        table[144] = "Tbind"
        table[145] = "Rbind"
        table[146] = "Tdonateroot"
        table[147] = "Rdonateroot"
        table[250] = "Tchannel"
        table[251] = "Rchannel"
        return table
    }()
}
