import CLibPQ

/// The libpq version this module is linked against.
public var libpqVersion: Int { Int(PQlibVersion()) }
