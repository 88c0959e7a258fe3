/// What a run consumed and stored, for the progress line and the summary.
struct StreamTotals {
    /// Messages taken from Kafka into committed batches.
    var records = 0
    /// Rows inserted or updated (one per distinct unique_id per batch).
    var upserted: Int64 = 0
    /// Rows replaced by a later record with the same unique_id in the same batch.
    var duplicates: Int64 = 0
    /// Dead letters added to `<table>_rejected`.
    var rejected: Int64 = 0
}
