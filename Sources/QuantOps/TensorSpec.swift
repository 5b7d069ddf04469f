/// A 2-D tensor as a kernel sees it in memory: element type, shape [rows, columns] and a row stride
/// in elements (≥ columns). Validates caller buffers before any kernel touches them.
public struct TensorSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let elementType: ElementType
    public let rows: Int
    public let columns: Int
    public let rowStride: Int

    /// Throws `invalidStride` when `rowStride` < `columns`, `invalidShape` for empty dimensions.
    public init(_ name: String, _ elementType: ElementType, rows: Int, columns: Int, rowStride: Int? = nil) throws(QuantError) {
        self.name = name
        self.elementType = elementType
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride ?? columns
        if rows < 1 || columns < 1 { throw .invalidShape(field: name, reason: "\(rows)×\(columns) has an empty dimension") }
        if self.rowStride < columns { throw .invalidStride(field: name, stride: self.rowStride, minimum: columns) }
        // Every product of outside numbers is checked: the tensor's extent must fit in memory's range.
        let (span, spanOverflow) = (rows - 1).multipliedReportingOverflow(by: self.rowStride)
        let (elements, sumOverflow) = span.addingReportingOverflow(columns)
        let (bytes, byteOverflow) = elements.multipliedReportingOverflow(by: elementType.byteSize)
        if spanOverflow || sumOverflow || byteOverflow || bytes > Self.extentLimit {
            throw .invalidShape(field: name, reason: "\(rows)×\(columns) with row stride \(self.rowStride) spans more than \(Self.extentLimit) bytes")
        }
    }

    /// The largest extent a tensor may span, in bytes (2^48: more than any address space holds).
    public static let extentLimit = 1 << 48

    /// Bytes from the first element to one past the last: the smallest buffer that holds the tensor.
    public var requiredBytes: Int { ((rows - 1) * rowStride + columns) * elementType.byteSize }

    /// Throws `bufferTooSmall` unless a buffer of `bytes` bytes holds the tensor.
    public func check(bufferBytes bytes: Int) throws(QuantError) {
        if bytes < requiredBytes { throw .bufferTooSmall(field: name, requiredBytes: requiredBytes, actualBytes: bytes) }
    }

    public var description: String { "\(name): \(rows)×\(columns) \(elementType.rawValue), row stride \(rowStride)" }
}

extension MatMul {
    /// A (M×K) with row stride `lda`.
    public func aSpec(m: Int, lda: Int? = nil) throws(QuantError) -> TensorSpec {
        try TensorSpec("A", aType, rows: m, columns: k, rowStride: lda)
    }
    /// B (K×N) with row stride `ldb`.
    public func bSpec(ldb: Int? = nil) throws(QuantError) -> TensorSpec {
        try TensorSpec("B", bType, rows: k, columns: n, rowStride: ldb)
    }
    /// C (M×N) in the output's element type with row stride `ldc`.
    public func cSpec(m: Int, ldc: Int? = nil) throws(QuantError) -> TensorSpec {
        try TensorSpec("C", output.elementType, rows: m, columns: n, rowStride: ldc)
    }
}
