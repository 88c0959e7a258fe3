/// One row group in the footer (Thrift `RowGroup`).
struct RowGroupMetadata {
    var columns: [ColumnChunkMetadata]
    var rows: Int64
    var fileOffset: Int64
    var ordinal: Int16
}

/// The file footer (Thrift `FileMetaData`), encoded with the compact protocol.
struct FileMetadata {
    static let createdBy = "pinpipe"

    var schema: ParquetSchema
    var rows: Int64
    var rowGroups: [RowGroupMetadata]
    var keyValues: [(key: String, value: String)]

    func encoded() -> [UInt8] {
        var thrift = ThriftCompactWriter()
        thrift.i32(1, 2)
        thrift.listOfStructs(2, schemaElements()) { element, node in node.encode(into: &element) }
        thrift.i64(3, rows)
        thrift.listOfStructs(4, rowGroups) { group, rowGroup in
            group.listOfStructs(1, rowGroup.columns) { chunk, column in column.encode(into: &chunk) }
            group.i64(2, rowGroup.columns.reduce(0) { $0 + $1.totalUncompressedSize })
            group.i64(3, rowGroup.rows)
            group.i64(5, rowGroup.fileOffset)
            group.i64(6, rowGroup.columns.reduce(0) { $0 + $1.totalCompressedSize })
            group.i16(7, rowGroup.ordinal)
        }
        if !keyValues.isEmpty {
            thrift.listOfStructs(5, keyValues) { entry, pair in
                entry.string(1, pair.key)
                entry.string(2, pair.value)
            }
        }
        thrift.string(6, Self.createdBy)
        // One TypeDefinedOrder per leaf: min_value/max_value follow the type's order (unsigned bytes for strings).
        let leaves = schema.columns.count
        thrift.listOfStructs(7, Array(repeating: (), count: leaves)) { order, _ in
            order.structField(1) { _ in }
        }
        thrift.finish()
        return thrift.bytes
    }

    /// The schema tree flattened depth-first, as the footer stores it.
    private func schemaElements() -> [SchemaNode] {
        var nodes = [SchemaNode(name: "schema", children: Int32(schema.columns.count))]
        for column in schema.columns {
            let repetition = column.optional ? ParquetThrift.Repetition.optional : ParquetThrift.Repetition.required
            switch column.kind {
            case .int64:
                nodes.append(
                    SchemaNode(name: column.name, repetition: repetition, type: ParquetThrift.PhysicalType.int64))
            case .boolean:
                nodes.append(
                    SchemaNode(name: column.name, repetition: repetition, type: ParquetThrift.PhysicalType.boolean))
            case .string:
                nodes.append(SchemaNode.string(column.name, repetition: repetition))
            case .stringList:
                nodes.append(
                    SchemaNode(
                        name: column.name, repetition: repetition, children: 1,
                        convertedType: ParquetThrift.ConvertedType.list, logicalType: 3))
                nodes.append(SchemaNode(name: "list", repetition: ParquetThrift.Repetition.repeated, children: 1))
                nodes.append(SchemaNode.string("element", repetition: ParquetThrift.Repetition.optional))
            }
        }
        return nodes
    }
}

/// A Thrift `SchemaElement`.
struct SchemaNode {
    var name: String
    var repetition: Int32?
    var type: Int32?
    var children: Int32?
    var convertedType: Int32?
    /// The field id of the `LogicalType` union member (1 STRING, 3 LIST), whose structs are empty.
    var logicalType: Int16?

    init(
        name: String, repetition: Int32? = nil, type: Int32? = nil, children: Int32? = nil, convertedType: Int32? = nil,
        logicalType: Int16? = nil
    ) {
        self.name = name
        self.repetition = repetition
        self.type = type
        self.children = children
        self.convertedType = convertedType
        self.logicalType = logicalType
    }

    static func string(_ name: String, repetition: Int32) -> SchemaNode {
        SchemaNode(
            name: name, repetition: repetition, type: ParquetThrift.PhysicalType.byteArray,
            convertedType: ParquetThrift.ConvertedType.utf8, logicalType: 1)
    }

    func encode(into thrift: inout ThriftCompactWriter) {
        if let type { thrift.i32(1, type) }
        if let repetition { thrift.i32(3, repetition) }
        thrift.string(4, name)
        if let children { thrift.i32(5, children) }
        if let convertedType { thrift.i32(6, convertedType) }
        if let logicalType {
            thrift.structField(10) { union in union.structField(logicalType) { _ in } }
        }
    }
}
