// The P9 module: 9P2000.L wire format with gVisor's extensions, transports, Client and Server.
