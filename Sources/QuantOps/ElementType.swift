/// The element types of QuantForge's tensors.
public enum ElementType: String, Sendable, Hashable, CaseIterable, Codable {
    case u8, s8, u16, s16, s32, f32

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .u8, .s8: 1
        case .u16, .s16: 2
        case .s32, .f32: 4
        }
    }

    /// The representable integer range of an integer type (nil for f32).
    public var integerRange: ClosedRange<Int32>? {
        switch self {
        case .u8: 0...255
        case .s8: -128...127
        case .u16: 0...65535
        case .s16: -32768...32767
        case .s32: Int32.min...Int32.max
        case .f32: nil
        }
    }

    /// True for the 8-bit quantized types.
    public var isQuantized8Bit: Bool { self == .u8 || self == .s8 }

    /// True for the integer types a QuantizeLinear can produce (u8, s8, u16, s16).
    public var isQuantized: Bool { self != .s32 && self != .f32 }

    /// Reads element `index` of an integer buffer of this type (u8, s8, u16, s16, s32) as an integer.
    @inline(__always)
    public func loadInteger(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Int32 {
        switch self {
        case .u8: Int32(bytes[index])
        case .s8: Int32(Int8(bitPattern: bytes[index]))
        case .u16: Int32(bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
        case .s16: Int32(bytes.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self))
        case .s32: bytes.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self)
        case .f32: Int32(bytes.loadUnaligned(fromByteOffset: 4 * index, as: Float.self))
        }
    }

    /// Writes `value` (already in range) as element `index` of an integer buffer of this type.
    @inline(__always)
    public func storeInteger(_ value: Int32, _ bytes: UnsafeMutableRawBufferPointer, _ index: Int) {
        switch self {
        case .u8, .s8: bytes[index] = UInt8(truncatingIfNeeded: value)
        case .u16, .s16: bytes.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: 2 * index, as: UInt16.self)
        case .s32: bytes.storeBytes(of: value, toByteOffset: 4 * index, as: Int32.self)
        case .f32: bytes.storeBytes(of: Float(value), toByteOffset: 4 * index, as: Float.self)
        }
    }

    /// Reads element `index` of a u8/s8 buffer as an integer.
    @inline(__always)
    public func loadInt8(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Int32 {
        self == .s8 ? Int32(Int8(bitPattern: bytes[index])) : Int32(bytes[index])
    }
}
