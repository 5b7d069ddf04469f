/// The element types of QuantForge's tensors.
public enum ElementType: String, Sendable, Hashable, CaseIterable, Codable {
    case u8, s8, s32, f32

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .u8, .s8: 1
        case .s32, .f32: 4
        }
    }

    /// The representable integer range of an integer type (nil for f32).
    public var integerRange: ClosedRange<Int32>? {
        switch self {
        case .u8: 0...255
        case .s8: -128...127
        case .s32: Int32.min...Int32.max
        case .f32: nil
        }
    }

    /// True for the 8-bit quantized types.
    public var isQuantized8Bit: Bool { self == .u8 || self == .s8 }

    /// Reads element `index` of a u8/s8 buffer as an integer.
    @inline(__always)
    public func loadInt8(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Int32 {
        self == .s8 ? Int32(Int8(bitPattern: bytes[index])) : Int32(bytes[index])
    }
}
