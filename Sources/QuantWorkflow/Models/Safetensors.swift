import Foundation

/// A safetensors file read by QuantForge itself: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the
/// raw little-endian tensor bytes. Every offset, size and shape is checked before any tensor is
/// read; a truncated or malformed file is a `ModelError`, never a crash.
public struct SafetensorsFile: Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let data: [UInt8]
    private let dataStart: Int

    static let elementSizes: [String: Int] = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                                              "U8": 1, "BOOL": 1]
    /// Headers larger than this are refused (the format's reference implementation uses 100 MB).
    public static let maxHeaderBytes = 100 << 20

    public init(contentsOf url: URL) throws(ModelError) {
        let contents: Data
        do { contents = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](contents))
    }

    public init(bytes: [UInt8]) throws(ModelError) {
        func fail(_ reason: String) -> ModelError { .malformedSafetensors(reason: reason) }
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes: shorter than the 8-byte header length") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else { throw fail("header length \(headerLength) exceeds \(Self.maxHeaderBytes) bytes") }
        guard 8 + Int(headerLength) <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let headerBytes = Data(bytes[8..<(8 + Int(headerLength))])
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw fail("header is not JSON: \(error.localizedDescription)")
        }
        guard let header = parsed as? [String: Any] else { throw fail("header is not a JSON object") }
        dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, entry) in entries {
                    guard let text = entry as? String else { throw fail("__metadata__.\(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("\(name): entry is not an object") }
            guard let dtype = entry["dtype"] as? String, let size = Self.elementSizes[dtype] else {
                throw fail("\(name): missing or unknown dtype \(String(describing: entry["dtype"]))")
            }
            guard let shapeValues = entry["shape"] as? [Any] else { throw fail("\(name): missing shape") }
            var shape: [Int] = []
            var elements = 1
            for dimension in shapeValues {
                guard let value = dimension as? Int, value >= 0, value < 1 << 40 else { throw fail("\(name): bad dimension \(dimension)") }
                shape.append(value)
                let (product, overflow) = elements.multipliedReportingOverflow(by: value)
                if overflow || product > 1 << 40 { throw fail("\(name): shape \(shape) is too large") }
                elements = product
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2, let first = offsets[0] as? Int, let last = offsets[1] as? Int else {
                throw fail("\(name): data_offsets must be [begin, end]")
            }
            let begin = Int64(first), end = Int64(last)
            guard begin >= 0, begin <= end, end <= Int64(dataLength) else {
                throw fail("\(name): data_offsets [\(begin), \(end)] outside the \(dataLength) data bytes")
            }
            guard end - begin == Int64(elements * size) else {
                throw fail("\(name): \(end - begin) bytes for \(elements) \(dtype) elements (\(elements * size) expected)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, range: Int(begin)..<Int(end))
        }
        self.tensors = tensors
        self.metadata = metadata
        data = bytes
    }

    /// The F32 tensor `name` with the expected shape (checked), as floats.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws(ModelError) -> [Float] {
        guard let info = tensors[name] else { throw .tensor(name: name, reason: "not in the file") }
        guard info.dtype == "F32" else { throw .tensor(name: name, reason: "dtype \(info.dtype), expected F32") }
        if let expected, expected != info.shape { throw .tensor(name: name, reason: "shape \(info.shape), expected \(expected)") }
        var values = [Float](repeating: 0, count: info.elementCount)
        values.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(dataStart + info.range.lowerBound)..<(dataStart + info.range.upperBound)]))
            }
        }
        // A model with NaN or infinite weights gives meaningless results, reported as if fine.
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw .tensor(name: name, reason: "value \(index) is \(values[index]); every weight must be finite")
        }
        return values
    }
}
