import Foundation

/// NumPy's `.npy` format (version 1.0) for a row-major float32 matrix, as `numpy.load` reads it:
/// the magic string, a header dictionary padded to a multiple of 64 bytes, then the values in
/// little-endian order.
public enum NPYFormat {
    public static func float32Matrix(_ rows: [[Float]], columns: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for row in rows {
            precondition(row.count == columns, "every row has \(columns) values")
            for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Whether `data` starts like a file this type writes (an output QuantForge may replace).
    public static func isNPY(_ data: Data) -> Bool {
        data.starts(with: [0x93] + Array("NUMPY".utf8))
    }
}
