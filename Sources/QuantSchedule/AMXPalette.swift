/// The AMX tile configuration every QuantForge AMX kernel uses (palette 1): all 8 tiles 16 rows ×
/// 64 bytes. One palette for every kernel, so that a thread loads it once (`ldtilecfg`) and later
/// kernels only check it (`sttilecfg`); partial rows and K tails go through a zero-padded staging
/// tile instead of other shapes. The 64-byte `ldtilecfg` operand is `bytes`.
public enum AMXPalette {
    public static let tiles = 8
    public static let tileRows = 16
    public static let tileRowBytes = 64
    public static let tileBytes = tileRows * tileRowBytes

    /// The `ldtilecfg` memory operand: byte 0 the palette id (1), byte 1 start_row (0), bytes
    /// 16 + 2t..17 + 2t tile t's bytes per row (little-endian u16), byte 48 + t its rows.
    public static var bytes: [UInt8] {
        var config = [UInt8](repeating: 0, count: 64)
        config[0] = 1
        for tile in 0..<tiles {
            config[16 + 2 * tile] = UInt8(tileRowBytes & 0xFF)
            config[17 + 2 * tile] = UInt8(tileRowBytes >> 8)
            config[48 + tile] = UInt8(tileRows)
        }
        return config
    }
}
