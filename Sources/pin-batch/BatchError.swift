import PinCore
import PinObjectStore
import PinParquet

/// A failure that ends a pin-batch run, with the exit status it maps to (SPEC §2).
struct BatchError: Error, CustomStringConvertible {
    var description: String
    var status: Int32

    static func io(_ message: String) -> BatchError { BatchError(description: message, status: 74) }

    /// 69 when the store cannot be reached or refuses us, 74 for local I/O, 64 for a bad location.
    static func from(_ error: any Error) -> BatchError {
        switch error {
        case let error as BatchError:
            return error
        case let error as ObjectStoreError:
            switch error.kind {
            case .io: return BatchError(description: error.description, status: 74)
            case .invalidLocation, .invalidKey, .missingCredentials:
                return BatchError(description: error.description, status: 64)
            default: return BatchError(description: error.description, status: 69)
            }
        case let error as ParquetError:
            return BatchError(description: "Parquet: \(error.description)", status: 74)
        default:
            return BatchError(description: String(describing: error), status: 74)
        }
    }
}
